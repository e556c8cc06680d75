"""Off the happy path (issue 12): what a class of students does that the other tests do not walk.

Each test here failed on the code before its fix: a rejected entry followed by a page switch, a
message that must be seen where the student looks, links carrying other sites' parameters or
duplicated keys, a network too big for a shared server, and shared caches that must never show
one student another student's data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Error

from made_viz import data, ui
from made_viz.config import Config
from made_viz.model import MADE
from made_viz.ui import CFG, DEFAULT_PRESET, PRESETS

APP = str(Path(__file__).resolve().parents[2] / "app.py")
ARCH, TRAIN, SAMPLE = (
    "made_viz/app_pages/architecture.py",
    "made_viz/app_pages/train.py",
    "made_viz/app_pages/sample.py",
)
DEFAULT = PRESETS[DEFAULT_PRESET].cfg


def open_page(page: str = ARCH, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sidebar_values(at: AppTest) -> dict:
    return {
        "height": at.sidebar.number_input(key="w_height").value,
        "width": at.sidebar.number_input(key="w_width").value,
        "hidden": at.sidebar.text_input(key="w_hidden").value,
        "seed": at.sidebar.number_input(key="w_seed").value,
    }


def main_messages(at: AppTest) -> list[str]:
    return [e.value for e in (*at.main.error, *at.main.warning)]


def first_main_element(at: AppTest):
    """The first element the page draws in its main area (what a student sees first)."""
    return at.main.children[0]


# ---------------------------------------------------------------------------------------------
# defect 1: a rejected entry, then a page switch


def test_rejected_entry_then_page_switch_keeps_the_sidebar_in_step():
    at = open_page()
    at.sidebar.text_input(key="w_hidden").set_value("40, 30").run()
    at.sidebar.text_input(key="w_hidden").set_value("abc").run()
    assert at.session_state[CFG].hidden == (40, 30)
    at.switch_page(TRAIN).run()
    at.switch_page(ARCH).run()
    assert not at.exception
    want = DEFAULT.replace(hidden=(40, 30))
    assert at.session_state[CFG] == want
    assert sidebar_values(at) == {"height": 8, "width": 8, "hidden": "40, 30", "seed": 0}
    at.sidebar.number_input(key="w_seed").set_value(5).run()  # the next edit works
    assert not at.exception and not at.main.error and not at.sidebar.error
    assert at.session_state[CFG] == want.replace(seed=5)


def test_a_rejected_entry_does_not_leak_into_the_other_widgets():
    at = open_page()
    at.sidebar.text_input(key="w_hidden").set_value("abc").run()
    at.sidebar.number_input(key="w_seed").set_value(3).run()  # a valid edit of another field
    assert at.session_state[CFG] == DEFAULT.replace(seed=3)
    assert sidebar_values(at)["hidden"] == "128, 128"


# ---------------------------------------------------------------------------------------------
# defect 2: rejected entries are said where the student looks


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("w_hidden", "abc", "'abc' is not a whole number"),
        ("w_height", 65, "Height"),
        ("w_height", 0, "Height"),
        ("w_masks", 65, "K"),
    ],
)
def test_a_rejected_entry_is_said_at_the_top_of_the_page_with_what_is_kept(key, value, fragment):
    at = open_page()
    widget = at.sidebar.text_input(key=key) if key == "w_hidden" else at.sidebar.number_input(key=key)
    widget.set_value(value).run()
    assert not at.exception
    assert at.session_state[CFG] == DEFAULT
    top = first_main_element(at)
    assert isinstance(top, Error), top
    assert fragment in top.value and "Kept" in top.value and "8 x 8" in top.value, top.value
    assert any(fragment in e.value for e in at.sidebar.error)  # and next to the field


# ---------------------------------------------------------------------------------------------
# defect 3: only the app's own URL keys count


def test_tracking_parameters_do_not_change_the_network():
    at = open_page(query={"utm_source": "lms"})
    assert at.session_state[CFG] == DEFAULT and not at.main.error
    assert "utm_source" not in at.query_params


def test_a_link_with_only_d_keeps_the_default_preset_otherwise():
    at = open_page(query={"d": "12"})
    assert at.session_state[CFG] == DEFAULT.replace(d=12, shape=None)  # one row of 12 pixels
    assert not at.main.error


def test_a_duplicated_parameter_resolves_to_one_value_and_a_canonical_url():
    at = open_page(query={"d": ["64", "12"], "shape": "none"})
    assert at.session_state[CFG] == DEFAULT.replace(d=12, shape=None)  # the last value, like Streamlit
    assert set(at.query_params) <= {
        "d",
        "shape",
        "hidden",
        "activation",
        "direct",
        "order",
        "degrees",
        "num_masks",
        "seed",
        "masking",
    }
    assert all(not isinstance(v, list) or len(v) == 1 for v in at.query_params.values()), at.query_params


def test_the_url_round_trips_every_preset():
    for key, preset in PRESETS.items():
        at = open_page()
        at.sidebar.selectbox(key="w_preset").set_value(key).run()
        again = open_page(query=dict(at.query_params))
        assert again.session_state[CFG] == preset.cfg, key


# ---------------------------------------------------------------------------------------------
# defect 5: a per-session budget


def test_a_huge_network_is_refused_with_the_limit_named():
    at = open_page()
    at.sidebar.text_input(key="w_hidden").set_value(",".join(["4096"] * 8)).run()
    assert not at.exception
    assert at.session_state[CFG] == DEFAULT
    msg = " ".join(main_messages(at))
    assert "10,000,000" in msg and "weights" in msg, msg


def test_the_budget_is_set_by_the_operator(monkeypatch):
    monkeypatch.setenv("MADE_VIZ_MAX_WEIGHTS", "5000")
    assert Config(d=16, hidden=(100,)).num_weights == 16 * 100 + 100 + 100 * 16 + 16
    assert Config(d=16, hidden=(100,), direct=True).num_weights == 3316 + 16 * 16
    assert ui.over_budget(Config(d=16, shape=(4, 4), hidden=(100,))) is None  # 3,316 weights
    assert ui.over_budget(DEFAULT) and "5,000" in ui.over_budget(DEFAULT)
    assert ui.over_budget(Config(d=4, hidden=(8,))) is None


def test_a_link_to_a_huge_network_gives_the_default_and_a_message():
    at = open_page(query={"hidden": "4096,4096,4096"})
    assert at.session_state[CFG] == DEFAULT
    assert any("10,000,000" in m for m in main_messages(at))


def test_the_architecture_page_skips_the_jacobian_for_a_big_network():
    at = open_page()
    at.sidebar.number_input(key="w_height").set_value(32).run()
    at.sidebar.number_input(key="w_width").set_value(32).run()
    at.sidebar.text_input(key="w_hidden").set_value("2048, 2048").run()  # 8.4 M weights: within the budget
    assert at.session_state[CFG].hidden == (2048, 2048) and at.session_state[CFG].d == 1024
    assert not at.exception
    assert any("masks' product" in s.value for s in at.success)


def _class_of(limit: int, monkeypatch):
    """The process's class budget set to `limit` weights x masks (sessions of this test only)."""
    from made_viz import budget

    monkeypatch.setattr(budget, "LEDGER", budget.Ledger(limit=limit))
    return budget.LEDGER


