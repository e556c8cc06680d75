"""The Architecture page through streamlit.testing: every control, presets, bad input, the break-it
switches (red badge, sum of p(x) != 1) and tracing via the selectbox fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from made_viz.config import Config
from made_viz.ui import CFG, DEFAULT_PRESET, PRESETS

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "made_viz/app_pages/architecture.py"
SEED_QUERY = {"d": "3", "shape": "1x3", "hidden": "4", "order": "1,2,0", "degrees": "even"}


def open_page(query: dict | None = None) -> AppTest:
    """A fresh session whose first run is the Architecture page (with `query` in the URL)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["classic_figure"] = True  # the plotly figure, whose spec these tests read
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_tab(at: AppTest, name: str) -> AppTest:
    """Switch the page's lazy tabs (only the open tab's content runs)."""
    at.session_state["w_arch_tab"] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.error, *at.success, *at.warning, *at.info, *at.caption)]
    return "\n".join(str(p) for p in parts)


def network(at: AppTest) -> dict:
    """The spec of the network plot (the chart with a 'units' or 'bundles' trace)."""
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        if any(t.get("name") in ("units", "bundles") for t in spec["data"]):
            return spec
    raise AssertionError("no network plot on the page")


def trace_names(spec: dict) -> set[str]:
    return {t.get("name") for t in spec["data"] if t.get("name")}


def assert_page_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Architecture"]
    network(at)
    assert at.success or at.error  # the badge


def test_default_config_loads_and_is_verified():
    at = open_page()
    assert_page_ok(at)
    assert at.session_state[CFG] == PRESETS[DEFAULT_PRESET].cfg
    assert any("autoregressive: verified by the Jacobian" in s.value for s in at.success)
    assert "bundles" in trace_names(network(at))  # 64 -> 128 -> 128 -> 64 is above the edge budget
    assert [t.label for t in at.tabs] == ["Network", "Masks", "Check"]
    assert [e.key for e in at.get("plotly_chart")] == ["net_plot"]  # lazy tabs: only the open one is built
    assert len(at.latex) >= 3
    open_tab(at, "Masks")
    assert [e.key for e in at.get("plotly_chart")] == ["mask_plot", "conn_plot"]
    assert len(at.latex) >= 2
    open_tab(at, "Check")
    assert not at.get("plotly_chart")
    assert any(r"p(\mathbf{x})" in l.value for l in at.latex)  # the chain rule
    open_tab(at, "Network")
    network(at)


def test_tabs_are_lazy_and_keep_the_architecture():
    at = open_page(SEED_QUERY)
    open_tab(at, "Check")
    at.text_input(key="w_hidden").set_value("5").run()  # a sidebar change keeps the open tab
    assert not at.get("plotly_chart")
    assert any("Σ p(x) = 1.000000" in s.value for s in at.success)
    assert at.session_state[CFG].hidden == (5,)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset(preset):
    at = open_page()
    at.selectbox(key="w_preset").set_value(preset).run()
    assert_page_ok(at)
    assert at.session_state[CFG] == PRESETS[preset].cfg
    assert not at.error  # every preset is a true MADE


def test_seed_preset_is_the_paper_figure():
    at = open_page()
    at.selectbox(key="w_preset").set_value("seed").run()
    spec = network(at)
    units = next(t for t in spec["data"] if t.get("name") == "units")
    assert units["text"][:3] == ["3", "1", "2"] and len(units["text"]) == 10
    open_tab(at, "Check")
    assert any("Σ p(x) = 1.000000" in s.value for s in at.success)


def test_narrow_preset_warns_about_starved_conditionals_and_dead_units():
    at = open_page()
    at.selectbox(key="w_preset").set_value("narrow").run()
    warnings = " ".join(w.value for w in at.warning)
    assert "see fewer inputs than the order allows" in warnings
    assert "reach no output" in warnings


def test_sidebar_changes_do_not_break_the_page():
    at = open_page(SEED_QUERY)
    at.number_input(key="w_height").set_value(2).run()  # the explicit order (1, 2, 0) no longer fits
    assert_page_ok(at)
    assert any("order" in e.value for e in at.error)
    assert at.number_input(key="w_height").value == 1  # refused: the field shows the kept network again
    at.selectbox(key="w_order").set_value("natural").run()
    at.number_input(key="w_height").set_value(2).run()
    at.number_input(key="w_width").set_value(4).run()
    assert_page_ok(at)
    assert at.session_state[CFG].d == 8
    at.text_input(key="w_hidden").set_value("12, 9").run()
    assert_page_ok(at)
    assert at.session_state[CFG].hidden == (12, 9)
    assert "hidden 2" in " ".join(at.selectbox(key="w_trace").options)
    for order in ("reverse", "random", "natural"):
        at.selectbox(key="w_order").set_value(order).run()
        assert_page_ok(at)
    at.checkbox(key="w_direct").set_value(True).run()
    assert_page_ok(at)
    assert any("(direct)" in n for n in trace_names(network(at)))
    at.text_input(key="w_hidden").set_value("").run()  # no hidden layer at all
    assert_page_ok(at)
    at.number_input(key="w_masks").set_value(3).run()
    assert_page_ok(at)
    at.slider(key="w_mask_shown").set_value(2).run()  # masks are numbered 1..K for students
    assert_page_ok(at)
    assert at.session_state["mask_shown"] == 1
    assert any("mask 2 of 3" in s.value for s in at.success)
    open_tab(at, "Check")
    assert any("ensemble of 3 masks" in s.value for s in at.success)


