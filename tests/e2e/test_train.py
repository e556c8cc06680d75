"""The Train page in a real browser: start, watch the curve grow, stop, download the model."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from made_viz.checkpoint import load_checkpoint

from .conftest import goto, wait_idle

# the training curve (the plotly trace named "training"): its number of points and its last epoch.
# The page thins the curve to at most 600 points, so "it grows" means: more points or further right.
CURVE = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = (el._fullData || []).find(t => t.name === 'training');
    if (t && t._length) return [t._length, t.x[t._length - 1]];
  }
  return [0, 0];
}"""


def curve(page) -> tuple[int, float]:
    n, last = page.evaluate(CURVE)
    return int(n), float(last)


def wait_curve_grows(page, than: tuple[int, float], timeout: float = 60_000) -> tuple[int, float]:
    """The curve once it has more points or reaches further than `than`: the value the wait saw (reading it again
    afterwards could catch the chart between two redraws, with no trace: (0, 0), seen once in CI)."""
    n, last = than
    seen = page.wait_for_function(
        f"() => {{ const r = ({CURVE})(); return (r[0] > {n} || r[1] > {last}) ? r : null; }}", timeout=timeout
    ).json_value()
    return int(seen[0]), float(seen[1])


def to_top(page) -> None:
    """Blur the focused widget and scroll the page back to its title."""
    page.evaluate("""() => {
      document.activeElement && document.activeElement.blur();
      for (const el of [document.querySelector('[data-testid="stMain"]'),
                        document.querySelector('[data-testid="stAppViewContainer"]')]) { if (el) el.scrollTo(0, 0); }
      window.scrollTo(0, 0);
    }""")


def test_train_start_watch_stop_download(page, app_url, shots):
    goto(page, app_url + "/train")  # the app_url fixture has registered the pages
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    # long enough that there is time to watch and to stop it
    epochs = page.get_by_label("Epochs")
    epochs.fill("2000")
    epochs.press("Enter")
    wait_idle(page)
    expect(page.get_by_text("independent pixels: 25.20")).to_be_visible()  # the baseline is drawn before training
    to_top(page)
    page.screenshot(path=str(shots / "train_start.png"))

    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Start").click()
    first = wait_curve_grows(page, (0, 0.0))
    assert first[0] > 0
    ticked = time.monotonic()
    second = wait_curve_grows(page, first)  # the fragment keeps training
    expect(page.get_by_text("running", exact=True)).to_be_visible()
    third = wait_curve_grows(page, second)
    # one curve update while training (a chunk, then a fragment run), as fast as this machine is right now
    tick = (time.monotonic() - ticked) / 2
    assert third[1] > first[1] and third[0] >= first[0]
    expect(page.get_by_text("Samples now")).to_be_attached()
    to_top(page)
    page.screenshot(path=str(shots / "train_running.png"))

    main = page.get_by_test_id("stMainBlockContainer")
    budget = max(8.0, 3 * tick)  # Stop is one chunk and one page run: a loaded shared machine slows both
    t0 = time.monotonic()
    main.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stopped by you")).to_be_visible(timeout=max(30_000, 2_000 * budget))
    latency = time.monotonic() - t0
    print(f"[e2e] Stop took effect after {latency:.2f} s (budget {budget:.1f} s; a curve update took {tick:.2f} s)")
    # one chunk of training (<= 0.45 s), then a page run: ~1 s on a quiet machine; generous for shared CI cores
    assert latency < budget, "Stop must take effect quickly"
    wait_idle(page)
    stopped = curve(page)
    page.wait_for_timeout(1500)
    assert curve(page) == stopped, "no training after Stop"
    to_top(page)
    page.screenshot(path=str(shots / "train_done.png"))

    with page.expect_download() as info:
        page.get_by_role("button", name="Download the model (.pt)").click()
    ck = load_checkpoint(info.value.path())
    assert ck.config.d == 64 and ck.data["name"] == "digits8" and len(ck.history) >= 1

    # the evaluation below the live panel: one mask against the ensemble
    heading = page.get_by_role("heading", name="Test NLL: one mask against the ensemble")
    heading.scroll_into_view_if_needed()
    expect(page.get_by_text("One mask (mask 1)")).to_be_visible()
    page.screenshot(path=str(shots / "train_evaluation.png"))
