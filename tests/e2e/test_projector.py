"""Projector mode and the themes at 1920 x 1080 (issue 14, the room), in a real browser: the Sample page's
tiles and labels are readable from the back of a room, the sidebar is out of the way, and the dark and
high-contrast themes recolour the page while the figures keep their meaning. The screenshots are written
to $MADE_VIZ_SCREENSHOTS to be looked at."""

import pytest
from playwright.sync_api import expect

from made_viz import pretrained

from .conftest import goto

pytestmark = pytest.mark.xfail(
    not pretrained.list_pretrained(), run=False, reason="no pre-trained model: the Sample page has nothing to animate"
)

FIG = "[data-testid='stPlotlyChart'] .js-plotly-plot"
FULL_HD = {"width": 1920, "height": 1080}


def _measure(pg) -> dict:
    """The animation's size on screen: its height, one sample tile's width and the labels' font size (px)."""
    return pg.evaluate(f"""() => {{
        const gd = document.querySelector("{FIG}");
        const xa = gd._fullLayout.xaxis, w = gd._fullLayout.meta.panel_width;
        const labels = gd.querySelectorAll('.scatterlayer .textpoint text'), label = labels[labels.length - 1];
        return {{height: gd.getBoundingClientRect().height,
                 panel: Math.abs(xa.l2p(w) - xa.l2p(0)),
                 label: label ? parseFloat(getComputedStyle(label).fontSize) : 0}};
    }}""")


def _open_sample(pg, url: str, query: str):
    goto(pg, f"{url}/sample?{query}")  # the app_url fixture has registered the pages
    pg.wait_for_selector(FIG + " .main-svg", timeout=60_000)


def full_hd_page(page):
    """The test's page (pytest-playwright's, traced on failure) at 1920 x 1080."""
    page.set_viewport_size(FULL_HD)
    return page


def test_projector_mode_fills_a_full_hd_screen(page, app_url, shots):
    pg = full_hd_page(page)
    _open_sample(pg, app_url, "d=64")
    plain = _measure(pg)
    pg.screenshot(path=str(shots / "projector_off_1920.png"))
    _open_sample(pg, app_url, "d=64&projector=1")
    big = _measure(pg)
    pg.screenshot(path=str(shots / "projector_on_1920.png"))
    sidebar = pg.locator("section[data-testid=stSidebar]")
    assert (
        sidebar.bounding_box() is None
        or sidebar.bounding_box()["width"] < 5
        or sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= 0
    ), "the sidebar is out of the way"
    assert big["height"] >= 800, big
    assert big["label"] >= 20 and big["label"] >= 1.5 * plain["label"], (plain, big)
    assert big["panel"] >= 1.6 * plain["panel"], (plain, big)
    title_px = pg.evaluate("() => parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    assert title_px >= 50


@pytest.mark.parametrize("theme", ["dark", "contrast"])
def test_themes_recolour_the_page_and_keep_the_figures_on_white(page, app_url, shots, theme):
    pg = full_hd_page(page)
    _open_sample(pg, app_url, f"d=64&theme={theme}")
    bg = pg.evaluate("() => getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")
    ink = pg.evaluate("() => getComputedStyle(document.querySelector('h1')).color")
    card = pg.evaluate("() => getComputedStyle(document.querySelector('[data-testid=stPlotlyChart]')).backgroundColor")
    button = pg.evaluate(
        "() => getComputedStyle(document.querySelector('[data-testid=stMain] "
        "[data-testid=stBaseButton-secondary]')).backgroundColor"
    )
    pg.screenshot(path=str(shots / f"theme_{theme}_1920.png"))
    if theme == "dark":
        assert bg == "rgb(14, 17, 23)" and ink == "rgb(230, 230, 230)" and card == "rgb(255, 255, 255)"
        assert button == "rgb(38, 42, 51)", "light text on a white button cannot be read"
    else:
        assert bg == "rgb(255, 255, 255)" and ink == "rgb(0, 0, 0)"
    expect(pg.locator("section[data-testid=stSidebar]").get_by_text("Theme")).to_be_visible()
