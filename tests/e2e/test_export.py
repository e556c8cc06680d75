"""The HTML export (issue 14, slides and handouts offline): the file the Sample and Architecture pages offer,
written to disk and opened with file:// in chromium with the network off. The figure must draw from the
embedded plotly.js, and the animation's Play and Step must work without a server."""

import re

import pytest
import torch
from playwright.sync_api import expect

from made_viz import animation as A
from made_viz import export
from made_viz import figures as F
from made_viz import graph as G
from made_viz.config import Config
from made_viz.masks import build_masks
from made_viz.model import MADE
from made_viz.sampling import sample

from .conftest import whole_label

pytestmark = pytest.mark.e2e

FIG = "#made-figure"
GD = f"document.querySelector('{FIG}')"
ACTIVE = f"{GD}._fullLayout.sliders[0].active"


@pytest.fixture
def offline_page(browser):
    """A browser tab with no network: offline, and every request that is not a local file refused (and
    counted, so a test can say a CDN was never asked)."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.refused = []

    def refuse(route):
        pg.refused.append(route.request.url)
        route.abort()

    pg.route(re.compile(r"^(?!file:).*"), refuse)
    yield pg
    context.close()


def _open(pg, path):
    pg.goto(path.as_uri())
    pg.wait_for_selector(f"{FIG} .main-svg", timeout=60_000)
    assert pg.refused == [], f"the file asked the network for {pg.refused}"


def test_animation_html_plays_and_steps_offline(offline_page, tmp_path, shots):
    torch.manual_seed(0)
    model = MADE(Config(d=16, shape=(4, 4), hidden=(16,), seed=1)).eval()
    traj = sample(model, n=4, seed=0)
    plan = A.frame_plan(traj.order.numpy(), None, all_steps=True)
    fig = A.animation_figure(traj, (4, 4), None, plan, False, A.SPEEDS["fast"])
    path = tmp_path / "made_sampling.html"
    path.write_text(export.animation_html(fig, "4 samples."), encoding="utf-8")

    pg = offline_page
    _open(pg, path)
    last = len(fig.frames) - 1
    assert pg.evaluate(f"() => {GD}._transitionData._frames.length") == len(fig.frames)
    assert pg.evaluate(f"() => {ACTIVE}") == last, "the file opens on the finished samples, not playing"

    def button(label):
        return pg.locator(f"{FIG} .updatemenu-button").filter(has_text=whole_label(label)).first

    button("◀ Step").click()
    pg.wait_for_function(f"() => {ACTIVE} === {last - 1}", timeout=15_000)
    button("Step ▶").click()
    pg.wait_for_function(f"() => {ACTIVE} === {last}", timeout=15_000)
    for _ in range(3):  # Replay, then Pause before the end (a Pause that lands after the end: try again)
        button("Replay").click()
        pg.wait_for_function(f"() => {ACTIVE} >= 1 && {ACTIVE} < {last}", timeout=15_000)
        button("Pause").click()
        pg.wait_for_function(f"() => {GD}._transitionData._frameQueue.length === 0", timeout=15_000)
        paused = pg.evaluate(f"() => {ACTIVE}")
        if paused < last:
            break
    button("Play").click()
    pg.wait_for_function(f"() => {ACTIVE} === {last}", timeout=30_000)
    assert paused < last
    pg.screenshot(path=str(shots / "export_animation_offline.png"))
    with pg.expect_download() as dl:
        pg.get_by_role("button", name="Download SVG").click()
    assert dl.value.suggested_filename == "made_sampling.svg"


def test_network_html_draws_and_hovers_offline(offline_page, tmp_path, shots):
    ms = build_masks(Config(d=3, shape=(1, 3), hidden=(4,), order=(1, 2, 0), degrees="even", seed=0), 0)
    fig = F.network_figure(ms, tr=G.trace_target(ms, "u:2:0"), arrange="natural", aggregated=False)
    path = tmp_path / "made_network.html"
    path.write_text(export.network_html(fig, "D = 3."), encoding="utf-8")

    pg = offline_page
    _open(pg, path)
    assert pg.evaluate(f"() => {GD}.data.length") == len(fig.data)
    expect(pg.locator(f"{FIG} .scatterlayer .point").first).to_be_visible()
    point = pg.locator(f"{FIG} .scatterlayer .point").last
    point.hover(force=True)
    expect(pg.locator(f"{FIG} .hoverlayer .hovertext").first).to_be_visible(timeout=15_000)
    pg.screenshot(path=str(shots / "export_network_offline.png"))
