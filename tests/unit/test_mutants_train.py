"""Exact checks of train.py that mutation testing (bench/mutation.sh) found missing: the epoch record's
keys and values (train NLL, bits per dimension, timing under a fake clock), the step record, the
subsampled step history, `run`'s callbacks, the divergence messages (epoch number at an epoch's
last step, a non-finite validation NLL) and the exact sentences of the refusals."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch

import made_viz.train as train_module
from made_viz.config import Config
from made_viz.model import MADE
from made_viz.train import TrainConfig, Trainer, TrainingDiverged, as_binary_tensor, set_torch_threads

EPOCH_KEYS = {
    "kind",
    "epoch",
    "step",
    "train_nll",
    "valid_nll",
    "train_bpd",
    "valid_bpd",
    "best_valid_nll",
    "seconds",
    "elapsed",
    "examples_per_s",
    "examples",
    "partial",
    "lr",
    "num_masks",
    "mask_counts",
    "mask_switches",
}


def _data(n=20, d=6, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, d)) < 0.4).astype(np.uint8)


def _model(d=6, **kw) -> MADE:
    return MADE(Config(d=d, hidden=(10,), **kw))


class FakeClock:
    """time.perf_counter for made_viz.train: every call advances one second, so each training step
    (two calls: before and after) takes exactly one second of 'training time'."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


def test_epoch_records_hold_exactly_these_values(monkeypatch):
    monkeypatch.setattr(train_module, "time", types.SimpleNamespace(perf_counter=FakeClock().perf_counter))
    x = _data(20)
    valid = _data(7, seed=1)
    trainer = Trainer(_model(num_masks=2), x, TrainConfig(epochs=2, batch_size=8, seed=3), valid_x=valid)
    records = trainer.step_chunk()
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert epochs == trainer.history and len(epochs) == 2
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5, 6]
    for s in steps:
        assert set(s) == {"kind", "step", "epoch", "loss", "mask"}
        assert s["epoch"] == (s["step"] - 1) // 3 + 1 and s["mask"] in (0, 1)
    batch_sizes = [8, 8, 4]  # 20 examples in batches of 8
    elapsed = 0.0
    for e, rec in enumerate(epochs):
        assert set(rec) == EPOCH_KEYS
        losses = [s["loss"] for s in steps[3 * e : 3 * e + 3]]
        train_nll = sum(loss * nb for loss, nb in zip(losses, batch_sizes)) / 20  # per example, not per batch
        assert rec["train_nll"] == pytest.approx(train_nll, rel=1e-12)
        assert rec["train_bpd"] == pytest.approx(train_nll / (6 * math.log(2)), rel=1e-12)
        assert rec["valid_bpd"] == pytest.approx(rec["valid_nll"] / (6 * math.log(2)), rel=1e-12)
        assert rec["examples"] == 20 and rec["partial"] is False and rec["step"] == 3 * (e + 1)
        assert rec["num_masks"] == 2 and sum(rec["mask_counts"]) == 3
        assert rec["mask_counts"] == [sum(s["mask"] == k for s in steps[3 * e : 3 * e + 3]) for k in (0, 1)]
        assert rec["best_valid_nll"] == min(r["valid_nll"] for r in epochs[: e + 1])
        assert rec["examples_per_s"] == pytest.approx(20 / 3)  # 3 steps of exactly one second each
        assert rec["seconds"] > 0
        elapsed += rec["seconds"]
        assert rec["elapsed"] == pytest.approx(elapsed)


def test_step_history_is_subsampled_to_multiples_of_the_stride(monkeypatch):
    """With at most 4 points: steps 1..5 keep [2, 4] (stride 2), ..10 keep [4, 8] (stride 4), ..20 keep [8, 16]."""
    monkeypatch.setattr(train_module, "MAX_STEP_POINTS", 4)
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=20, batch_size=20, valid_fraction=0))
    trainer.step_chunk(max_steps=5)
    assert [r["step"] for r in trainer.step_history] == [2, 4]
    trainer.step_chunk(max_steps=5)
    assert [r["step"] for r in trainer.step_history] == [4, 8]
    trainer.step_chunk()
    assert [r["step"] for r in trainer.step_history] == [8, 16]


def test_run_calls_back_with_the_trainer_after_every_chunk():
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=2, batch_size=10, valid_fraction=0))
    calls = []
    history = trainer.run(lambda t, records: calls.append((t, [r["step"] for r in records if r["kind"] == "step"])), 0)
    assert history == trainer.history and trainer.done
    # seconds_per_callback=0: every chunk is one step (a chunk always takes at least one)
    assert [steps for _, steps in calls] == [[1], [2], [3], [4]]
    assert all(t is trainer for t, _ in calls)


def _nan_forward(x):
    return torch.full_like(x, float("nan"))


def test_divergence_on_an_epochs_last_step_names_that_epoch():
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=3, batch_size=10, valid_fraction=0))
    trainer.step_chunk(max_steps=1)
    trainer.model.forward = _nan_forward  # step 2, the last of epoch 1, gives a NaN loss
    with pytest.raises(TrainingDiverged) as info:
        trainer.step_chunk()
    assert str(info.value) == (
        "Training diverged at step 2 (epoch 1): the loss became nan. The weights were restored to the last "
        "good ones (step 1). Try a lower learning rate than 0.001, e.g. 0.0001."
    )
    assert info.value.step == 2 and info.value.lr == 1e-3


def test_a_non_finite_validation_nll_is_a_divergence(monkeypatch):
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=3, batch_size=10), valid_x=_data(5, seed=1))
    monkeypatch.setattr(trainer, "evaluate", lambda x, ensemble=None: float("inf"))
    with pytest.raises(TrainingDiverged) as info:
        trainer.step_chunk()
    assert str(info.value).startswith(
        "Training diverged at step 2 (epoch 1): the validation NLL became non-finite. The weights were restored"
    )
    assert info.value.step == 2 and trainer.stopped_reason == "diverged"


def test_refusals_are_these_sentences():
    with pytest.raises(TypeError) as info:
        Trainer(_model(), _data(), {"epochs": 1})
    assert str(info.value) == "train_cfg must be a TrainConfig."
    with pytest.raises(ValueError) as info:
        Trainer(_model(), _data(), TrainConfig(valid_fraction=0, patience=2))
    assert str(info.value) == (
        "early stopping (patience) needs validation data: set valid_fraction > 0 or pass valid_x."
    )
    with pytest.raises(ValueError) as info:
        as_binary_tensor(np.full((2, 3), 0.5))
    assert str(info.value) == "data must be binary (only 0 and 1)."
    for bad in (True, 2.0, 0):
        with pytest.raises(ValueError, match="number of threads must be a whole number >= 1"):
            set_torch_threads(bad)


def test_mask_choices_come_from_the_trainers_own_generator():
    """The global torch generator, reseeded differently before each run, changes nothing."""
    runs = []
    for global_seed in (1, 2):
        trainer = Trainer(_model(num_masks=4), _data(40), TrainConfig(epochs=1, batch_size=4, valid_fraction=0))
        with torch.random.fork_rng():
            torch.manual_seed(global_seed)
            runs.append([r["mask"] for r in trainer.step_chunk() if r["kind"] == "step"])
    assert runs[0] == runs[1] and len(set(runs[0])) > 1
