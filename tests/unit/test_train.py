"""Trainer: convergence to the true entropy, determinism, chunking, masks, divergence, early stopping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from made_viz.config import Config, ConfigError
from made_viz.data import load_dataset
from made_viz.metrics import bits_per_dim, independent_bernoulli_nll
from made_viz.model import MADE
from made_viz.train import (
    STOP_DIVERGED,
    STOP_EARLY,
    STOP_FINISHED,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    evaluate_nll,
    set_torch_threads,
    split_validation,
)

TIMING_KEYS = {"seconds", "elapsed", "examples_per_s"}


@pytest.fixture(scope="module")
def bars4():
    return load_dataset("bars4")


def small_model(d=16, hidden=(32,), **kw) -> MADE:
    return MADE(Config(d=d, hidden=hidden, **kw))


def random_binary(n, d, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, d)) < 0.3).astype(np.uint8)


def without_timing(history):
    return [{k: v for k, v in h.items() if k not in TIMING_KEYS} for h in history]


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------------------------------------


def test_bars_and_stripes_reaches_the_true_entropy(bars4):
    """4x4 bars and stripes: 30 equally likely patterns, entropy ln 30 = 3.40 nats."""
    assert bars4.entropy == pytest.approx(math.log(30))
    model = MADE(Config(d=16, hidden=(128,), shape=(4, 4), seed=0))
    trainer = Trainer(model, bars4.train, TrainConfig(epochs=20, lr=1e-2, batch_size=100, seed=0))
    trainer.run()
    assert trainer.stopped_reason == STOP_FINISHED and trainer.epoch == 20
    test_nll = trainer.evaluate(bars4.test)
    assert abs(test_nll - bars4.entropy) < 0.1, (test_nll, bars4.entropy)
    # far better than independent pixels, and the history is in order
    assert independent_bernoulli_nll(bars4.train, bars4.test) > bars4.entropy + 5
    h = trainer.history[-1]
    assert h["valid_bpd"] == pytest.approx(h["valid_nll"] / (16 * math.log(2)))
    assert h["train_bpd"] == pytest.approx(bits_per_dim(h["train_nll"], 16))
    assert trainer.history[0]["train_nll"] > trainer.history[-1]["train_nll"]


def test_same_seed_gives_identical_histories_and_weights():
    x = random_binary(600, 16)

    def run(seed):
        model = small_model(num_masks=3, order="random")
        tr = Trainer(model, x, TrainConfig(epochs=3, batch_size=50, seed=seed, lr=3e-3))
        tr.run()
        return tr, model

    a, ma = run(0)
    b, mb = run(0)
    c, _ = run(1)
    assert without_timing(a.history) == without_timing(b.history)
    assert a.step_history == b.step_history
    assert same_weights(weights(ma), weights(mb))
    assert without_timing(a.history) != without_timing(c.history)


def test_chunked_stepping_equals_run():
    x = random_binary(500, 16, seed=3)
    cfg = TrainConfig(epochs=4, batch_size=64, seed=5, lr=2e-3)
    full_model, chunk_model = small_model(num_masks=2), small_model(num_masks=2)
    full = Trainer(full_model, x, cfg)
    full.run()
    chunked = Trainer(chunk_model, x, cfg)
    records, sizes = [], [1, 3, 0, 7, 2, 11, 5]
    i = 0
    while not chunked.done:
        records += chunked.step_chunk(max_steps=sizes[i % len(sizes)])
        i += 1
    assert without_timing(full.history) == without_timing(chunked.history)
    assert same_weights(weights(full_model), weights(chunk_model))
    steps = [r for r in records if r["kind"] == "step"]
    assert [r["step"] for r in steps] == list(range(1, full.step + 1))
    assert [r for r in records if r["kind"] == "epoch"] == chunked.history
    assert chunked.step_chunk(max_steps=5) == []  # done: nothing more


def test_max_seconds_and_max_steps():
    x = random_binary(300, 16)
    tr = Trainer(small_model(), x, TrainConfig(epochs=100, batch_size=10, max_steps=25))
    recs = tr.step_chunk(max_seconds=0.0)  # always at least one step
    assert [r["step"] for r in recs if r["kind"] == "step"] == [1]
    tr.run()
    assert tr.step == 25 and tr.stopped_reason == STOP_FINISHED
    assert tr.history[-1]["partial"] and tr.total_steps == 25 and tr.progress == 1.0
    with pytest.raises(ValueError):
        tr.step_chunk(max_steps=-1)


def test_masks_switch_and_ensemble_is_log_mean_exp(monkeypatch):
    x = random_binary(400, 16)
    model = small_model(num_masks=4, order="random")
    seen = []
    original = model.set_mask

    def spy(k):
        seen.append(k)
        original(k)

    monkeypatch.setattr(model, "set_mask", spy)
    model.set_mask(2)  # the mask a page is showing
    tr = Trainer(model, x, TrainConfig(epochs=2, batch_size=20, resample_every=1))
    recs = tr.step_chunk(max_steps=15)
    used = {r["mask"] for r in recs if r["kind"] == "step"}
    assert len(used) >= 3 and len(set(seen)) >= 3
    assert model.mask_index == 2  # restored between chunks
    tr.run()
    counts = tr.history[0]["mask_counts"]
    assert len(counts) == 4 and sum(counts) == tr.steps_per_epoch and tr.history[0]["mask_switches"] > 0

    test = torch.as_tensor(random_binary(50, 16, seed=9), dtype=torch.float32)
    per_mask = []
    for k in range(3):
        original(k)
        per_mask.append(model.log_prob(test).double())
    original(2)
    manual = -(torch.logsumexp(torch.stack(per_mask), 0) - math.log(3)).mean().item()
    assert tr.evaluate(test, ensemble=3) == pytest.approx(manual, abs=1e-4)
    single = -per_mask[0].mean().item()
    assert tr.evaluate(test) == pytest.approx(single, abs=1e-4)  # validation: mask 0
    # averaging logits instead would give a different number
    assert tr.evaluate(test, ensemble=3) != pytest.approx(averaged_logits_nll(model, test, 3), abs=1e-5)


def averaged_logits_nll(model, x: torch.Tensor, k: int) -> float:
    """The wrong ensemble: average the K masks' logits, then one Bernoulli per pixel."""
    shown = model.mask_index
    with torch.no_grad():
        logits = []
        for m in range(k):
            model.set_mask(m)
            logits.append(model(x.float()).double())
        model.set_mask(shown)
        mean = torch.stack(logits).mean(0)
    xd = x.double()
    return float(torch.nn.functional.binary_cross_entropy_with_logits(mean, xd, reduction="none").sum(1).mean())


