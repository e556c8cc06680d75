"""The torch model: what it computes respects the ordering, and its density normalizes."""

import math

import numpy as np
import pytest
import torch

from made_viz import MADE, Config
from made_viz.masks import build_masks
from made_viz.model import (
    all_binary_inputs,
    dependency_violations,
    jacobian_dependencies,
    model_surprise,
    total_probability,
)

CONFIGS = [
    Config(d=8, hidden=(16,), order="natural"),
    Config(d=8, hidden=(16, 12), order="random", seed=3),
    Config(d=7, hidden=(), order="reverse"),  # no hidden layer
    Config(d=7, hidden=(), order="random", direct=True, seed=1),
    Config(d=9, hidden=(20, 20, 20), order="random", direct=True, activation="tanh", seed=5),
    Config(d=10, hidden=(4,), degrees="even", seed=2),  # narrower than D-1
    Config(d=6, hidden=(12,), order="random", num_masks=4, activation="sigmoid", seed=9),
]


def gradient_dependencies(model, x):
    """Backpropagate from each output separately (the made.py self-test): [i, j] = d out_j / d x_i != 0."""
    d = model.cfg.d
    dep = np.zeros((d, d), dtype=bool)
    for j in range(d):
        xi = x.clone().requires_grad_(True)
        model(xi)[:, j].sum().backward()
        dep[:, j] = (xi.grad.abs().sum(0) > 0).numpy()
    return dep


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"d{c.d}-h{c.hidden}-{c.order}-direct{c.direct}")
def test_jacobian_respects_the_ordering(cfg):
    model = MADE(cfg)
    x = torch.rand(16, cfg.d, generator=torch.Generator().manual_seed(0))
    for k in range(cfg.num_masks):
        model.set_mask(k)
        m0 = model.mask_set().degrees[0]
        dep = gradient_dependencies(model, x)
        assert not (dep & (m0[:, None] >= m0[None, :])).any()
        assert dependency_violations(model) == []
    # with a smooth activation (no dead ReLUs) it sees exactly the pairs the masks connect
    smooth = MADE(cfg.replace(activation="tanh"))
    for k in range(cfg.num_masks):
        smooth.set_mask(k)
        dep = gradient_dependencies(smooth, x)
        np.testing.assert_array_equal(dep, smooth.mask_set().connectivity() > 0)
        np.testing.assert_array_equal(jacobian_dependencies(smooth), dep)


@pytest.mark.parametrize("masking", ["off", "nonstrict"])
def test_broken_models_are_caught_by_the_jacobian(masking):
    model = MADE(Config(d=6, hidden=(10,), masking=masking, seed=1))
    bad = dependency_violations(model)
    assert bad
    i, j = bad[0]
    m0 = model.mask_set().degrees[0]
    assert m0[i] >= m0[j]


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c.d <= 10], ids=str)
def test_probabilities_sum_to_one(cfg):
    model = MADE(cfg).double()
    assert total_probability(model) == pytest.approx(1.0, abs=1e-9)
    if cfg.num_masks > 1:
        assert total_probability(model, ensemble=True) == pytest.approx(1.0, abs=1e-9)


def test_broken_models_do_not_normalize():
    for masking in ("off", "nonstrict"):
        model = MADE(Config(d=6, hidden=(10,), masking=masking, seed=1)).double()
        assert abs(total_probability(model) - 1.0) > 1e-3


def test_averaging_logits_over_masks_is_not_a_density():
    """Why the ensemble must average probabilities: averaged logits of different orderings let
    each output see inputs that come later in some ordering, and the 'density' no longer sums to 1."""
    cfg = Config(d=6, hidden=(24,), order="random", num_masks=4, seed=0)
    model = MADE(cfg).double()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)  # sharper conditionals make the effect large
    x = all_binary_inputs(cfg.d).double()
    logits = []
    for k in range(cfg.num_masks):
        model.set_mask(k)
        logits.append(model(x))
    avg = torch.stack(logits).mean(0)
    lp_avg_logits = -torch.nn.functional.binary_cross_entropy_with_logits(avg, x, reduction="none").sum(1)
    wrong_total = float(torch.logsumexp(lp_avg_logits, 0).exp())
    assert abs(wrong_total - 1.0) > 1e-3
    model.set_mask(0)
    assert total_probability(model, ensemble=True) == pytest.approx(1.0, abs=1e-9)


