"""Exact checks of sampling.py that mutation testing (bench/mutation.sh) found missing: the greedy
tie rule, one sample, the dtype of a completion, its notes, known-pixel masks that are not 0/1, the
chain-rule likelihood of a trajectory at probability 0 and 1, the draw rule x = 1 iff u < p with the
seed's float64 uniforms (checked on a chain model whose conditionals are set by hand), the defaults of
sample and complete, completion's mask, greedy flag, single images, array-likes and tensors, float64
models, the model's device, and the frames of a completion."""

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


# --- a chain model whose conditionals are set by hand ------------------------------------------------
# D = 3, no hidden layer, natural order: logit_d = B[d] + sum_{j<d} W[d][j] x_j.
B = [-0.8, -1.0, 0.5]
W = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [-2.0, 1.5, 0.0]]


def _chain(dtype=torch.float32) -> MADE:
    model = MADE(Config(d=3, hidden=(), order="natural")).to(dtype)
    with torch.no_grad():
        model.layers[0].weight.copy_(torch.tensor(W, dtype=torch.float64))
        model.layers[0].bias.copy_(torch.tensor(B, dtype=torch.float64))
    return model


def _conditional(d: int, x: list[float]) -> float:
    """p(x_d = 1 | x_<d) of the chain model, by hand."""
    return 1.0 / (1.0 + math.exp(-(B[d] + sum(W[d][j] * x[j] for j in range(d)))))


def _uniforms_of_seed(n: int, seed: int) -> torch.Tensor:
    """A run's random numbers: float64 uniforms of a torch generator seeded with the seed, u[i, t] for
    the pixel drawn at step t (the golden animation of tests/golden pins the samples of seed 0)."""
    return torch.rand(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _chain_by_hand(u: torch.Tensor, x0=None, known=None, greedy=False):
    """The chain's samples and recorded conditionals, drawn by hand: pixel d (step d) is 1 iff
    u[i, d] < p_d (greedy: iff p_d >= 0.5); a known pixel keeps its value."""
    xs, ps = [], []
    for i in range(u.shape[0]):
        x, p = [0.0] * 3, [0.0] * 3
        for d in range(3):
            p[d] = _conditional(d, x)
            if known is not None and known[i][d]:
                x[d] = float(x0[i][d])
            elif greedy:
                x[d] = float(p[d] >= 0.5)
            else:
                assert abs(u[i, d].item() - p[d]) > 1e-6  # no draw of this data sits on a float32 rounding edge
                x[d] = float(u[i, d].item() < p[d])
        xs.append(x)
        ps.append(p)
    return xs, np.array(ps)


@pytest.mark.parametrize("kwargs", [{}, {"method": "reference"}])
def test_sample_by_default_draws_16_samples_of_seed_0_a_pixel_being_1_iff_its_uniform_is_below_p(kwargs):
    traj = sample(_chain(), **kwargs)
    want_x, want_p = _chain_by_hand(_uniforms_of_seed(16, seed=0))
    assert traj.x.tolist() == want_x
    np.testing.assert_allclose(traj.probs.numpy(), want_p, rtol=0, atol=1e-6)
    assert 0 < sum(map(sum, want_x)) < 48  # the data draw both values


KNOWN_FIRST = [[True, False, False]] * 6
X_KNOWN_FIRST = [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]] * 3


def test_complete_by_default_samples_with_seed_0_and_keeps_the_known_pixels_and_mask():
    traj = complete(_chain(), torch.tensor(X_KNOWN_FIRST), torch.tensor([True, False, False]))
    want_x, want_p = _chain_by_hand(_uniforms_of_seed(6, seed=0), X_KNOWN_FIRST, KNOWN_FIRST)
    assert traj.x.tolist() == want_x
    np.testing.assert_allclose(traj.probs.numpy(), want_p, rtol=0, atol=1e-6)
    assert traj.known.tolist() == KNOWN_FIRST
    assert traj.exact and traj.note == EXACT_NOTE
    # the chain-rule likelihood counts only the drawn pixels 1 and 2
    want_lp = [
        sum(math.log(p if v else 1 - p) for v, p in zip(row[1:], probs[1:])) for row, probs in zip(want_x, want_p)
    ]
    np.testing.assert_allclose(traj.log_prob(), want_lp, rtol=1e-5)


