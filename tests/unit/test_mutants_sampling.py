"""Exact checks of sampling.py that mutation testing (bench/mutation.sh) found missing: the greedy
tie rule, one sample, the dtype of a completion, its notes, known-pixel masks that are not 0/1 and
the chain-rule likelihood of a trajectory at probability 0."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from made_viz import MADE, Config, sample
from made_viz.sampling import Trajectory, complete, completion_is_exact, order_known_first

EXACT_NOTE = "Exact: the known pixels come first in the order, so each drawn pixel is conditioned on all of them."
APPROXIMATE_NOTE = (
    "Approximate: some known pixels come after unknown ones in the order, so those unknown "
    "pixels were drawn without seeing them. Choose an order that puts the known pixels first."
)


def _zero_model(d=5) -> MADE:
    """Every weight and bias 0: every conditional is exactly 0.5."""
    model = MADE(Config(d=d, hidden=(8,), order="natural"))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


@pytest.mark.parametrize("method", ["fast", "reference"])
def test_greedy_takes_a_one_when_both_values_are_equally_likely(method):
    traj = sample(_zero_model(), n=2, greedy=True, method=method)
    assert traj.x.tolist() == [[1.0] * 5, [1.0] * 5]
    assert traj.probs.tolist() == [[0.5] * 5, [0.5] * 5]


def test_one_sample_is_allowed_and_bad_requests_get_these_sentences():
    model = _zero_model()
    assert sample(model, n=1).x.shape == (1, 5)
    with pytest.raises(ValueError) as info:
        sample(model, n=0)
    assert str(info.value) == "number of samples must be at least 1, got 0."
    with pytest.raises(ValueError) as info:
        sample(model, method="slow")
    assert str(info.value) == "unknown sampling method 'slow': use 'fast' or 'reference'."


def test_a_completion_of_uint8_images_is_float_like_the_model_and_carries_its_note():
    model = _zero_model()
    x = np.array([[1, 0, 1, 0, 0]], dtype=np.uint8)
    exact = complete(model, x, np.array([1, 1, 0, 0, 0], dtype=bool), seed=0)
    assert exact.x.dtype == torch.float32 and exact.x[0, :2].tolist() == [1.0, 0.0]
    assert exact.exact and exact.note == EXACT_NOTE
    approx = complete(model, x, torch.tensor([0, 0, 1, 0, 0], dtype=torch.bool), seed=0)
    assert approx.x.dtype == torch.float32 and approx.x[0, 2].item() == 1.0
    assert not approx.exact and approx.note == APPROXIMATE_NOTE


def test_known_pixel_masks_may_be_any_truthy_numbers():
    """A mask image of 0 and 255 (or a list of 0/1 ints) means known / unknown, like a bool mask."""
    order = np.array([0, 1, 2, 3])
    assert completion_is_exact(order, np.array([255, 255, 0, 0], dtype=np.uint8))
    assert completion_is_exact(order, [2, 0, 0, 0])
    assert not completion_is_exact(order, np.array([0, 255, 0, 0], dtype=np.uint8))
    assert order_known_first([0, 1, 1, 0], np.array([3, 2, 1, 0])) == (2, 1, 3, 0)


def test_trajectory_log_prob_is_finite_at_probability_0_and_skips_known_pixels():
    traj = Trajectory(
        x=torch.tensor([[1.0, 0.0, 1.0]]), order=torch.tensor([0, 1, 2]), probs=torch.tensor([[0.0, 0.25, 0.5]])
    )
    want = math.log(1e-300) + math.log(0.75) + math.log(0.5)  # p clamped at 1e-300, not log(0) = -inf
    assert traj.log_prob().tolist() == pytest.approx([want], rel=1e-12)
    traj.known = torch.tensor([[True, False, False]])
    assert traj.log_prob().tolist() == pytest.approx([math.log(0.75) + math.log(0.5)], rel=1e-12)