def test_invalid_layer_text_shows_an_error_and_the_page_goes_on():
    at = open_page(SEED_QUERY)
    before = at.session_state[CFG]
    at.text_input(key="w_hidden").set_value("10, ten").run()
    assert_page_ok(at)
    assert any("not a whole number" in e.value for e in at.error)
    assert at.session_state[CFG] == before
    at.text_input(key="w_hidden").set_value("6").run()
    assert_page_ok(at)
    assert at.session_state[CFG].hidden == (6,)


@pytest.mark.parametrize(
    "query",
    [{"d": "abc"}, {"hidden": "5,x"}, {"d": "5", "order": "0,0,1,2,3"}, {"masking": "sideways"}, {"d": "99999"}],
)
def test_bad_url_params_give_a_message_and_the_defaults(query):
    at = open_page(query)
    assert_page_ok(at)
    assert any("not valid" in e.value and "showing the default" in e.value for e in at.error)
    assert at.session_state[CFG] == PRESETS[DEFAULT_PRESET].cfg


@pytest.mark.parametrize("switch", ["w_break_off", "w_break_nonstrict"])
def test_break_it_switches_turn_the_badge_red_and_the_sum_away_from_one(switch):
    at = open_tab(open_page(SEED_QUERY), "Check")
    assert any("Σ p(x) = 1.000000" in s.value for s in at.success)
    at.toggle(key=switch).set_value(True).run()
    assert at.session_state[CFG].masking == ("off" if switch == "w_break_off" else "nonstrict")
    badge = next(e.value for e in at.error if "NOT autoregressive" in e.value)
    assert "output of pixel" in badge and "depends on input" in badge and "which is not before it" in badge
    sums = [e.value for e in at.error if e.value.startswith("Σ p(x) = ")]
    assert sums and "≠ 1" in sums[0] and "1.000000" not in sums[0]
    open_tab(at, "Network")
    assert_page_ok(at)
    # the tracing view shows the forbidden path of the named pair
    assert "forbidden path" in trace_names(network(at))
    assert "Forbidden" in texts(at)
    # and back
    at.toggle(key=switch).set_value(False).run()
    assert_page_ok(at)
    assert at.session_state[CFG].masking == "made"
    assert any("verified by the Jacobian" in s.value for s in at.success)


def test_break_it_on_a_large_net_names_a_pair_without_the_exact_sum():
    at = open_page()
    at.toggle(key="w_break_nonstrict").set_value(True).run()
    assert_page_ok(at)
    assert any("NOT autoregressive" in e.value for e in at.error)
    open_tab(at, "Check")
    assert any("computed for D ≤ 12" in i.value for i in at.info)


def test_selecting_a_unit_in_the_fallback_changes_the_highlight():
    at = open_page(SEED_QUERY)
    before = network(at)
    assert "reaches the traced unit" not in trace_names(before)
    at.selectbox(key="w_trace").set_value("u:2:0").run()  # output x0 (last in the order)
    assert_page_ok(at)
    spec = network(at)
    assert {"reaches the traced unit"} <= trace_names(spec)
    assert "Tracing output x0 (position 3 in the order)" in texts(at)
    units = next(t for t in spec["data"] if t.get("name") == "units")
    assert units["marker"]["line"]["color"][7] == "#111827"  # the traced output is outlined
    at.selectbox(key="w_trace").set_value("u:1:0").run()  # a hidden unit: both directions
    names = trace_names(network(at))
    assert {"reaches the traced unit", "reached from it"} <= names
    assert "Tracing hidden 1, unit 0 (degree 1)" in texts(at)
    at.selectbox(key="w_trace").set_value("").run()
    assert "reaches the traced unit" not in trace_names(network(at))


def test_bundles_can_be_traced_and_all_edges_drawn():
    at = open_page()
    options = at.selectbox(key="w_trace").options
    assert any(o.startswith("bundle: hidden 1") for o in options)
    bundle = next(v for v in ("g:1:0", "g:1:1", "g:1:2") if any(o.startswith("bundle: hidden 1") for o in options))
    at.selectbox(key="w_trace").set_value(bundle).run()
    assert_page_ok(at)
    assert "Tracing a bundle of" in texts(at)
    at.toggle(key="w_all_edges").set_value(True).run()
    assert_page_ok(at)
    assert "units" in trace_names(network(at))
    assert at.selectbox(key="w_trace").value == ""  # the bundle no longer exists in this view


def test_mask_selector_and_sorted_toggle():
    at = open_tab(open_page(dict(SEED_QUERY, hidden="4,5")), "Masks")
    labels = at.selectbox(key="w_mask_layer").options
    assert len(labels) == 3 and labels[-1].startswith("Mᵛ")
    at.selectbox(key="w_mask_layer").set_value(2).run()
    assert not at.exception and at.get("plotly_chart")[0].key == "mask_plot"
    assert any("M^{V}" in l.value for l in at.latex)
    at.text_input(key="w_hidden").set_value("4").run()  # fewer masks: the selector resets
    assert at.selectbox(key="w_mask_layer").value == 0 and not at.exception
    open_tab(at, "Network")
    at.toggle(key="w_arrange").set_value(True).run()
    assert_page_ok(at)


def test_mnist_preset_is_aggregated_and_checked():
    at = open_page()
    at.selectbox(key="w_preset").set_value("mnist").run()
    assert_page_ok(at)
    assert "bundles" in trace_names(network(at))
    assert "too many to draw one by one" in texts(at)
    assert any("verified by the Jacobian" in s.value for s in at.success)
    big = len(json.dumps(network(at)))
    assert big < 2_000_000


def test_large_d_falls_back_to_the_masks():
    at = open_page({"d": "2048", "shape": "32x64", "hidden": "64"})
    assert_page_ok(at)
    assert at.session_state[CFG] == Config(d=2048, shape=(32, 64), hidden=(64,))
    assert any("verified from the masks' product" in s.value for s in at.success)
