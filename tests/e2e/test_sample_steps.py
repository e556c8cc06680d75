"""The Sample page's Step buttons in a real browser (issue 12, defect 7).

The animation is played by the browser, so the server does not know where a student paused it:
"◀ Step" and "Step ▶" must move one frame from the frame the browser shows, in either direction,
and Play must continue from there. What a frame shows is read from the figure's own step label
("Step 246 / 784 · pixel …", plotly's slider caption), with Playwright's auto-waiting `expect`.
"""

import re

import pytest
from playwright.sync_api import expect

from .conftest import goto, whole_label

pytestmark = pytest.mark.e2e

FIG = "[data-testid='stPlotlyChart'] .js-plotly-plot"
GD = f'document.querySelector("{FIG}")'  # the first chart of the page: the animation
ACTIVE = f"{GD}._fullLayout.sliders[0].active"  # the frame the slider shows
QUICK = 15_000  # a step is drawn by the browser, without the server


def _control(page, label: str):
    """The animation's button `label`: drawn in the figure (or, on older pages, next to it)."""
    in_figure = page.locator(f"{FIG} .updatemenu-button").filter(has_text=whole_label(label))
    return in_figure.or_(page.get_by_role("button", name=label, exact=True)).first


def _expect_step(page, steps: list[int], frame: int) -> None:
    """The figure shows frame `frame`: its caption names that frame's step of the order."""
    caption = page.locator(f"{FIG} .slider-group > text.slider-label").first
    expect(caption).to_have_text(re.compile(rf"^Step {steps[frame]} / \d+ · "), timeout=QUICK)
    assert page.evaluate(f"() => {ACTIVE}") == frame


def _frames_shown(page) -> list[int]:
    """Indices of the frames the browser has drawn since `_record` (from plotly's frame events)."""
    return page.evaluate("() => window.__shown.map(name => window.__names.indexOf(name))")


def _record(page) -> None:
    page.evaluate(f"""() => {{
        const gd = {GD};
        window.__names = gd._transitionData._frames.map(f => String(f.name));
        window.__shown = [];
        gd.on('plotly_animatingframe', e => window.__shown.push(String(e.name)));
    }}""")


def _settled(page) -> None:
    """Wait until plotly's frame queue is empty after a Pause: the slider shows a frame as soon as it leaves the
    queue, so the paused frame is the one shown when this returns."""
    page.wait_for_function(f"() => !({GD}._transitionData._frameQueue || []).length", timeout=QUICK)


def _pause_in_the_middle(page, last: int, tries: int = 3) -> int:
    """Play from the end (starts over) and Pause in the middle; returns the paused frame. On a loaded or a fast
    machine the animation may run on to its last frames before the Pause lands: then play again, pause earlier."""
    at_least = 10
    for _ in range(tries):
        _control(page, "Play").click()
        page.wait_for_function(f"() => {ACTIVE} >= {at_least} && {ACTIVE} < {last}", timeout=60_000)
        _control(page, "Pause").click()
        _settled(page)
        paused = page.evaluate(f"() => {ACTIVE}")
        page.wait_for_timeout(500)  # an animation that goes on after Pause: 500 ms to show it (a negative check)
        assert page.evaluate(f"() => {ACTIVE}") == paused, "Pause did not stop the animation"
        if 2 <= paused <= last - 3:
            return paused
        at_least = 2
    raise AssertionError(f"the animation always ran to its last frames before Pause ({tries} tries)")


def test_step_moves_one_frame_from_where_the_animation_stands(page, app_url, shots):
    goto(page, app_url + "/sample")  # the app_url fixture has registered the pages
    page.wait_for_selector(FIG + " .main-svg", timeout=60_000)
    steps = page.evaluate(f"() => {GD}.layout.meta.steps")
    last = len(steps) - 1
    assert last >= 20, "the default model's animation should have many frames"
    _expect_step(page, steps, last)  # it opens on the finished samples

    # from the finished samples: one frame back, then forward again, and no further than the end
    _control(page, "◀ Step").click()
    _expect_step(page, steps, last - 1)
    _control(page, "Step ▶").click()
    _expect_step(page, steps, last)
    _control(page, "Step ▶").click()
    # a negative check: nothing to wait for (a Step past the end leaves a frame in plotly's queue that is
    # never drawn), so 500 ms for a wrong jump to show
    page.wait_for_timeout(500)
    _expect_step(page, steps, last)

    # play from the start and pause somewhere in the middle
    paused = _pause_in_the_middle(page, last)
    _expect_step(page, steps, paused)

    # Step moves one frame from where the animation stands, in either direction
    _control(page, "Step ▶").click()
    _expect_step(page, steps, paused + 1)
    _control(page, "◀ Step").click()
    _expect_step(page, steps, paused)
    _control(page, "◀ Step").click()
    _expect_step(page, steps, paused - 1)
    page.screenshot(path=str(shots / "sample_step_back.png"))

    # Play continues from there: the next frames drawn are paused, paused + 1, … (not a restart from 0)
    _record(page)
    _control(page, "Play").click()
    page.wait_for_function("() => window.__shown.length >= 3", timeout=QUICK)
    _control(page, "Pause").click()
    shown = _frames_shown(page)
    assert shown[:3] == [paused, paused + 1, paused + 2], f"after a step back to {paused - 1}, Play drew {shown[:6]}"
