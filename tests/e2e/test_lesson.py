"""The lesson in five steps, walked in a real browser by clicking (issue 14): each step lands on its page with
its network and view, and every page is photographed at 1920x1080 (the projector) and 1280x720 (a laptop) under
$MADE_VIZ_SCREENSHOTS/lesson/ (default artifacts/screenshots/lesson/, not committed). At 1280x720 the first
screen of each step's page holds what the step asks the student to use (the Sample page's play controls, the
Train page's Start, the Check tab's sum)."""

import re

import pytest
from playwright.sync_api import expect

from made_viz import lesson

from .conftest import wait_idle, whole_label

pytestmark = pytest.mark.e2e

SIZES = ((1920, 1080), (1280, 720))
SLOW = 600_000  # ms: a page run on a shared, loaded 2-core machine (the MNIST model's first animation)
FIG = "[data-testid='stPlotlyChart'] .js-plotly-plot"


# true once the figures' drawn sizes have stayed the same over three looks 150 ms apart (plotly redraws its
# figures at a new width a moment after the window changes)
SETTLED = """() => {
  const now = JSON.stringify([...document.querySelectorAll('.js-plotly-plot')].map(gd => {
    const r = gd.getBoundingClientRect(), fl = gd._fullLayout || {};
    return [r.width, r.height, fl.width, fl.height];
  }));
  window.__madeSame = window.__madeSizes === now ? (window.__madeSame || 0) + 1 : 0;
  window.__madeSizes = now;
  return window.__madeSame >= 2;
}"""


def shoot(page, folder, name: str) -> None:
    """The page at both sizes, top of the page (what a student sees first), then back to 1280x720."""
    for w, h in SIZES:
        page.set_viewport_size({"width": w, "height": h})
        page.evaluate("() => { window.__madeSizes = null; }")
        page.wait_for_function(SETTLED, polling=150)
        page.screenshot(path=str(folder / f"{name}_{w}x{h}.png"))
    page.set_viewport_size({"width": 1280, "height": 720})


def in_first_screen(page, locator) -> None:
    """The element is visible without scrolling at the current viewport (its box is inside the window)."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (box, height)


def expect_title(page, title: str) -> None:
    """The page's own title (the sidebar has a heading "Architecture" too)."""
    expect(page.locator('[data-testid="stMainBlockContainer"] h1').first).to_have_text(title)


def go_home(page) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Home").click()
    wait_idle(page, SLOW)
    expect(page.get_by_role("heading", name="A lesson in five steps")).to_be_visible()


def click_step(page, number: int) -> None:
    page.locator(f".st-key-lesson_go_{number} button").first.click()
    wait_idle(page, SLOW)


def test_the_lesson_walked_by_clicking_lands_each_step_and_is_photographed(page, app_url, shots):
    folder = shots / "lesson"
    folder.mkdir(parents=True, exist_ok=True)
    page.goto(app_url, timeout=SLOW)
    wait_idle(page, SLOW)
    expect(page.get_by_role("heading", name="A lesson in five steps")).to_be_visible()
    for number, step in enumerate(lesson.STEPS, 1):
        expect(page.locator(f".st-key-lesson_box_{number}")).to_contain_text(step.question)
    shoot(page, folder, "0_home")

    # 1: the seed example with its masks dropped, on the Check tab: the sum is not 1
    click_step(page, 1)
    expect(page).to_have_url(re.compile(r"/architecture\?d=3&.*masking=off.*&tab=check"))
    expect_title(page, "Architecture")
    expect(page.get_by_text("not a probability distribution")).to_be_visible()
    expect(page.locator(".st-key-w_break_off input")).to_be_checked()
    shoot(page, folder, "1_not_a_distribution")

    # 2: the same network with its masks: the chain rule and a sum of exactly 1
    go_home(page)
    click_step(page, 2)
    expect(page).to_have_url(
        re.compile(r"/architecture\?d=3&shape=1x3&hidden=4&order=1%2C2%2C0&degrees=even&tab=check$")
    )
    expect(page.get_by_text("a proper distribution")).to_be_visible()
    in_first_screen(page, page.get_by_text("The chain rule the masks must implement"))
    shoot(page, folder, "2_chain_rule")

    # 3: masks and degrees on the Network tab
    go_home(page)
    click_step(page, 3)
    expect(page).to_have_url(re.compile(r"/architecture\?d=3&shape=1x3&hidden=4&order=1%2C2%2C0&degrees=even$"))
    expect(page.get_by_role("tab", name="Network")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("textbox", name="Hidden layers")).to_have_value("4")
    shoot(page, folder, "3_masks_and_degrees")

    # 4: training the 8x8 digits: Start is on the first screen
    go_home(page)
    click_step(page, 4)
    expect(page).to_have_url(re.compile(r"/train\?d=64$"))
    expect_title(page, "Train")
    in_first_screen(page, page.locator(".st-key-t_start button"))
    # a selectbox shows its choice as the value of its combobox input, not as text
    expect(page.locator(".st-key-t_builtin input")).to_have_value("8x8 digits")
    shoot(page, folder, "4_training")

    # 5: the article's MNIST model, drawing pixel by pixel: the play controls are on the first screen
    go_home(page)
    click_step(page, 5)
    expect(page).to_have_url(re.compile(r"/sample\?d=64&model=mnist$"))
    expect(page.locator(".st-key-s_model input")).to_have_value(re.compile("MNIST"))
    page.wait_for_selector(FIG + " .main-svg", timeout=SLOW)
    for label in ("Play", "Step ▶"):  # by their whole labels ("Play" is not "Replay")
        button = page.locator(f"{FIG} .updatemenu-button").filter(has_text=whole_label(label)).first
        in_first_screen(page, button)
    shoot(page, folder, "5_sampling")
