"""The Exercises page in a real browser at 1280x720 (a classroom projector): a teacher's link, a click on a
pixel of the guess canvas, the reveal, and a screenshot to look at (pixels and text big enough to read)."""

import re

from playwright.sync_api import expect

from .conftest import goto, wait_idle

# page coordinates of the centre of image pixel (col, row) in a plotly figure
_PIXEL_XY = """(gd, [col, row]) => { const fl = gd._fullLayout, r = gd.getBoundingClientRect();
  return [r.left + fl.xaxis._offset + fl.xaxis.l2p(col), r.top + fl.yaxis._offset + fl.yaxis.l2p(row)]; }"""


def test_guess_a_pixel_then_reveal(page, app_url, shots):
    goto(page, f"{app_url}/exercises?exercise=see&seed=7")
    main = page.locator("[data-testid=stMain]")
    expect(main.get_by_text(re.compile(r"Which inputs can output \d+"))).to_be_visible()
    expect(main.get_by_text("?exercise=see&seed=7")).to_be_visible()
    canvas = main.locator(".js-plotly-plot").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box["height"] >= 380, box  # 8 x 8 pixels of ~48 px: readable from the back
    page.wait_for_function(
        "() => { const gd = document.querySelector('[data-testid=stMain] .js-plotly-plot');"
        " return gd && gd._fullLayout && gd._fullLayout.xaxis && gd.querySelector('.main-svg'); }"
    )
    xy = canvas.evaluate(_PIXEL_XY, [3, 0])  # the pixel at column 3 of the top row
    page.mouse.move(*xy)
    page.locator(".hoverlayer .hovertext").first.wait_for(state="attached")  # plotly saw the pointer
    page.mouse.click(*xy)
    wait_idle(page)
    expect(main.get_by_text("Your guess: 1 pixel(s).")).to_be_visible()
    main.get_by_role("button", name="Reveal").click()
    wait_idle(page)
    verdict = main.locator("[data-testid=stAlertContentError], [data-testid=stAlertContentSuccess]").first
    expect(verdict).to_contain_text(re.compile(r"Right!|Not quite: \d+ pixel"))
    expect(main.locator(".js-plotly-plot")).to_have_count(2)
    expect(main.get_by_text(re.compile(r"Missed pixel \d+ \(row")).first).to_be_visible()
    expect(main.get_by_text("Missed pixel 3 (row 0, col 3)")).to_have_count(0)  # the clicked pixel counts
    size = float(verdict.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert size >= 14, size
    expect(main.get_by_text(re.compile(r"Score this session .*[01]/1"))).to_be_visible()
    page.screenshot(path=str(shots / "exercises_see.png"))
