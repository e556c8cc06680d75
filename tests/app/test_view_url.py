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
    assert values == {"s_speed": "fast", "_w_arch_tab_kept": "Masks"}  # the last of a repeated key; case ignored
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


# ---------------------------------------------------------------------------------------------
# the whole view: the Train page's settings, the Sample page's settings and open tab, across pages

TRAIN_LINK = {
    "d": "64",
    "num_masks": "2",
    "lr": "0.01",
    "batch": "50",
    "epochs": "7",
    "every": "3",
    "tseed": "5",
    "unit": "bits",
}
TRAIN_WIDGETS = {"t_lr": 0.01, "t_bs": 50, "t_epochs": 7, "t_resample": 3, "t_seed": 5, "t_unit": "bits"}


def train_widgets(at: AppTest) -> dict:
    """What the Train page's settings show (the widgets themselves, not only the session's values)."""
    return {
        "t_lr": at.select_slider(key="t_lr").value,
        "t_bs": at.number_input(key="t_bs").value,
        "t_epochs": at.number_input(key="t_epochs").value,
        "t_resample": at.number_input(key="t_resample").value,
        "t_seed": at.number_input(key="t_seed").value,
        "t_unit": at.button_group(key="t_unit").value,
    }


def test_a_link_reproduces_the_train_page_settings():
    at = open_page("train", TRAIN_LINK)
    assert train_widgets(at) == TRAIN_WIDGETS
    run = at.session_state["train_run"]
    assert (run.train_cfg.lr, run.train_cfg.batch_size, run.train_cfg.epochs) == (0.01, 50, 7), "the run uses them"
    assert (run.train_cfg.resample_every, run.train_cfg.seed) == (3, 5)
    assert not at.main.error and not at.main.warning
    assert dict(at.query_params) == TRAIN_LINK, "the written URL is the link (canonical, nothing lost)"


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"lr": "0.5"}, "Learning rate"),
        ({"epochs": "0"}, "Epochs"),
        ({"batch": "many"}, "Batch size"),
        ({"unit": "furlongs"}, "Unit"),
        ({"region": "middle"}, "Known pixels"),
        ({"image": "photo"}, "Image (Likelihood lens)"),
    ],
)
def test_a_bad_setting_in_a_link_is_said_and_its_default_kept(bad, words):
    at = open_page("train", {"d": "64", **bad})
    said = " ".join(e.value for e in at.main.error)
    assert "was not taken" in said and words in said
    assert train_widgets(at) == {
        "t_lr": 0.003,
        "t_bs": 100,
        "t_epochs": 50,
        "t_resample": 1,
        "t_seed": 0,
        "t_unit": "nats",
    }
    assert dict(at.query_params) == {"d": "64"}, "the refused value is not written back"


def test_a_link_to_a_server_folder_on_a_server_without_one_shows_the_built_in_data(monkeypatch):
    monkeypatch.delenv("MADE_VIZ_DATA_DIR", raising=False)
    at = open_page("train", {"d": "64", "source": "folder"})
    assert at.radio(key="t_source").value == "Built-in"
    assert any("no data folder" in i.value for i in at.main.info)


def test_a_link_to_the_senders_own_model_says_it_cannot_be_shown():
    at = open_page("sample", {"d": "64", "model": "session"})
    assert any("sender's own trained model" in i.value for i in at.main.info)
    assert at.selectbox(key="s_model").value != "session"


def set_whole_view(at: AppTest) -> None:
    """A teacher's screen: Train settings, then the Sample page's model, settings and its Complete tab."""
    at.switch_page(page_path("train")).run()
    at.select_slider(key="t_lr").set_value(0.001).run()
    at.number_input(key="t_epochs").set_value(12).run()
    at.number_input(key="t_seed").set_value(4).run()
    at.button_group(key="t_unit").set_value("bits").run()
    at.switch_page(page_path("sample")).run()
    at.selectbox(key="s_model").set_value("digits8").run()
    at.selectbox(key="s_n").set_value(9).run()
    at.number_input(key="s_seed").set_value(3).run()
    at.session_state["s_tab"] = "Complete"
    at.run()
    at.selectbox(key="c_region").set_value("left half").run()
    at.selectbox(key="c_n").set_value(4).run()
    at.number_input(key="c_image").set_value(11).run()
    assert not at.exception, [e.value for e in at.exception]


SAMPLE_VIEW = ("s_model", "s_n", "s_seed", "c_region", "c_n", "c_image")


def test_the_whole_view_round_trips_through_the_url_from_any_page():
    at = AppTest.from_file(APP, default_timeout=180)
    set_whole_view(at)
    at.switch_page(page_path("home")).run()  # the link is copied from another page: it still holds everything
    link = dict(at.query_params)
    assert link["lr"] == "0.001" and link["stab"] == "complete" and link["region"] == "left", link
    fresh = open_page("sample", link)
    assert fresh.selectbox(key="c_region") is not None, "the Complete tab is the one open"
    for key in SAMPLE_VIEW:
        assert fresh.session_state[key] == at.session_state[key], key
    assert (fresh.selectbox(key="c_region").value, fresh.number_input(key="c_image").value) == ("left half", 11)
    fresh.switch_page(page_path("train")).run()
    assert train_widgets(fresh) == {
        "t_lr": 0.001,
        "t_bs": 100,
        "t_epochs": 12,
        "t_resample": 1,
        "t_seed": 4,
        "t_unit": "bits",
    }
    assert dict(fresh.query_params) == link, "the same screen writes the same link"


def test_settings_survive_a_page_switch_and_the_tab_too():
    at = AppTest.from_file(APP, default_timeout=180)
    set_whole_view(at)
    at.switch_page(page_path("architecture")).run()
    at.switch_page(page_path("sample")).run()
    assert at.session_state["s_tab"] == "Complete" and at.selectbox(key="c_region").value == "left half"
    assert at.selectbox(key="s_model").value == "digits8" and at.session_state["s_n"] == 9
    at.switch_page(page_path("train")).run()
    assert at.number_input(key="t_epochs").value == 12 and at.select_slider(key="t_lr").value == 0.001


def test_the_architecture_tab_and_the_matrix_shown_survive_a_page_switch():
    at = open_page("architecture", {"d": "64", "shape": "8x8", "hidden": "128,128"})
    at.session_state["w_arch_tab"] = "Masks"
    at.run()
    at.selectbox(key="w_mask_layer").set_value(1).run()
    at.switch_page(page_path("train")).run()
    assert at.query_params["tab"] == "masks", "the link written on another page still holds the tab"
    at.switch_page(page_path("architecture")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["w_arch_tab"] == "Masks"
    assert at.selectbox(key="w_mask_layer").value == 1
