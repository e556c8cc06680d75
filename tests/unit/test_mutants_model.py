"""Exact checks of model.py that mutation testing (bench/mutation.sh) found missing:
MaskedLinear.set_mask on its own, default_device, the size limit of all_binary_inputs, the initial
weights (bound, order of the draws, generator), direct connections by hand, the order of the
dependency violations and the ensemble-size sentence."""

import math

import numpy as np
import pytest
import torch

from made_viz import MADE, Config
from made_viz.model import MaskedLinear, all_binary_inputs, default_device, dependency_violations


def test_masked_linear_set_mask_takes_the_fan_in_by_fan_out_mask_of_masks_py():
    layer = MaskedLinear(3, 2)
    mask = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)  # (fan_in, fan_out), as masks.py builds
    layer.set_mask(mask)
    assert layer.mask.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]  # stored as (out, in) like the weight
    assert layer.mask.dtype == torch.float32
    w = layer.weight.detach()
    assert torch.equal(layer.masked_weight(), w * torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]))
    x = torch.tensor([[2.0, -1.0, 0.5]])
    expected = torch.stack([w[0, 0] * 2.0 + w[0, 2] * 0.5, -w[1, 1] + w[1, 2] * 0.5]) + layer.bias.detach()
    assert torch.allclose(layer(x)[0], expected)


def test_default_device_is_cuda_only_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == torch.device("cuda")


def test_all_binary_inputs_enumerates_up_to_20_pixels_and_refuses_more():
    assert all_binary_inputs(3).tolist() == [
        [0, 0, 0],
        [1, 0, 0],
        [0, 1, 0],
        [1, 1, 0],
        [0, 0, 1],
        [1, 0, 1],
        [0, 1, 1],
        [1, 1, 1],
    ]
    x = all_binary_inputs(20)  # the limit itself is allowed
    assert x.shape == (2**20, 20) and x[-1].sum() == 20
    del x
    with pytest.raises(ValueError, match=r"2\^21 inputs is too many to enumerate"):
        all_binary_inputs(21)


def test_initial_weights_are_uniform_in_the_fan_in_bound_drawn_in_layer_order_from_the_seed():
    """nn.Linear's bound 1/sqrt(fan_in), weight then bias of each layer in turn, from a generator
    seeded with cfg.seed (a standalone MaskedLinear: seeded 0), never from torch's global one."""
    cfg = Config(d=4, hidden=(400,), direct=True, seed=5)
    with torch.random.fork_rng():
        torch.manual_seed(123)  # the global generator's state must not matter
        model = MADE(cfg)
    gen = torch.Generator().manual_seed(5)
    for layer in [*model.layers, model.direct]:
        bound = 1.0 / math.sqrt(layer.in_features)
        want_w = torch.empty(layer.out_features, layer.in_features).uniform_(-bound, bound, generator=gen)
        assert torch.equal(layer.weight.detach(), want_w)
        if layer.bias is not None:
            want_b = torch.empty(layer.out_features).uniform_(-bound, bound, generator=gen)
            assert torch.equal(layer.bias.detach(), want_b)
    top_w, top_b = model.layers[1].weight.detach(), model.layers[1].bias.detach()
    # 400 inputs: the draws fill the interval +-1/20 on both sides
    assert float(top_w.max()) > 0.045 and float(top_w.min()) < -0.045 and float(top_w.abs().max()) <= 0.05
    assert float(top_b.max()) > 0 > float(top_b.min())
    alone = MaskedLinear(3, 2)
    gen0 = torch.Generator().manual_seed(0)
    bound = 1.0 / math.sqrt(3)
    assert torch.equal(alone.weight.detach(), torch.empty(2, 3).uniform_(-bound, bound, generator=gen0))
    assert torch.equal(alone.bias.detach(), torch.empty(2).uniform_(-bound, bound, generator=gen0))


def test_direct_connections_have_no_bias_and_add_to_the_output():
    """logits = W2 (M2 * ...) act(W1 (M1 * ...) x + b1) + b2 + (Md * Wd) x, computed by hand."""
    model = MADE(Config(d=3, hidden=(5,), direct=True, activation="tanh", order="reverse", seed=2))
    assert model.direct.bias is None
    assert sum(p.numel() for p in model.parameters()) == (3 * 5 + 5) + (5 * 3 + 3) + 3 * 3
    l1, l2, dr = model.layers[0], model.layers[1], model.direct
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    h = torch.tanh(x @ (l1.weight * l1.mask).T + l1.bias)
    want = h @ (l2.weight * l2.mask).T + l2.bias + x @ (dr.weight * dr.mask).T
    with torch.no_grad():
        torch.testing.assert_close(model(x), want)
    assert dr.mask.tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]  # reverse order: pixel 2 first


def test_dependency_violations_are_listed_in_generation_order():
    """An unmasked net in reverse order (m0 = [3, 2, 1]): every pair with m0[i] >= m0[j], sorted by
    the output's position, then the input's."""
    model = MADE(Config(d=3, hidden=(6,), masking="off", order="reverse", activation="tanh", seed=0))
    assert dependency_violations(model) == [(2, 2), (1, 2), (0, 2), (1, 1), (0, 1), (0, 0)]


def test_an_ensemble_size_out_of_range_gets_this_sentence():
    model = MADE(Config(d=4, hidden=(6,), num_masks=3))
    with pytest.raises(ValueError) as info:
        model.log_prob_ensemble(torch.zeros(1, 4), masks=4)
    assert str(info.value) == "ensemble size must be between 1 and 3, got 4."
