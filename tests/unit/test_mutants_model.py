"""Exact checks of model.py that mutation testing (bench/mutation.sh) found missing:
MaskedLinear.set_mask on its own, default_device, the size limit of all_binary_inputs, the initial
weights (bound, order of the draws, generator, drawn on the CPU), direct connections by hand, the order of
the dependency violations, the ensemble-size sentence, a MADE without hidden layer, the pixel dtypes the
conditionals and the surprise take, the device of the inputs, and the Jacobian check's private generator."""

import math

import numpy as np
import pytest
import torch

from made_viz import MADE, Config
from made_viz.model import (
    MaskedLinear,
    all_binary_inputs,
    default_device,
    dependency_violations,
    jacobian_dependencies,
    model_surprise,
)


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


def test_initial_weights_are_drawn_on_the_cpu_whatever_the_layers_device():
    """A layer on another device (meta stands in for a GPU, whose own draws would not come from the
    CPU generator) draws weight then bias on the CPU from the given generator and copies them over:
    the generator advances exactly as for a CPU layer, so a model gets the same numbers on any device."""
    layer = MaskedLinear(3, 2).to("meta")
    gen = torch.Generator().manual_seed(7)
    layer.reset_parameters(gen)
    assert layer.weight.device.type == layer.bias.device.type == "meta"
    ref = torch.Generator().manual_seed(7)
    torch.empty(2, 3).uniform_(generator=ref)  # the 6 weights
    torch.empty(2).uniform_(generator=ref)  # the 2 biases
    assert torch.equal(torch.rand(5, generator=gen), torch.rand(5, generator=ref))


# A MADE without hidden layer in the natural order, weights set by hand: the logit of pixel d is
# B[d] + sum_{k < d} W[d][k] x_k (the 9s sit where the mask m0(d) > m0(k) must cut the weight).
W_CHAIN = [[9.0, 9.0, 9.0], [2.0, 9.0, 9.0], [-1.0, 3.0, 9.0]]
B_CHAIN = [0.5, -1.0, 0.25]


def _chain_without_hidden_layer(dtype=torch.float32):
    model = MADE(Config(d=3, hidden=(), order="natural", seed=0)).to(dtype)
    with torch.no_grad():
        model.layers[0].weight.copy_(torch.tensor(W_CHAIN))
        model.layers[0].bias.copy_(torch.tensor(B_CHAIN))
    return model


def _chain_log_probs_by_hand(x):
    """log p(x_d | x_<d) for each row of x (lists of 0/1), in float64."""
    out = []
    for row in x:
        logits = [B_CHAIN[d] + sum(W_CHAIN[d][k] * row[k] for k in range(d)) for d in range(3)]
        # log sigmoid(+-logit): log p(x_d = 1) = -log(1 + e^-l), log p(x_d = 0) = -log(1 + e^l)
        out.append([-math.log1p(math.exp(-lg if v else lg)) for lg, v in zip(logits, row)])
    return out


ALL_3 = [[(i >> d) & 1 for d in range(3)] for i in range(8)]


def test_without_hidden_layers_the_conditionals_are_logistic_regressions_on_the_earlier_pixels():
    model = _chain_without_hidden_layer()
    assert len(model.layers) == 1
    with torch.no_grad():
        got = model.conditional_log_probs(torch.tensor(ALL_3, dtype=torch.float32))
    torch.testing.assert_close(got, torch.tensor(_chain_log_probs_by_hand(ALL_3), dtype=torch.float32))


def test_conditional_log_probs_take_bool_integer_and_double_pixels():
    """Like log_prob, the pixels are converted to the model's dtype: any 0/1 tensor will do."""
    want = torch.tensor(_chain_log_probs_by_hand(ALL_3), dtype=torch.float64)
    model = _chain_without_hidden_layer()
    with torch.no_grad():
        for dtype in (torch.bool, torch.uint8, torch.int64, torch.float64):
            got = model.conditional_log_probs(torch.tensor(ALL_3, dtype=dtype))
            assert got.dtype == torch.float32
            torch.testing.assert_close(got, want.float())
        double = _chain_without_hidden_layer(torch.float64)
        got = double.conditional_log_probs(torch.tensor(ALL_3, dtype=torch.float32))
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, want)


def test_model_surprise_takes_bool_and_uint8_images_even_mirrored_views():
    """A mirrored view (negative strides, which torch cannot wrap) of a bool or uint8 image, or a
    list, gets the surprise -log p(x_d | x_<d) of the pixels it shows."""
    images = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]], dtype=np.uint8)
    mirrored = images[:, ::-1]
    want = -np.array(_chain_log_probs_by_hand(mirrored.tolist()))
    model = _chain_without_hidden_layer()
    for x in (mirrored, images.astype(bool)[:, ::-1], mirrored.tolist()):
        got = model_surprise(model, x)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-6)


class _Reached(Exception):
    pass


def test_the_surprise_and_the_jacobian_hand_the_model_its_inputs_on_its_device(monkeypatch):
    """The meta device (shapes, no data) stands in for a GPU: the pixels of model_surprise and the
    random points of jacobian_dependencies must reach the model's forward on it, as float32."""
    model = MADE(Config(d=3, hidden=(4,))).to("meta")
    seen = []

    def forward(x):
        seen.append((x.device.type, x.dtype))
        raise _Reached

    monkeypatch.setattr(model, "forward", forward)
    with pytest.raises(_Reached):
        model_surprise(model, np.array([1, 0, 1], dtype=np.uint8))
    with pytest.raises(_Reached):
        jacobian_dependencies(model)
    assert seen == [("meta", torch.float32), ("meta", torch.float32)]


def test_jacobian_dependencies_leave_torchs_global_random_stream_alone():
    """The random points come from a private seeded generator: checking a model (a page of the
    server) neither reads nor advances the global stream students' own code draws from. The answer
    itself: with direct connections every input i reaches every output j after it (tanh: no dead unit)."""
    model = MADE(Config(d=4, hidden=(6,), direct=True, activation="tanh", seed=3))
    state = torch.get_rng_state()
    dep = jacobian_dependencies(model)
    assert torch.equal(torch.get_rng_state(), state)
    assert dep.tolist() == [[i < j for j in range(4)] for i in range(4)]
