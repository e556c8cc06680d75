"""The lesson in five steps (made_viz.lesson): each step names a real page, a real preset and a view the link
allows, asks one question, and its network shows what the step says (a broken net sums to ≠ 1, a MADE to 1)."""

import pytest
import torch

from made_viz import lesson, ui
from made_viz.app_pages import PAGES
from made_viz.config import Config
from made_viz.model import MADE, total_probability
from made_viz.urlstate import VIEW_KEYS, config_from_params, view_from_params

DEFAULT = ui.PRESETS[ui.DEFAULT_PRESET].cfg
# the view keys each page reads (the others belong to another page or to the room)
PAGE_VIEW = {
    "architecture": {"tab", "mask"},
    "train": {"source", "data", "lr", "batch", "epochs", "every", "tseed", "unit"},
    "sample": {k.url for k in VIEW_KEYS if k.state.startswith(("s_", "c_", "l_", "_s_"))},
}


def test_five_steps_in_the_seed_articles_order():
    assert [s.page for s in lesson.STEPS] == ["architecture", "architecture", "architecture", "train", "sample"]
    assert [s.title for s in lesson.STEPS][0].startswith("A plain autoencoder")
    for step in lesson.STEPS:
        assert step.page in PAGES
        assert step.question.count("?") == 1 and step.question.endswith("?"), "one question to think about"
        assert set(step.view) <= PAGE_VIEW[step.page], "a step sets only what its page reads"
        assert len(step.label) <= 14, "the button's label fits its column at 1280x720 (no '…')"


@pytest.mark.parametrize("step", lesson.STEPS, ids=lambda s: s.title)
def test_each_steps_link_reads_back_as_the_step(step):
    params = lesson.step_params(step, ui.PRESETS, DEFAULT)
    want = step.config(ui.PRESETS) or DEFAULT
    assert config_from_params(params, DEFAULT) == want
    values, refused = view_from_params(params)
    assert refused == [] and values.items() <= lesson.step_view(step).items()


def test_the_steps_networks_are_the_presets_they_name():
    broken, chain, degrees = (s.config(ui.PRESETS) for s in lesson.STEPS[:3])
    seed = ui.PRESETS["seed"].cfg
    assert broken == seed.replace(masking="off") and chain == seed and degrees == seed
    assert lesson.STEPS[3].config(ui.PRESETS) == ui.PRESETS["digits"].cfg
    assert lesson.STEPS[4].config(ui.PRESETS) is None, "sampling keeps the student's network"


def exact_sum(cfg: Config) -> float:
    torch.manual_seed(0)
    return total_probability(MADE(cfg).eval())


def test_step_one_is_not_a_distribution_and_step_two_is():
    """What the two first questions are about, with the networks the steps open (random weights)."""
    broken, made = (s.config(ui.PRESETS) for s in lesson.STEPS[:2])
    assert abs(exact_sum(broken) - 1) > 0.01
    assert exact_sum(made) == pytest.approx(1.0, abs=1e-6)


def test_a_step_whose_view_a_link_does_not_allow_is_refused():
    bad = lesson.Step("x", "x", "x?", "train", "x", view=lesson._frozen(lr="0.5"))
    with pytest.raises(ValueError, match="Learning rate"):
        lesson.step_view(bad)