def drop_session(at: AppTest, ledger) -> None:
    """What happens when Streamlit drops a closed tab's session: its state, and with it its `Share`, is
    garbage, and the share's finalizer gives the entry back (tests/unit/test_class_budget.py checks that
    with the garbage collector). AppTest keeps its last session state alive in the test thread, so here
    the share's finalizer is called directly."""
    before = ledger.total()
    share = at.session_state[ui.SHARE]
    held = ledger.held(share)
    share.give_back()
    assert held > 0 and ledger.total() == before - held


def test_the_class_together_cannot_train_more_than_the_server_holds(monkeypatch):
    """Defect 5, the class's side: 30 students each under their own limit could still take the server
    with 30 training runs (a run keeps its network, gradients and optimiser state). Start is admitted
    against the sum over the process's sessions; the student refused is told why above the buttons and
    keeps everything else; when a session is dropped, its share comes back."""
    ledger = _class_of(3 * DEFAULT.num_weights // 2, monkeypatch)  # room for one run of the default network
    a, b = open_page(TRAIN), open_page(TRAIN)
    assert ledger.total() == 0  # architectures alone hold nothing of the class's budget
    a.button(key="t_start").click().run()
    assert a.session_state[ui.RUN].state == "running" and ledger.total() == DEFAULT.num_weights
    b.button(key="t_start").click().run()
    assert not b.exception
    assert b.session_state[ui.RUN].state == "idle" and b.session_state[CFG] == DEFAULT
    refusal = [e.value for e in b.main.error]
    assert len(refusal) == 1 and refusal[0].startswith("Training was not started: The server is full"), refusal
    assert "MADE_VIZ_CLASS_WEIGHTS" in refusal[0] and f"needs {DEFAULT.num_weights:,}" in refusal[0]
    a.button(key="t_stop").click().run()
    drop_session(a, ledger)
    b.button(key="t_start").click().run()
    assert b.session_state[ui.RUN].state == "running" and not b.main.error
    b.button(key="t_stop").click().run()


def test_a_model_loaded_into_a_full_class_is_refused_and_nothing_changes(monkeypatch):
    from made_viz.pretrained import list_pretrained

    pre = [p for p in list_pretrained() if p.name == "digits8"]
    assert pre, "the digits8 model ships with the package"
    _class_of(1, monkeypatch)
    at = open_page(TRAIN)
    at.selectbox(key="t_pre").set_value("digits8").run()
    at.button(key="t_pre_load").click().run()
    assert not at.exception
    assert at.session_state[CFG] == DEFAULT and at.session_state.get(ui.MODEL) is None
    assert any("could not be loaded: The server is full" in e.value for e in at.main.error)


# ---------------------------------------------------------------------------------------------
# defect 6: shared caches are keyed by content, never by names


def _upload(name: str, first_half: bool) -> data.Dataset:
    """8x8 images whose ink is in the first (or last) 32 pixels: two such sets have the same
    name, shapes and pixel sums, and share no training image."""
    rng = np.random.default_rng(0)
    train = (rng.random((60, 32)) > 0.5).astype(np.uint8)
    pad = np.zeros_like(train)
    train = np.hstack([train, pad] if first_half else [pad, train])
    test = (rng.random((20, 64)) > 0.5).astype(np.uint8)
    return data.Dataset(name, np.ascontiguousarray(train), test, (8, 8), "an upload")


def _sample_session(ds: data.Dataset) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state[ui.MODEL] = MADE(Config(d=64, shape=(8, 8), hidden=(32,), seed=0)).eval()
    at.session_state[ui.DATASET] = f"upload:{ds.name}"
    at.session_state[ui.DATASET_OBJ] = ds
    at.switch_page(SAMPLE).run()
    at.session_state["s_tab"] = "Copying?"
    at.run()
    assert not at.exception, at.exception
    return at


def _shown_median(at: AppTest) -> float:
    return float(next(m.value for m in at.metric if m.label.startswith("Median distance")).removesuffix(" px"))


def _expected_median(at: AppTest, ds: data.Dataset) -> float:
    x = at.session_state["_sample_last"]["traj"].x.numpy().astype(np.uint8)
    return float(np.median(data.nearest_neighbors(x, ds.train)[1]))


@pytest.mark.parametrize("name", ["mine.npy", "digits8"])
def test_two_colliding_uploads_never_see_each_others_training_images(monkeypatch, tmp_path, name):
    monkeypatch.setenv("MADE_VIZ_PRETRAINED", str(tmp_path))
    a_ds, b_ds = _upload(name, True), _upload(name, False)
    assert a_ds.train.sum() == b_ds.train.sum() and a_ds.train.shape == b_ds.train.shape
    sessions = []
    if name == "digits8":  # another session uses the real built-in set of that name first
        real = data.load_dataset("digits8")
        sessions.append((real, _sample_session(real)))
    sessions += [(a_ds, _sample_session(a_ds)), (b_ds, _sample_session(b_ds))]
    for ds, at in sessions:
        assert _shown_median(at) == float(f"{_expected_median(at, ds):.0f}"), ds.description
