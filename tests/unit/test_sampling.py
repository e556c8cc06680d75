"""Samplers: the fast one equals the reference exactly, and both sample the model's density."""

import numpy as np
import pytest
import torch

from made_viz import MADE, Config, sample
from made_viz.model import all_binary_inputs
from made_viz.sampling import complete, completion_is_exact, order_known_first

CONFIGS = [
    Config(d=16, hidden=(32,), order="natural"),
    Config(d=16, hidden=(24, 20), order="random", seed=3),
    Config(d=12, hidden=(), order="reverse", direct=True),
    Config(d=12, hidden=(30, 17, 25), order="random", direct=True, activation="tanh", seed=7),
    Config(d=10, hidden=(4,), degrees="even", activation="sigmoid"),
    Config(d=9, hidden=(20,), order="random", num_masks=3, seed=2),
]


def sharpen(model, factor=3.0):
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(factor)
    return model


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
@pytest.mark.parametrize("greedy", [False, True])
def test_fast_and_reference_agree_exactly(cfg, greedy):
    model = sharpen(MADE(cfg))
    for k in range(cfg.num_masks):
        a = sample(model, n=32, seed=5, method="fast", greedy=greedy, mask=k)
        b = sample(model, n=32, seed=5, method="reference", greedy=greedy, mask=k)
        assert torch.equal(a.x, b.x)
        assert torch.equal(a.order, b.order)
        torch.testing.assert_close(a.probs, b.probs, atol=1e-5, rtol=0)
        assert a.mask_index == k


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_recorded_probs_are_the_models_conditionals_on_the_finished_samples(cfg):
    model = sharpen(MADE(cfg))
    traj = sample(model, n=20, seed=1)
    with torch.no_grad():
        p = torch.sigmoid(model(traj.x))
    torch.testing.assert_close(traj.probs, p, atol=1e-5, rtol=0)
    np.testing.assert_allclose(traj.log_prob(), model.log_prob(traj.x).detach().numpy(), atol=1e-4)


def test_samples_follow_the_model_distribution():
    """Empirical frequencies of 20,000 samples over all 2^4 patterns match p(x) (chi-square-ish bound)."""
    model = sharpen(MADE(Config(d=4, hidden=(8,), order="random", seed=1)), 2.0).double()
    traj = sample(model, n=20_000, seed=0)
    codes = (traj.x.long() * (2 ** torch.arange(4))).sum(1)
    freq = torch.bincount(codes, minlength=16).double() / 20_000
    p = model.log_prob(all_binary_inputs(4).double()).exp().detach()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-9)
    assert float((freq - p).abs().max()) < 0.015


def test_same_seed_same_samples_different_seed_different():
    model = MADE(Config(d=20, hidden=(30,)))
    assert torch.equal(sample(model, n=8, seed=3).x, sample(model, n=8, seed=3).x)
    assert not torch.equal(sample(model, n=8, seed=3).x, sample(model, n=8, seed=4).x)


def test_sampling_order_is_the_generation_order_and_mask_is_restored():
    cfg = Config(d=10, hidden=(16,), order="random", num_masks=3, seed=8)
    model = MADE(cfg)
    model.set_mask(1)
    traj = sample(model, n=2, mask=2)
    assert traj.order.tolist() == model.mask_set(2).order.tolist()
    assert model.mask_index == 1


def test_frames_show_exactly_the_pixels_drawn_so_far():
    model = MADE(Config(d=9, hidden=(12,), order="random", seed=1))
    traj = sample(model, n=3)
    frames = traj.frames([0, 4, 9])
    assert np.isnan(frames[0]).all()
    drawn = set(traj.order[:4].tolist())
    for pix in range(9):
        assert np.isnan(frames[1][:, pix]).all() != (pix in drawn)
    np.testing.assert_array_equal(frames[2], traj.x.numpy())


def test_fast_sampler_refuses_broken_masks():
    model = MADE(Config(d=6, hidden=(8,), masking="nonstrict"))
    with pytest.raises(ValueError, match="broken"):
        sample(model, n=2, method="fast")
    sample(model, n=2, method="reference")  # still possible, to show what goes wrong


