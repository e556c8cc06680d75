"""The in-browser network view (issue 17): clicks trace in the browser and cost the server no rerun, and
what the browser highlights (read back from the DOM's data attributes) is exactly made_viz.graph's trace
and made_viz.forbidden's red edges."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import numpy as np
from playwright.sync_api import expect

from made_viz import forbidden as FB
from made_viz import graph as G
from made_viz.masks import build_masks
from made_viz.ui import DEFAULT_PRESET, PRESETS
from made_viz.urlstate import config_from_params
from tests.unit.graph_reference import build_graph, graph_trace

from .conftest import goto, wait_idle

SEED_QUERY = {"d": "3", "shape": "1x3", "hidden": "4,3", "order": "1,2,0", "degrees": "even"}


def seed_masks(masking: str = "made"):
    """The MaskSet the page shows for SEED_QUERY (parsed the way the page parses its URL)."""
    cfg = config_from_params({k: [v] for k, v in SEED_QUERY.items()}, PRESETS[DEFAULT_PRESET].cfg)
    return build_masks(cfg.replace(masking=masking))


def open_view(page, app_url):
    goto(page, f"{app_url}/architecture?{urlencode(SEED_QUERY)}")
    expect(page.get_by_role("heading", name="Architecture", level=1)).to_be_visible()
    ms = seed_masks()
    expect(page.locator(".nv .unit")).to_have_count(sum(G.layer_sizes(ms)))
    return ms


def runs(page) -> int:
    """How often the server has drawn the Network tab in this session (the page's hidden counter)."""
    return int(page.get_by_test_id("network-runs").get_attribute("data-runs"))


def highlighted(page) -> tuple[set, set, str]:
    """(ancestors, descendants, the traced unit) as the browser highlights them, read from the DOM."""
    states = page.locator(".nv .unit").evaluate_all(
        "els => els.map(e => [+e.dataset.l, +e.dataset.k, e.dataset.state])"
    )
    up = {(l, k) for l, k, s in states if s == "up"}
    down = {(l, k) for l, k, s in states if s == "down"}
    return up, down, page.locator(".nv").get_attribute("data-traced")


def red_edges(page) -> set:
    keys = page.locator('.nv [data-e][data-state="bad"]').evaluate_all("els => els.map(e => e.dataset.e)")
    return {tuple(int(v) for v in key.split(":")) for key in keys}


def expected_red(ms, tr) -> set:
    es = FB.trace_edges(ms, tr)  # with tr None: every edge on a forbidden path
    out = {(l, int(i), int(j)) for l, m in enumerate(es.bad) for i, j in zip(*np.nonzero(m))}
    if es.bad_direct is not None:
        out |= {(-1, int(i), int(j)) for i, j in zip(*np.nonzero(es.bad_direct))}
    return out


def click_unit(page, layer: int, unit: int):
    page.locator(f'.nv .unit[data-l="{layer}"][data-k="{unit}"]').click()


def test_three_clicks_trace_in_the_browser_with_no_rerun(page, app_url, shots):
    sent = []
    page.on(
        "websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame))
    )  # Streamlit's socket, from the start
    ms = open_view(page, app_url)
    page.wait_for_timeout(500)
    before, sent[:] = runs(page), []
    for layer, unit in [(1, 0), (3, 1), (0, 2)]:  # a hidden unit, an output, an input
        click_unit(page, layer, unit)
        expect(page.locator(".nv")).to_have_attribute("data-traced", f"{layer}:{unit}")
        up, down, _ = highlighted(page)
        tr = G.trace(ms, layer, unit)
        assert up == tr.ancestors() == graph_trace(build_graph(ms), (layer, unit))[0]
        assert down == tr.descendants()
        assert red_edges(page) == expected_red(ms, tr) == set()  # a true MADE: nothing red
        if (layer, unit) == (3, 1):
            page.screenshot(path=str(shots / "architecture_netview_traced.png"))
    # hover: the unit's degree (and, for a greyed unit, why)
    page.locator('.nv .unit[data-l="2"][data-k="0"]').hover()
    expect(page.locator(".nv .tip")).to_contain_text(f"degree m = {int(ms.degrees[2][0])}")
    # a second click on the traced unit clears the trace
    click_unit(page, 0, 2)
    expect(page.locator(".nv")).to_have_attribute("data-traced", "")
    assert highlighted(page)[:2] == (set(), set())
    page.wait_for_timeout(1_000)  # a rerun, had one been asked for, would have started by now
    assert runs(page) == before, "a click in the browser view made the server run the page"
    assert sent == [], f"the browser sent {len(sent)} message(s) to the server"


def test_forbidden_paths_light_up_red_as_the_library_says(page, app_url, shots):
    open_view(page, app_url)
    page.get_by_test_id("stMain").get_by_text("Output rule ≥").click()
    wait_idle(page)
    expect(page.get_by_test_id("stMain").get_by_text("NOT autoregressive")).to_be_visible()
    ms = seed_masks("nonstrict")
    # the view opens traced on the output the red badge names (as the classic figure does)
    expect(page.locator(".nv")).to_have_attribute("data-traced", re.compile(rf"^{G.num_layers(ms) - 1}:\d+$"))
    auto = tuple(int(v) for v in page.locator(".nv").get_attribute("data-traced").split(":"))
    assert red_edges(page) == expected_red(ms, G.trace(ms, *auto)) != set()
    before = runs(page)
    click_unit(page, *auto)  # cleared: every forbidden edge is red
    expect(page.locator(".nv")).to_have_attribute("data-traced", "")
    assert red_edges(page) == expected_red(ms, None)
    for layer, unit in [(3, 1), (2, 0), (0, 1)]:
        click_unit(page, layer, unit)
        expect(page.locator(".nv")).to_have_attribute("data-traced", f"{layer}:{unit}")
        tr = G.trace(ms, layer, unit)
        up, down, _ = highlighted(page)
        assert (up, down) == (tr.ancestors(), tr.descendants())
        assert red_edges(page) == expected_red(ms, tr)
    assert expected_red(ms, G.trace(ms, 3, 1)), "output x1 comes first: it sees its own pixel, a red path"
    page.screenshot(path=str(shots / "architecture_netview_broken.png"))
    assert runs(page) == before


def test_classic_figure_stays_reachable(page, app_url):
    open_view(page, app_url)
    main = page.get_by_test_id("stMain")
    main.get_by_text("Classic figure").click()
    wait_idle(page)
    expect(page.locator(".js-plotly-plot")).to_have_count(1)
    expect(page.locator(".nv")).to_have_count(0)
