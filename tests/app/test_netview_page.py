"""The Architecture page's Network tab with the in-browser view (issue 17), through streamlit.testing: the
default view within the edge budget, the data it is sent (traced in Python the way its JavaScript traces,
compared with made_viz.graph), the selectbox's pick as its first trace, the classic figure kept reachable
and remembered, and the plotly figure with a note above the budget."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from made_viz import graph as G
from made_viz import netview as NV
from made_viz.masks import build_masks
from made_viz.ui import CFG

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "made_viz/app_pages/architecture.py"
SEED_QUERY = {"d": "3", "shape": "1x3", "hidden": "4", "order": "1,2,0", "degrees": "even"}


def open_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def component_data(at: AppTest) -> dict | None:
    """The JSON the in-browser network receives (None when it is not on the page)."""
    views = at.get("bidi_component")
    return json.loads(views[0].proto.json) if views else None


def captions(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def test_small_net_gets_the_browser_view_and_its_data_traces_like_the_library():
    at = open_page(SEED_QUERY)
    assert not at.get("plotly_chart"), "the in-browser view replaces the plotly network"
    data = component_data(at)
    ms = build_masks(at.session_state[CFG])
    assert data["traced"] == ""
    assert {k: v for k, v in data.items() if k != "traced"} == json.loads(json.dumps(NV.build_view(ms)))
    for layer, n in enumerate(G.layer_sizes(ms)):
        for unit in range(n):
            bt, tr = NV.browser_trace(data, layer, unit), G.trace(ms, layer, unit)
            assert (bt.up, bt.down) == (tr.ancestors(), tr.descendants())
    assert "Blue: reaches the traced unit" in captions(at)


def test_the_selectbox_pick_is_the_views_first_trace():
    at = open_page(SEED_QUERY)
    at.selectbox(key="w_trace").set_value("u:1:2").run()
    assert not at.exception
    assert component_data(at)["traced"] == "1:2"
    assert any("Tracing hidden 1, unit 2" in str(m.value) for m in at.markdown)


def test_classic_figure_is_reachable_and_remembered_across_a_big_net():
    at = open_page(SEED_QUERY)
    at.toggle(key="w_classic").set_value(True).run()
    assert [e.key for e in at.get("plotly_chart")] == ["net_plot"] and component_data(at) is None
    at.selectbox(key="w_preset").set_value("digits").run()  # over the budget: no toggle drawn
    assert not at.get("toggle") or all(t.key != "w_classic" for t in at.toggle)
    at.selectbox(key="w_preset").set_value("seed").run()
    assert not at.exception
    assert at.toggle(key="w_classic").value is True and component_data(at) is None


def test_over_the_budget_the_plotly_figure_with_a_note():
    at = open_page()  # the default preset: 8x8 digits, 16,747 edges
    assert component_data(at) is None
    assert [e.key for e in at.get("plotly_chart")] == ["net_plot"]
    assert "edges the network is drawn by the server" in captions(at)


def test_the_browser_view_builds_no_plotly_network_and_its_download_is_the_same_file(monkeypatch):
    """With the in-browser view the page showed no plotly network, yet built one on every new config for the
    download button (half of such a run's server time): it is built when the file is asked for, and is the
    file the classic figure gives."""
    import streamlit as st

    from made_viz import export, ui
    from made_viz import figures as F

    built, offered = [], {}
    real_figure, real_button = F.network_figure, st.download_button
    monkeypatch.setattr(F, "network_figure", lambda *a, **kw: built.append(1) or real_figure(*a, **kw))

    def button(label, data, *a, **kw):
        offered[kw.get("key")] = data
        return real_button(label, data, *a, **kw)

    monkeypatch.setattr(st, "download_button", button)
    query = {**SEED_QUERY, "seed": "918273"}  # a config no other test built (the figure cache is per process)
    at = open_page(query)
    assert component_data(at) is not None and built == []
    cfg = at.session_state[CFG]
    ms = build_masks(cfg)
    want = export.network_html(
        real_figure(ms, tr=G.trace_target(ms, ""), arrange="natural", aggregated=False), ui.describe(cfg) + "."
    )
    assert offered["net_html"]() == want