def test_ensemble_is_log_mean_exp_and_restores_the_mask():
    cfg = Config(d=8, hidden=(16,), order="random", num_masks=3, seed=4)
    model = MADE(cfg)
    model.set_mask(2)
    x = torch.randint(0, 2, (5, 8)).float()
    per = []
    for k in range(3):
        model.set_mask(k)
        per.append(model.log_prob(x))
    model.set_mask(2)
    expected = torch.logsumexp(torch.stack(per), 0) - math.log(3)
    torch.testing.assert_close(model.log_prob_ensemble(x), expected)
    assert model.mask_index == 2
    torch.testing.assert_close(model.log_prob_ensemble(x, masks=1), per[0])


def test_log_prob_is_sum_of_conditionals_and_same_seed_same_weights():
    cfg = Config(d=8, hidden=(16,), seed=11)
    a, b = MADE(cfg), MADE(cfg)
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
        torch.testing.assert_close(pa, pb)
    x = torch.randint(0, 2, (4, 8)).float()
    torch.testing.assert_close(a.conditional_log_probs(x).sum(1), a.log_prob(x))


def test_masks_are_buffers_that_travel_with_the_state_dict():
    model = MADE(Config(d=5, hidden=(7,)))
    keys = set(model.state_dict())
    assert "layers.0.mask" in keys and "layers.1.mask" in keys
    assert all(not n.endswith("mask") for n, _ in model.named_parameters())


def numpy_surprise(model, cfg, k, x):
    """-log p(x_d | x_<d) by hand: a numpy forward pass with the masks built by masks.py for mask k
    (independent of MADE.forward, its masked layers and its binary cross-entropy)."""
    ms = build_masks(cfg, k)
    act = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh}[cfg.activation]
    weights = [layer.weight.detach().double().numpy() for layer in model.layers]
    biases = [layer.bias.detach().double().numpy() for layer in model.layers]
    h = x.astype(np.float64)
    for i, (w, b, m) in enumerate(zip(weights, biases, ms.masks)):
        h = h @ (w * m.T).T + b
        if i < len(weights) - 1:
            h = act(h)
    if model.direct is not None:
        h = h + x @ (model.direct.weight.detach().double().numpy() * ms.direct.T).T
    p1 = 1 / (1 + np.exp(-h))
    return -np.log(np.where(x > 0.5, p1, 1 - p1))


@pytest.mark.parametrize(
    "cfg",
    [
        Config(d=64, shape=(8, 8), hidden=(32,), order="random", num_masks=2, seed=3),
        Config(d=9, hidden=(12, 10), order="random", direct=True, activation="tanh", num_masks=3, seed=5),
    ],
    ids=str,
)
def test_model_surprise_is_each_pixels_minus_log_conditional(cfg):
    """The likelihood lens: per-pixel surprise under the chosen mask, whose row sums are -log p(x);
    the model's active mask is left as it was."""
    model = MADE(cfg).eval()
    with torch.no_grad():  # larger weights than at initialisation: confident, varied conditionals
        for p in model.parameters():
            p.mul_(4)
    model.set_mask(1)
    x = (np.random.default_rng(0).random((6, cfg.d)) < 0.4).astype(np.float32)
    for k in range(cfg.num_masks):
        surprise = model_surprise(model, x, k)
        assert surprise.shape == (6, cfg.d) and (surprise >= 0).all()
        np.testing.assert_allclose(surprise, numpy_surprise(model, cfg, k, x), rtol=1e-4, atol=1e-5)
        assert model.mask_index == 1  # the active mask is restored
    np.testing.assert_allclose(model_surprise(model, x), numpy_surprise(model, cfg, 1, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("k", [None, 1.0, True, "1"])
def test_set_mask_takes_a_mask_number_only(k):
    """set_mask(None) used to be accepted: it re-applied the active mask but set mask_index to None and cached
    the masks under the key None, so a later set_mask(None) copied back stale masks (the mutation run's
    set_mask(None) mutants failed quietly because of it). Any non-integer is now refused, and nothing changes."""
    m = MADE(Config(d=4, hidden=(6,), num_masks=2, order="random", seed=1))
    m.set_mask(1)
    before = [layer.mask.clone() for layer in m.layers]
    with pytest.raises(TypeError, match="mask number"):
        m.set_mask(k)
    assert m.mask_index == 1
    assert all(torch.equal(layer.mask, b) for layer, b in zip(m.layers, before))
    m.set_mask(np.int64(0))  # numpy integers are mask numbers too
    assert m.mask_index == 0
