"""The app shell through streamlit.testing: the shared sidebar, presets and the URL."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from made_viz import Config
from made_viz.ui import DEFAULT_PRESET, PRESETS
from made_viz.urlstate import config_from_params

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def run_app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_home_renders_with_the_default_architecture():
    at = run_app()
    assert not at.exception
    assert at.title[0].value == "MADE Explorer"
    assert at.session_state["cfg"] == PRESETS["digits"].cfg


@pytest.mark.parametrize("key", list(PRESETS))
def test_each_preset_sets_the_architecture_and_the_url(key):
    at = run_app()
    at.selectbox(key="w_preset").set_value(key).run()
    assert not at.exception
    cfg = at.session_state["cfg"]
    assert cfg == PRESETS[key].cfg
    assert config_from_params(dict(at.query_params), PRESETS[DEFAULT_PRESET].cfg) == cfg
    assert at.text_input(key="w_hidden").value == ", ".join(map(str, cfg.hidden))


def test_widget_changes_reach_the_config_and_bad_text_keeps_the_last_good_one():
    at = run_app()
    at.text_input(key="w_hidden").set_value("10, 5").run()
    assert at.session_state["cfg"].hidden == (10, 5)
    at.text_input(key="w_hidden").set_value("0,-3").run()
    assert any("at least 1 unit" in e.value for e in at.error)
    assert at.session_state["cfg"].hidden == (10, 5)
    assert at.text_input(key="w_hidden").value == "10, 5"  # the field shows what is kept
    at.text_input(key="w_hidden").set_value("10, 6").run()  # the next valid edit is taken, the message goes
    assert not at.error and at.session_state["cfg"].hidden == (10, 6)
    at.number_input(key="w_height").set_value(2).run()
    at.number_input(key="w_width").set_value(3).run()
    cfg = at.session_state["cfg"]
    assert (cfg.d, cfg.shape) == (6, (2, 3))
    at.selectbox(key="w_order").set_value("explicit").run()
    at.text_input(key="w_order_text").set_value("5, 4, 3, 2, 1, 0").run()
    assert at.session_state["cfg"].order == (5, 4, 3, 2, 1, 0)
    at.text_input(key="w_order_text").set_value("0, 0, 1, 2, 3, 4").run()
    assert any("appears twice" in e.value for e in at.error)
    assert not at.exception


def sidebar_button(at, label: str):
    """The sidebar's button by its label (Home's lesson buttons come first in `at.button`)."""
    (button,) = [b for b in at.sidebar.button if b.label == label]
    return button


def test_add_and_remove_layer_buttons_and_resample():
    at = run_app()
    n = len(at.session_state["cfg"].hidden)
    sidebar_button(at, "Add layer").click().run()
    assert len(at.session_state["cfg"].hidden) == n + 1
    sidebar_button(at, "Remove").click().run()
    assert len(at.session_state["cfg"].hidden) == n
    seed = at.session_state["cfg"].seed
    sidebar_button(at, "Resample").click().run()
    assert at.session_state["cfg"].seed == seed + 1


def test_a_shared_link_opens_the_same_network():
    cfg = Config(d=12, shape=(3, 4), hidden=(20, 7), order="random", degrees="even", num_masks=3, seed=42)
    at = run_app(**cfg.to_query())
    assert at.session_state["cfg"] == cfg
    assert not at.error


@pytest.mark.parametrize("query", [{"d": "x"}, {"hidden": "-1"}, {"order": "1,1,1", "d": "3"}, {"masking": "evil"}])
def test_a_tampered_link_falls_back_to_defaults_with_a_message(query):
    at = run_app(**query)
    assert not at.exception
    assert any("not valid" in e.value for e in at.error)
    assert at.session_state["cfg"] == PRESETS["digits"].cfg


def test_switching_pages_keeps_the_sidebar_showing_the_architecture():
    at = run_app()
    at.text_input(key="w_hidden").set_value("12, 6").run()
    for page in (
        "made_viz/app_pages/architecture.py",
        "made_viz/app_pages/train.py",
        "made_viz/app_pages/sample.py",
        "made_viz/app_pages/home.py",
    ):
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.number_input(key="w_height").value == 8, page
        assert at.text_input(key="w_hidden").value == "12, 6", page
    at.number_input(key="w_width").set_value(4).run()  # editing after a switch still works
    assert not at.error
    assert at.session_state["cfg"].d == 32 and at.session_state["cfg"].hidden == (12, 6)