def test_a_greedy_completion_takes_the_more_likely_value_of_each_unknown_pixel():
    traj = complete(_chain(), torch.tensor(X_KNOWN_FIRST), torch.tensor(KNOWN_FIRST), seed=0, greedy=True)
    want_x, _ = _chain_by_hand(_uniforms_of_seed(6, seed=0), X_KNOWN_FIRST, KNOWN_FIRST, greedy=True)
    assert traj.x.tolist() == want_x
    # x0 = 1: p1 = s(1) -> 1, p2 = s(0) = 0.5 -> 1; x0 = 0: p1 = s(-1) -> 0, p2 = s(0.5) -> 1
    assert want_x[:2] == [[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]]


def test_a_single_partial_image_is_completed_as_one_row():
    traj = complete(_chain(), np.array([1.0, 0.0, 0.0]), np.array([True, False, False]), seed=3)
    want_x, _ = _chain_by_hand(_uniforms_of_seed(1, seed=3), [[1.0, 0.0, 0.0]], [[True, False, False]])
    assert traj.x.tolist() == want_x and traj.known.tolist() == [[True, False, False]]


def test_completion_uses_the_mask_it_is_asked_for_and_restores_the_active_one():
    model = MADE(Config(d=4, hidden=(8,), order="random", num_masks=3, seed=1))
    orders = [model.mask_set(k).order.tolist() for k in range(3)]
    k = next(k for k in (1, 2) if orders[k][0] != orders[0][0])
    known = np.zeros(4, dtype=bool)
    known[orders[k][0]] = True  # first in mask k's order, not in mask 0's
    traj = complete(model, np.ones(4), known, seed=1, mask=k)
    assert traj.mask_index == k and traj.order.tolist() == orders[k]
    assert traj.exact and traj.note == EXACT_NOTE
    assert model.mask_index == 0
    assert not complete(model, np.ones(4), known, seed=1).exact  # under the active mask 0 it is not first


def test_partial_images_of_the_wrong_size_get_this_sentence():
    model = _chain()
    sentence = "partial images must have D = 3 pixels and a matching known-pixel mask."
    for x, known in [
        (torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.bool)),  # wrong D, mask matching the images
        (torch.zeros(2, 3), torch.zeros(3, 3, dtype=torch.bool)),  # right D, mask of another shape
    ]:
        with pytest.raises(ValueError) as info:
            complete(model, x, known)
        assert str(info.value) == sentence


def test_trajectory_log_prob_is_finite_at_probability_1_of_a_0():
    traj = Trajectory(x=torch.tensor([[0.0, 1.0]]), order=torch.tensor([0, 1]), probs=torch.tensor([[1.0, 0.25]]))
    want = math.log(1e-300) + math.log(0.25)  # 1 - p clamped at 1e-300 like p, not log(0) = -inf
    assert traj.log_prob().tolist() == pytest.approx([want], rel=1e-12)


@pytest.mark.parametrize("method", ["fast", "reference"])
def test_a_float64_model_samples_in_float64(method):
    traj = sample(_chain(torch.float64), n=8, seed=2, method=method)
    want_x, want_p = _chain_by_hand(_uniforms_of_seed(8, seed=2))
    assert traj.x.dtype == traj.probs.dtype == torch.float64
    assert traj.x.tolist() == want_x
    np.testing.assert_allclose(traj.probs.numpy(), want_p, rtol=0, atol=1e-13)  # float32 would be 1e-8 off