def test_completion_keeps_known_pixels_and_is_exact_when_they_come_first():
    cfg = Config(d=16, shape=(4, 4), hidden=(32,), order="natural")
    model = sharpen(MADE(cfg))
    x = torch.zeros(5, 16)
    x[:, :8] = torch.randint(0, 2, (5, 8)).float()
    known = torch.zeros(5, 16, dtype=torch.bool)
    known[:, :8] = True  # top half, which comes first in natural order
    a = complete(model, x, known, seed=2, method="fast")
    b = complete(model, x, known, seed=2, method="reference")
    assert torch.equal(a.x, b.x)
    assert torch.equal(a.x[:, :8], x[:, :8])
    assert a.exact and "Exact" in a.note
    # the drawn half is a sample of p(bottom | top): its recorded probs are the model's conditionals
    with torch.no_grad():
        p = torch.sigmoid(model(a.x))
    torch.testing.assert_close(a.probs[:, 8:], p[:, 8:], atol=1e-5, rtol=0)
    # known bottom half comes last in natural order: not exact, and the note says why
    c = complete(model, x.flip(1), known.flip(1), seed=2)
    assert not c.exact and "order" in c.note


def test_completion_helpers():
    order = np.array([3, 0, 2, 1])
    assert completion_is_exact(order, np.array([True, False, False, True]))
    assert not completion_is_exact(order, np.array([False, True, False, True]))
    new = order_known_first(np.array([False, True, False, True]), order)
    assert new == (3, 1, 0, 2)
    assert completion_is_exact(np.array(new), np.array([False, True, False, True]))


def test_made_viz_sample_is_the_function_after_importing_the_module():
    """`from made_viz import sample` gives the function even after the sampling module was imported
    (in a fresh interpreter: the module is made_viz.sampling, so no submodule shadows the name)."""
    import subprocess
    import sys

    code = (
        "import made_viz.sampling\nimport made_viz\nfrom made_viz import sample\nimport made_viz.sampling as S\n"
        "assert sample is S.sample and made_viz.sample is S.sample, sample\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_random_number_that_rounds_up_to_the_conditional_draws_1_in_both_samplers():
    """x_d = 1 exactly when u < p. A float32 model's p can lie strictly between u and the float32 nearest u
    (u rounds up to p): the reference sampler compared float32(u) < p there and drew 0, the fast one
    compared in float64 and drew 1 (about 3e-8 per draw: a 16-sample run at D = 784 once in ~2,500).
    Here the first pixel's conditional is set to exactly that float32."""
    cfg = Config(d=2, shape=(1, 2), hidden=(), seed=0)
    for seed in range(50):
        u = float(torch.rand(1, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)[0, 0])
        if float(np.float32(u)) > u:
            break
    p = torch.tensor(np.float32(u))
    b = torch.logit(p.double()).float()
    while torch.sigmoid(b) != p:  # the float32 bias whose float32 sigmoid is exactly p
        b = torch.nextafter(b, torch.tensor(np.inf if torch.sigmoid(b) < p else -np.inf, dtype=torch.float32))
    model = MADE(cfg)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        first = int(model.order[0])
        model.layers[-1].bias[first] = b
    assert float(p) > u  # so the true draw is 1
    for method in ("fast", "reference"):
        traj = sample(model, n=1, seed=seed, method=method)
        assert traj.x[0, first] == 1, method


def test_complete_takes_a_flipped_numpy_image_as_it_takes_its_copy():
    """A mirrored image (x[:, ::-1], np.flip) has negative strides, which torch cannot view: complete
    refused it with torch's "negative stride" error."""
    model = sharpen(MADE(Config(d=16, shape=(4, 4), hidden=(32,), seed=3)))
    rng = np.random.default_rng(0)
    x = (rng.random((3, 16)) < 0.5).astype(np.float32)
    known = np.zeros((3, 16), dtype=bool)
    known[:, :8] = True
    flipped = x[:, ::-1]
    assert any(s < 0 for s in flipped.strides)
    a = complete(model, flipped, known[:, ::-1], seed=2)
    b = complete(model, flipped.copy(), known[:, ::-1].copy(), seed=2)
    assert torch.equal(a.x, b.x)
    assert torch.equal(a.x[:, 8:], torch.as_tensor(flipped[:, 8:].copy()))  # the known pixels (mirrored) are kept