def test_only_the_log_mean_exp_ensemble_is_a_density():
    """Over all 2^D inputs the ensemble's probabilities sum to 1 (a mixture of K autoregressive models);
    a model made by averaging the masks' logits does not, so its 'NLL' is no likelihood at all."""
    d, k = 6, 4
    model = small_model(d=d, hidden=(20, 20), num_masks=k, order="random", seed=3)
    rng = np.random.default_rng(2)  # all pixels on or all off, with a little noise:
    x = np.repeat(rng.random((300, 1)) < 0.5, d, 1) ^ (rng.random((300, d)) < 0.05)  # strong dependencies
    Trainer(model, x.astype(np.uint8), TrainConfig(epochs=20, batch_size=30, lr=1e-2)).run()
    every = torch.tensor([[(i >> j) & 1 for j in range(d)] for i in range(2**d)], dtype=torch.float32)
    from made_viz.train import log_probs

    ensemble = torch.exp(log_probs(model, every, ensemble=k)).sum().item()
    assert ensemble == pytest.approx(1.0, abs=1e-6)
    single = torch.exp(log_probs(model, every)).sum().item()
    assert single == pytest.approx(1.0, abs=1e-6)
    per_input = [-averaged_logits_nll(model, every[i : i + 1], k) for i in range(2**d)]
    averaged = sum(math.exp(v) for v in per_input)
    assert abs(averaged - 1.0) > 1e-3, averaged


def test_resample_every_keeps_a_mask_for_several_steps():
    x = random_binary(400, 16)
    tr = Trainer(small_model(num_masks=5, order="random"), x, TrainConfig(epochs=1, batch_size=10, resample_every=4))
    masks = [r["mask"] for r in tr.step_chunk(max_steps=20) if r["kind"] == "step"]
    for start in range(0, 20, 4):
        assert len(set(masks[start : start + 4])) == 1


def test_divergence_restores_last_good_weights():
    x = random_binary(400, 16)
    model = small_model()
    tr = Trainer(model, x, TrainConfig(epochs=5, batch_size=20, lr=1e-2))
    tr.step_chunk(max_steps=5)
    good = weights(model)
    calls = {"n": 0}
    step = tr.optimizer.step

    def poisoned_step(*a, **k):
        out = step(*a, **k)
        calls["n"] += 1
        if calls["n"] == 3:  # a NaN appears after step 8
            with torch.no_grad():
                model.layers[0].weight[0, 0] = float("nan")
        return out

    tr.optimizer.step = poisoned_step
    with pytest.raises(TrainingDiverged) as info:
        tr.step_chunk(max_steps=50)
    message = str(info.value)
    assert "step 9" in message and "learning rate" in message and "\n" not in message
    assert info.value.step == 9
    assert tr.done and tr.stopped_reason == STOP_DIVERGED and tr.error == message
    assert same_weights(weights(model), good)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert tr.step_chunk(max_steps=5) == []


