"""The Sample page through streamlit.testing, with a small MADE injected as the session's model
(and no shipped pre-trained models, so the tests do not depend on assets/pretrained)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from made_viz import data, ui
from made_viz.config import Config
from made_viz.model import MADE

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _trained(order: str, steps: int = 120) -> MADE:
    """A MADE for the 8x8 digits after a few Adam steps (enough for digit-like samples)."""
    torch.set_num_threads(1)
    cfg = Config(d=64, shape=(8, 8), hidden=(64,), order=order, num_masks=2, seed=0)
    model = MADE(cfg)
    x = torch.tensor(np.array(data.load_dataset("digits8").train), dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    gen = torch.Generator().manual_seed(0)
    for step in range(steps):
        model.set_mask(step % 2)
        loss = -model.log_prob(x[torch.randint(len(x), (100,), generator=gen)]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.set_mask(0)
    return model.eval()


@pytest.fixture(scope="module")
def natural():
    return _trained("natural")


@pytest.fixture(scope="module")
def random_order():
    return _trained("random")


@pytest.fixture(autouse=True)
def no_shipped_models(tmp_path, monkeypatch):
    monkeypatch.setenv("MADE_VIZ_PRETRAINED", str(tmp_path))


def _open(model=None, dataset="digits8") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    if model is not None:
        at.session_state[ui.MODEL] = model
        at.session_state[ui.DATASET] = dataset
    at.switch_page("made_viz/app_pages/sample.py").run()
    assert not at.exception, at.exception
    return at


def _tab(at, name: str):
    """Open one of the page's lazy tabs (only the open tab runs)."""
    at.session_state["s_tab"] = name
    at.run()
    assert not at.exception, at.exception
    return at


def _frame_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Animation: "))


def _minus_log_prob(model: MADE, x, mask: int) -> float:
    """-log p(x) of one image under one mask, straight from model.log_prob; the module-scoped
    model's own mask is restored whatever happens (other tests share it)."""
    active = model.mask_index
    try:
        model.set_mask(mask)
        with torch.no_grad():
            return -float(model.log_prob(torch.tensor(np.asarray(x, dtype=np.float32)[None])))
    finally:
        model.set_mask(active)


def _lens_total(at) -> float:
    value = next(m.value for m in at.metric if m.label == "MADE: −log p(x)")
    return float(value.removesuffix(" nats"))


def test_no_model_gives_a_clear_message():
    at = _open()
    assert any("Train a model on the Train page, or pick a pre-trained one" in i.value for i in at.info)
    assert not at.error


def test_sample_step_seed_greedy_and_mask(random_order):
    at = _open(random_order)
    traj = at.session_state["_sample_last"]["traj"]
    assert traj.n == 16 and traj.mask_index == 0
    assert _frame_caption(at).startswith("Animation: showing all 64 steps: 65 frames")

    at.number_input(key="s_seed").set_value(7).run()
    other = at.session_state["_sample_last"]["traj"]
    assert not torch.equal(other.x, traj.x) and not at.exception
    at.button(key="s_new").click().run()
    assert at.number_input(key="s_seed").value == 8

    at.toggle(key="s_greedy").set_value(True).run()
    assert any("Greedy" in i.value for i in at.info)
    greedy = at.session_state["_sample_last"]["traj"]
    assert torch.equal(greedy.x, (greedy.probs >= 0.5).to(greedy.x.dtype))  # the mode of every conditional

    at.selectbox(key="s_mask").set_value(1).run()
    traj1 = at.session_state["_sample_last"]["traj"]
    assert traj1.mask_index == 1
    assert np.array_equal(traj1.order.numpy(), random_order.mask_set(1).order)
    assert not np.array_equal(traj1.order.numpy(), random_order.mask_set(0).order)
    assert random_order.mask_index == 0  # sampling leaves the model's mask alone
    at.selectbox(key="s_n").set_value(4).run()
    assert at.session_state["_sample_last"]["traj"].n == 4 and not at.exception


def test_copying_tab_shows_neighbour_distances(natural):
    at = _tab(_open(natural), "Copying?")
    x = at.session_state["_sample_last"]["traj"].x.numpy().astype(np.uint8)
    _, dist = data.nearest_neighbors(x, data.load_dataset("digits8").train)
    median = next(m.value for m in at.metric if m.label == "Median distance to the training set")
    assert median == f"{np.median(dist):.0f} px"


