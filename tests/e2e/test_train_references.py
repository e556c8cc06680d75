"""The Train page on the shipped MNIST in a real browser at 1280x720: the reference's and the paper's
test NLLs as labelled lines beside the independent-pixel baseline, and "what more masks buy" beside the
ensemble evaluation. Trains 20 minibatches only."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import goto, wait_idle
from .test_train import to_top


def test_mnist_curves_show_published_lines_and_figure_2(page, app_url, shots):
    goto(page, app_url + "/train")  # the app_url fixture has registered the pages
    main = page.get_by_test_id("stMainBlockContainer")
    main.get_by_role("combobox", name="Data set").click()  # by its label, not its place
    page.get_by_role("option", name="MNIST 28x28").click()
    wait_idle(page)
    main.get_by_role("button", name="Use D = 28 x 28 for this data").click()
    wait_idle(page)
    main.get_by_role("button", name="+20 steps").click()
    wait_idle(page)
    for label in ("reference, 1 x 500: 93.44", "paper, 1 layer: 88.40", "paper best: 86.64"):
        expect(page.get_by_text(label)).to_be_visible()
    expect(page.get_by_text("independent pixels:", exact=False)).to_be_visible()
    to_top(page)
    page.screenshot(path=str(shots / "train_mnist_references.png"))

    main.get_by_role("button", name="Stop").click()
    wait_idle(page)
    heading = page.get_by_text("What more masks buy")
    expect(heading).to_be_attached(timeout=60_000)
    heading.scroll_into_view_if_needed()
    expect(page.get_by_text("paper (read off Fig. 2)")).to_be_visible()
    expect(page.get_by_text("you: one mask")).to_be_visible()
    page.screenshot(path=str(shots / "train_mnist_masks.png"))