def test_divergence_of_injected_weights_between_chunks():
    x = random_binary(200, 16)
    model = small_model()
    tr = Trainer(model, x, TrainConfig(epochs=3, batch_size=20))
    tr.step_chunk(max_steps=3)
    good = weights(model)
    with torch.no_grad():
        model.layers[1].bias[0] = float("inf")
    with pytest.raises(TrainingDiverged, match="lower learning rate"):
        tr.run()
    assert same_weights(weights(model), good)


def test_early_stopping_with_patience_restores_best():
    # 12 random training vectors, a big network, a high learning rate: validation NLL gets worse
    train, valid = random_binary(12, 16, seed=1), random_binary(200, 16, seed=2)
    model = small_model(hidden=(256,))
    tr = Trainer(model, train, TrainConfig(epochs=300, batch_size=12, lr=3e-2, patience=3), valid_x=valid)
    tr.run()
    assert tr.stopped_reason == STOP_EARLY
    assert tr.epoch < 300 and tr.epoch == tr.best_epoch + 3
    assert tr.evaluate(valid) == pytest.approx(tr.best_valid_nll, abs=1e-5)
    assert tr.history[-1]["valid_nll"] > tr.best_valid_nll


def test_validation_split_is_deterministic_and_disjoint():
    a_tr, a_va = split_validation(100, 0.1, seed=4)
    b_tr, b_va = split_validation(100, 0.1, seed=4)
    assert torch.equal(a_tr, b_tr) and torch.equal(a_va, b_va) and len(a_va) == 10
    assert set(a_tr.tolist()).isdisjoint(a_va.tolist()) and len(a_tr) + len(a_va) == 100
    x = random_binary(100, 16)
    tr = Trainer(small_model(), x, TrainConfig(valid_fraction=0.2))
    assert tr.n_train == 80 and tr.valid_x.shape == (20, 16)
    tr0 = Trainer(small_model(), x, TrainConfig(valid_fraction=0.0, epochs=1))
    tr0.run()
    assert tr0.valid_x is None and tr0.history[0]["valid_nll"] is None


@pytest.mark.parametrize(
    "bad",
    [
        {"lr": float("nan")},
        {"lr": -1.0},
        {"lr": 0},
        {"epochs": 0},
        {"epochs": -1},
        {"batch_size": 0},
        {"valid_fraction": 1.0},
        {"patience": 0},
        {"resample_every": 0},
        {"seed": -1},
        {"weight_decay": -0.1},
        {"max_steps": 0},
        {"epochs": 2.5},
        {"lr": "fast"},
    ],
)
def test_train_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError):
        TrainConfig(**bad)


def test_train_config_round_trip():
    cfg = TrainConfig(lr=3e-4, patience=4, max_steps=100, resample_every=2)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({"learning_rate": 1})


def test_trainer_rejects_bad_data():
    with pytest.raises(ValueError, match="D = 16"):
        Trainer(small_model(), random_binary(50, 15), TrainConfig())
    with pytest.raises(ValueError, match="binary"):
        Trainer(small_model(), np.full((50, 16), 0.5), TrainConfig())
    with pytest.raises(ValueError, match="validation"):
        Trainer(small_model(), random_binary(50, 16), TrainConfig(valid_fraction=0, patience=2))


def test_independent_bernoulli_baseline_by_hand():
    train = np.array([[1, 0], [1, 1], [0, 0]], dtype=np.uint8)
    test = np.array([[1, 0]], dtype=np.uint8)
    p = np.array([(2 + 1) / 5, (1 + 1) / 5])
    expected = -(math.log(p[0]) + math.log(1 - p[1]))
    assert independent_bernoulli_nll(train, test) == pytest.approx(expected)


def test_evaluate_nll_is_batched_and_matches_log_prob():
    model = small_model()
    x = random_binary(250, 16)
    direct = -model.log_prob(torch.as_tensor(x, dtype=torch.float32)).double().mean().item()
    assert evaluate_nll(model, x, batch_size=64) == pytest.approx(direct, abs=1e-4)


def test_set_torch_threads():
    before = torch.get_num_threads()
    try:
        set_torch_threads(2)
        assert torch.get_num_threads() == 2
        set_torch_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError):
        set_torch_threads(0)