def test_a_pixel_whose_conditional_equals_its_uniform_is_0():
    """x = 1 iff u < p (so P(x = 1) = p for u uniform on [0, 1)): p == u exactly gives 0. Float64, so that
    the reference sampler compares u and p without rounding either."""
    u = _uniforms_of_seed(1, seed=0)[0, 0]
    b = torch.log(u) - torch.log1p(-u)  # sigmoid(b) = u, up to a few ulps: search for exactly u
    up, down = b.clone(), b.clone()
    for _ in range(64):
        if torch.sigmoid(up) == u or torch.sigmoid(down) == u:
            break
        up, down = torch.nextafter(up, up + 1), torch.nextafter(down, down - 1)
    b = up if torch.sigmoid(up) == u else down
    assert torch.sigmoid(b) == u
    model = _chain(torch.float64)
    with torch.no_grad():
        model.layers[0].bias[0] = b
    traj = sample(model, n=1, seed=0, method="reference")
    assert traj.probs[0, 0].item() == u.item() and traj.x[0, 0].item() == 0.0
    with torch.no_grad():
        model.layers[0].bias[0] = b + 1e-9  # p just above u: 1
    assert sample(model, n=1, seed=0, method="reference").x[0, 0].item() == 1.0


def test_reference_sampling_keeps_the_models_tensors_on_its_device():
    """The meta device (shapes, no data) stands in for a GPU: every tensor of the run must be on it."""
    model = _chain().to("meta")
    traj = sample(model, n=2, method="reference")
    assert traj.x.device.type == traj.probs.device.type == "meta"
    assert traj.x.shape == traj.probs.shape == (2, 3)


def test_completion_takes_any_tensor_as_it_is():
    """Tensors numpy cannot hold (bfloat16, or an image that requires grad) are used directly."""
    model = _chain()
    want_x, _ = _chain_by_hand(_uniforms_of_seed(6, seed=4), X_KNOWN_FIRST, KNOWN_FIRST)
    x16, known16 = torch.tensor(X_KNOWN_FIRST, dtype=torch.bfloat16), torch.tensor(KNOWN_FIRST, dtype=torch.bfloat16)
    assert complete(model, x16, known16, seed=4).x.tolist() == want_x
    x_grad = torch.tensor(X_KNOWN_FIRST, requires_grad=True)
    assert complete(model, x_grad, torch.tensor(KNOWN_FIRST), seed=4).x.tolist() == want_x


def test_completion_takes_array_likes_such_as_lists_of_image_tensors():
    model = _chain()
    want_x, _ = _chain_by_hand(_uniforms_of_seed(6, seed=4), X_KNOWN_FIRST, KNOWN_FIRST)
    rows, masks = [torch.tensor(r) for r in X_KNOWN_FIRST], [torch.tensor(k) for k in KNOWN_FIRST]
    assert complete(model, rows, masks, seed=4).x.tolist() == want_x
    assert complete(model, X_KNOWN_FIRST, KNOWN_FIRST, seed=4).x.tolist() == want_x


def test_frames_show_known_pixels_from_step_0_and_drawn_ones_from_their_step():
    nan = float("nan")
    traj = Trajectory(
        x=torch.tensor([[1.0, 0.0, 1.0]]),
        order=torch.tensor([2, 0, 1]),
        probs=torch.tensor([[0.5, 0.5, 0.5]]),
        known=torch.tensor([[False, True, False]]),
    )
    frames = traj.frames([0, 1, 2, 3])
    want = [[[nan, 0.0, nan]], [[nan, 0.0, 1.0]], [[1.0, 0.0, 1.0]], [[1.0, 0.0, 1.0]]]
    np.testing.assert_array_equal(frames, np.array(want))


def test_frames_are_float32_whatever_the_samples_dtype():
    """0, 1 and NaN need no more: float32 halves the memory of an animation's frames (16 samples of
    D = 784 over all 785 steps: 39 MB, not 79 MB)."""
    traj = sample(_chain(torch.float64), n=2, seed=0)
    frames = traj.frames([0, 3])
    assert frames.dtype == np.float32
    np.testing.assert_array_equal(frames[1], traj.x.numpy())
