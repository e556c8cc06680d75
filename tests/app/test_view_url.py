"""The URL holds the whole view (issue 14): a teacher's link reproduces the screen. The architecture's rules
hold for the view keys too (made_viz.urlstate.VIEW_KEYS): unknown keys ignored, a bad value refused in one
sentence, the written URL canonical."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from made_viz.app_pages import page_path
from made_viz.ui import CFG, MASK_SHOWN
from made_viz.urlstate import VIEW_KEYS, view_from_params, view_params

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(page_path(page)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_view_key_reads_back_what_it_writes():
    for key in VIEW_KEYS:
        values = (
            [v for _, v in key.choices]
            if key.kind == "choice"
            else ([True, False] if key.kind == "bool" else [key.lo, key.hi])
        )
        for value in values:
            if value == key.default:
                assert key.url not in view_params({key.state: value}), "a default value stays out of the URL"
                continue
            url = view_params({key.state: value})
            assert view_from_params(url) == ({key.state: value}, []), (key.url, value)


def test_bad_view_values_are_refused_in_a_sentence_and_unknown_keys_ignored():
    values, refused = view_from_params(
        {"n": "7", "speed": ["warp", "fast"], "tab": "Masks", "utm_source": "x", "projector": "maybe"}
    )
    assert values == {"s_speed": "fast", "w_arch_tab": "Masks"}  # the last of a repeated key; case ignored
    assert len(refused) == 2 and "Projector mode" in refused[0] and "Samples" in refused[1]  # table order


def test_a_link_reproduces_the_architecture_page_with_its_tab_and_mask():
    link = {
        "d": "16",
        "shape": "4x4",
        "hidden": "64",
        "order": "random",
        "num_masks": "4",
        "mask": "3",
        "tab": "masks",
        "theme": "contrast",
    }
    at = open_page("architecture", link)
    assert at.session_state[CFG].num_masks == 4 and at.session_state[MASK_SHOWN] == 2
    assert at.session_state["w_arch_tab"] == "Masks" and at.session_state["w_theme"] == "contrast"
    assert at.selectbox(key="w_mask_layer") is not None, "the Masks tab is the one drawn"
    assert not at.main.error
    assert dict(at.query_params) == link, "the written URL is the link (canonical, nothing lost)"


def test_a_link_reproduces_the_sample_page_settings_and_the_round_trip_is_exact():
    link = {
        "d": "64",
        "projector": "1",
        "theme": "dark",
        "model": "digits8",
        "n": "4",
        "sseed": "7",
        "greedy": "1",
        "speed": "fast",
        "path": "1",
    }
    at = open_page("sample", link)
    ss = at.session_state
    assert (ss["s_n"], ss["s_seed"], ss["s_greedy"], ss["s_speed"], ss["s_order"]) == (4, 7, True, "fast", True)
    assert ss["s_model"] == "digits8" and ss["w_projector"] and ss["w_theme"] == "dark"
    assert at.selectbox(key="s_n").value == 4 and at.number_input(key="s_seed").value == 7
    assert dict(at.query_params) == link
    # a student changes the view; the URL follows, and a new session opened on it shows the same screen
    at.number_input(key="s_seed").set_value(9).run()
    at.select_slider(key="s_speed").set_value("slow").run()
    again = open_page("sample", dict(at.query_params))
    for key in ("s_n", "s_seed", "s_greedy", "s_speed", "s_order", "s_model", "w_projector", "w_theme"):
        assert again.session_state[key] == at.session_state[key], key
    assert again.session_state["s_seed"] == 9 and again.session_state["s_speed"] == "slow"


@pytest.mark.parametrize("bad", [{"stab": "nowhere"}, {"mask": "0"}])
def test_a_bad_view_value_is_said_and_the_page_still_opens(bad):
    at = open_page("home", {**bad})
    assert any("was not taken" in e.value for e in at.main.error)
    assert not set(bad) & set(at.query_params), "the refused value is not written back"