def test_completion_exact_with_natural_order(natural):
    at = _tab(_open(natural), "Complete")
    traj = at.session_state["_complete_last"]["traj"]
    assert traj.exact and any(s.value.startswith("Exact") for s in at.success)
    test_image = data.load_dataset("digits8").test[0]
    assert np.array_equal(traj.x[:, :32].numpy(), np.repeat(test_image[None, :32], 8, 0))  # top half kept
    at.selectbox(key="c_region").set_value("bottom half").run()
    assert not at.session_state["_complete_last"]["traj"].exact
    assert any("Approximate" in w.value for w in at.warning)


def test_completion_with_random_orders_is_flagged(random_order):
    at = _tab(_open(random_order), "Complete")
    at.number_input(key="c_image").set_value(3).run()
    at.selectbox(key="c_n").set_value(4).run()
    traj = at.session_state["_complete_last"]["traj"]
    assert traj.n == 4 and not traj.exact
    assert any("Approximate" in w.value for w in at.warning) and not at.exception


@pytest.mark.parametrize("mask", [0, 1])
def test_lens_total_equals_the_models_log_likelihood(random_order, mask):
    at = _tab(_open(random_order), "Likelihood lens")
    at.selectbox(key="s_mask").set_value(mask).run()
    at.number_input(key="l_test").set_value(5).run()
    expected = _minus_log_prob(random_order, data.load_dataset("digits8").test[5], mask)
    assert _lens_total(at) == pytest.approx(expected, abs=6e-4)

    at.selectbox(key="l_source").set_value("A sample").run()
    at.number_input(key="l_which").set_value(2).run()
    traj = at.session_state["_sample_last"]["traj"]
    assert _lens_total(at) == pytest.approx(-float(traj.log_prob()[2]), abs=6e-4)


def test_drawing_on_the_lens_canvas(natural):
    drawn = np.zeros(64, dtype=np.uint8)
    drawn[[3, 11, 19, 27]] = 1
    at = _tab(_open(natural), "Likelihood lens")
    at.selectbox(key="l_source").set_value("Draw your own").run()
    with torch.no_grad():
        blank = -float(natural.log_prob(torch.zeros(1, 64)))
        mine = -float(natural.log_prob(torch.tensor(drawn[None]).float()))
    assert _lens_total(at) == pytest.approx(blank, abs=6e-4)
    at.session_state["l_drawn"] = drawn  # what a few clicks on the canvas set
    at.run()
    assert _lens_total(at) == pytest.approx(mine, abs=6e-4)
    at.button(key="l_clear").click().run()
    assert not at.session_state["l_drawn"].any() and not at.exception


def test_unknown_dataset_is_explained(natural):
    at = _open(natural, dataset="no-such-data")
    assert any("training data of this model are not available" in w.value for w in at.warning)
    assert at.session_state["_sample_last"]["traj"].n == 16


def test_tabs_are_lazy_and_settings_survive_a_tab_switch(natural):
    at = _open(natural)
    assert at.session_state["_sample_last"]["traj"].n == 16
    assert "_complete_last" not in at.session_state  # the Complete tab has not run
    at.selectbox(key="s_n").set_value(4).run()
    at.number_input(key="s_seed").set_value(5).run()
    _tab(at, "Complete")
    assert not at.get("download_button") and at.session_state["_complete_last"]["traj"].n == 8
    at.selectbox(key="c_region").set_value("left half").run()
    _tab(at, "Copying?")  # neighbours of the Sample tab's samples
    assert at.session_state["_sample_last"]["traj"].n == 4
    _tab(at, "Sample")
    assert at.selectbox(key="s_n").value == 4 and at.number_input(key="s_seed").value == 5
    _tab(at, "Likelihood lens")
    at.selectbox(key="l_source").set_value("A completion").run()  # the Complete tab's left-half completions
    assert not at.exception
    completion = at.session_state["_complete_last"]["traj"].x.numpy()[0]  # "Which one" = 0
    assert _lens_total(at) == pytest.approx(_minus_log_prob(natural, completion, 0), abs=6e-4)
    _tab(at, "Complete")
    assert at.selectbox(key="c_region").value == "left half"
    at.text_input(key="w_hidden").set_value("12").run()  # a sidebar change keeps the open tab
    assert at.selectbox(key="c_region").value == "left half" and not at.exception
