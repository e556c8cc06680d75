"""Exact checks of train.py that mutation testing (bench/mutation.sh) found missing: the epoch record's
keys and values (train NLL, bits per dimension, timing under a fake clock), the step record, the
subsampled step history, `run`'s callbacks, the divergence messages (epoch number at an epoch's
last step, a non-finite validation NLL) and the exact sentences of the refusals; then (the full run)
chunk and epoch timing on a clock that only moves during optimizer steps, `should_stop`, the training
mask in force at every step and the shown mask restored after every chunk, batched evaluation, the
validation split's edge sizes, `own_validation`, the explosion and non-finite-weight divergences (exact
sentences), a tie with the best validation NLL, and a stopped trainer staying put; then a tensor of any dtype made
float32, `explode_factor` counted in coins of ln 2 nats, and every step kept while the step history has room;
then (all 614 mutants) the refusals naming the training or the validation data, the device asked for, the default
recipe, mask switches, the learning-rate schedule, the optimizer state a divergence restores, and a loss exactly at
the explosion limit."""

from __future__ import annotations

import copy
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


# --- further survivors of the full run (model, sampling, train, recipe) ------------------------------


class StepClock:
    """time.perf_counter for made_viz.train that stands still except during the optimizer's step, which
    takes exactly `per_step` seconds: the timing of a chunk or an epoch does not depend on how often the
    trainer reads the clock."""

    def __init__(self, trainer: Trainer, per_step: float, start: float = 100.0):
        self.now = start
        step = trainer.optimizer.step

        def timed_step(*args, **kwargs):
            out = step(*args, **kwargs)
            self.now += per_step
            return out

        trainer.optimizer.step = timed_step

    def perf_counter(self) -> float:
        return self.now


def _use_clock(monkeypatch, perf_counter) -> None:
    monkeypatch.setattr(train_module, "time", types.SimpleNamespace(perf_counter=perf_counter))


def _steps(records) -> list[int]:
    return [r["step"] for r in records if r["kind"] == "step"]


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_epoch_seconds_and_speed_are_measured_on_the_training_clock(monkeypatch):
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=2, batch_size=8, valid_fraction=0))
    _use_clock(monkeypatch, StepClock(trainer, 0.25).perf_counter)
    first, second = trainer.run()
    # 3 steps of 0.25 s per epoch: 0.75 s, 20 examples / 0.75 s (under a second: no floor of 1 s)
    assert first["seconds"] == 0.75 and second["seconds"] == 0.75
    assert first["elapsed"] == 0.75 and second["elapsed"] == 1.5
    assert first["examples_per_s"] == pytest.approx(20 / 0.75) and second["examples_per_s"] == pytest.approx(20 / 0.75)


def test_a_chunk_ends_at_the_first_step_at_or_after_max_seconds(monkeypatch):
    trainer = Trainer(_model(), _data(40), TrainConfig(epochs=1, batch_size=2, valid_fraction=0))
    _use_clock(monkeypatch, StepClock(trainer, 0.25).perf_counter)
    assert _steps(trainer.step_chunk(max_seconds=1.0)) == [1, 2, 3, 4]
    assert _steps(trainer.step_chunk(max_seconds=0.5)) == [5, 6]


def test_max_seconds_0_is_one_step_even_when_the_clock_has_not_moved(monkeypatch):
    _use_clock(monkeypatch, lambda: 100.0)  # a coarse clock: no time seems to pass
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=1, batch_size=2, valid_fraction=0))
    assert _steps(trainer.step_chunk(max_seconds=0)) == [1]
    # and a limit that is never reached: to the end of training
    assert _steps(trainer.step_chunk(max_seconds=5)) == list(range(2, 11)) and trainer.done


def test_run_calls_back_every_half_second_of_training_by_default(monkeypatch):
    trainer = Trainer(_model(), _data(16), TrainConfig(epochs=1, batch_size=2, valid_fraction=0))
    _use_clock(monkeypatch, StepClock(trainer, 0.25).perf_counter)
    calls = []
    trainer.run(lambda t, records: calls.append(_steps(records)))
    assert calls == [[1, 2], [3, 4], [5, 6], [7, 8]]


def test_should_stop_ends_the_chunk_and_returns_its_records():
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=1, batch_size=2, valid_fraction=0))
    asked = []
    records = trainer.step_chunk(should_stop=lambda: asked.append(1) or len(asked) > 2)
    assert _steps(records) == [1, 2] and len(asked) == 3
    assert trainer.step == 2 and trainer.last_good_step == 2 and not trainer.done


def test_max_steps_refusal_is_this_sentence():
    trainer = Trainer(_model(), _data(), TrainConfig(valid_fraction=0))
    for bad, shown in ((-1, "-1"), (True, "True")):
        with pytest.raises(ValueError) as info:
            trainer.step_chunk(max_steps=bad)
        assert str(info.value) == f"max_steps must be >= 0, got {shown}."


def _active_mask(model) -> int | None:
    """Which mask the layers really hold (read from the mask buffers, not from `mask_index`)."""
    for k in range(model.num_masks):
        if all(
            np.array_equal(layer.mask.numpy().T.astype(bool), m)
            for layer, m in zip(model.layers, model.mask_set(k).masks)
        ):
            return k
    return None


def test_every_step_trains_with_the_mask_its_record_names_and_the_shown_mask_comes_back():
    """K = 2, a new mask every 3 steps, one step per chunk, a page showing mask 1 between chunks."""
    model = _model(num_masks=2)
    assert model.mask_set(0).masks[0].tolist() != model.mask_set(1).masks[0].tolist()
    trainer = Trainer(model, _data(24), TrainConfig(epochs=1, batch_size=2, resample_every=3, valid_fraction=0))
    used = []
    forward = model.forward

    def spy(x):
        used.append(_active_mask(model))
        return forward(x)

    model.forward = spy
    model.set_mask(1)
    records = []
    while not trainer.done:
        records += trainer.step_chunk(max_steps=1)
        assert model.mask_index == 1 and _active_mask(model) == 1
    named = [r["mask"] for r in records if r["kind"] == "step"]
    assert len(named) == 12 and set(named) == {0, 1}  # mask 0 was trained on, at steps that do not resample
    assert used == named


def test_evaluate_nll_feeds_the_model_batches_of_at_most_batch_size():
    model = _model()
    x = _data(7)
    sizes = []
    ensemble = model.log_prob_ensemble

    def spy(xb, masks=None):
        sizes.append(xb.shape[0])
        return ensemble(xb, masks=masks)

    model.log_prob_ensemble = spy
    nll = train_module.evaluate_nll(model, x, batch_size=3)
    assert sizes == [3, 3, 1]
    xt = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        by_hand = torch.nn.functional.binary_cross_entropy_with_logits(model(xt), xt, reduction="none").sum(1)
    assert nll == pytest.approx(by_hand.double().mean().item(), abs=1e-5)


def test_own_validation_is_a_non_empty_2d_array_or_none():
    valid = _data(3)
    assert train_module.own_validation(types.SimpleNamespace(train=_data(5), valid=valid)) is valid
    assert train_module.own_validation(types.SimpleNamespace(train=_data(5))) is None  # no `valid` at all
    for bad in (None, valid[0], valid[:0], valid.tolist()):
        assert train_module.own_validation(types.SimpleNamespace(valid=bad)) is None


def test_split_validation_sizes_at_the_edges():
    def sizes(n, fraction):
        tr, va = train_module.split_validation(n, fraction, seed=0)
        assert sorted(tr.tolist() + va.tolist()) == list(range(n))
        return len(tr), len(va)

    assert sizes(2, 0.5) == (1, 1)  # two examples are enough
    assert sizes(100, 0.001) == (99, 1)  # round(0.1) = 0, but at least one
    assert sizes(10, 0.99) == (1, 9)  # round(9.9) = 10, but at least one left to train on
    assert sizes(10, 0.3) == (7, 3)
    with pytest.raises(ValueError) as info:
        train_module.split_validation(1, 0.5, seed=0)
    assert str(info.value) == "cannot carve a validation split from 1 example(s); use valid_fraction=0."


def _zero_forward(model):
    """Logits 0 for every pixel (a fair coin: exactly ln 2 nats a pixel), still differentiable."""
    forward = model.forward
    return lambda x: torch.zeros_like(x) + 0 * forward(x)


def _coin_divergence(model, explode_factor: float, epochs: int = 1) -> tuple[Trainer, pytest.ExceptionInfo]:
    """One step of `model` forced to logits 0 (D ln 2 nats) under `explode_factor`: the trainer and the
    divergence it raised."""
    trainer = Trainer(
        model, _data(8), TrainConfig(epochs=epochs, batch_size=8, valid_fraction=0), explode_factor=explode_factor
    )
    model.forward = _zero_forward(model)
    with pytest.raises(TrainingDiverged) as info:
        trainer.step_chunk()
    return trainer, info


def _coin_sentence(factor: float) -> str:
    return (
        f"Training diverged at step 1 (epoch 1): the loss jumped to 4.159 nats per example, more than {factor} times "
        "what a fair coin per pixel costs (D ln 2 = 4.2). The weights were restored to the last good ones "
        "(step 0). Try a lower learning rate than 0.001, e.g. 0.0001."
    )


def test_a_loss_above_explode_factor_coins_is_a_divergence_with_this_sentence():
    model = _model()  # D = 6: a fair coin per pixel costs 6 ln 2 = 4.159 nats
    before = _weights(model)
    trainer, info = _coin_divergence(model, 0.5)
    assert str(info.value) == _coin_sentence(0.5)
    assert info.value.step == 1 and trainer.error == str(info.value) and trainer.stopped_reason == "diverged"
    assert _same_weights(_weights(model), before) and model.mask_index == 0
    # below the limit (4.159 < 1.5 x 4.159): training goes on
    calm = Trainer(_model(), _data(8), TrainConfig(epochs=2, batch_size=8, valid_fraction=0), explode_factor=1.5)
    calm.model.forward = _zero_forward(calm.model)
    assert _steps(calm.step_chunk()) == [1, 2] and calm.stopped_reason == "finished"


def test_a_weight_made_non_finite_by_a_chunks_last_step_is_a_divergence_and_ends_training():
    model = _model()
    trainer = Trainer(model, _data(20), TrainConfig(epochs=2, batch_size=4, valid_fraction=0))  # 5 steps an epoch
    trainer.step_chunk(max_steps=2)
    good = _weights(model)
    step = trainer.optimizer.step

    def poisoned_step(*args, **kwargs):
        out = step(*args, **kwargs)
        with torch.no_grad():
            model.layers[0].weight[0, 0] = float("nan")
        return out

    trainer.optimizer.step = poisoned_step
    with pytest.raises(TrainingDiverged) as info:
        trainer.step_chunk(max_steps=1)  # step 3's loss is fine; its update is not
    assert str(info.value) == (
        "Training diverged at step 3 (epoch 1): a weight became non-finite. The weights were restored to the "
        "last good ones (step 2). Try a lower learning rate than 0.001, e.g. 0.0001."
    )
    assert info.value.step == 3 and trainer.last_good_step == 2
    assert _same_weights(_weights(model), good) and model.mask_index == 0
    # a stopped trainer stays put: no steps, and the restored weights are still those of step 2
    assert trainer.step_chunk(max_steps=5) == [] and trainer.step_chunk() == []
    assert trainer.last_good_step == 2 and trainer.step == 3 and trainer.error == str(info.value)


def test_divergence_on_an_epochs_first_step_names_the_new_epoch():
    model = _model()
    trainer = Trainer(model, _data(20), TrainConfig(epochs=3, batch_size=10, valid_fraction=0))  # 2 steps an epoch
    trainer.step_chunk(max_steps=2)
    good = _weights(model)
    model.forward = _nan_forward  # step 3, the first of epoch 2, gives a NaN loss
    with pytest.raises(TrainingDiverged) as info:
        trainer.step_chunk()
    assert str(info.value) == (
        "Training diverged at step 3 (epoch 2): the loss became nan. The weights were restored to the last "
        "good ones (step 2). Try a lower learning rate than 0.001, e.g. 0.0001."
    )
    assert _same_weights(_weights(model), good) and model.mask_index == 0


def test_a_validation_nll_that_only_ties_the_best_is_no_improvement(monkeypatch):
    model = _model()
    trainer = Trainer(model, _data(20), TrainConfig(epochs=10, batch_size=10, patience=2), valid_x=_data(5, seed=1))
    monkeypatch.setattr(trainer, "evaluate", lambda x, ensemble=None: 1.5)
    trainer.step_chunk(max_steps=trainer.steps_per_epoch)
    after_epoch_1 = _weights(model)
    trainer.run()
    assert trainer.stopped_reason == "early stopping" and trainer.epoch == 3 and trainer.best_epoch == 1
    assert [r["best_valid_nll"] for r in trainer.history] == [1.5, 1.5, 1.5]
    assert _same_weights(_weights(model), after_epoch_1) and model.mask_index == 0  # the best restored, mask 0 kept


# --- the sample's further survivors --------------------------------------------------------------------


def test_as_binary_tensor_gives_float32_for_a_tensor_of_any_dtype():
    for dtype in (torch.uint8, torch.bool, torch.int64, torch.float64):
        t = as_binary_tensor(torch.tensor([[0, 1, 1], [1, 0, 0]]).to(dtype))
        assert t.dtype == torch.float32 and t.tolist() == [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]


def test_explode_factor_counts_fair_coins_of_ln_2_nats_a_pixel():
    """Logits 0 cost exactly D ln 2 = 4.159 nats: above 0.9 coins (3.743), though below 0.9 x D ln 3 (5.93)."""
    _, info = _coin_divergence(_model(), 0.9, epochs=2)
    assert str(info.value) == _coin_sentence(0.9)


def test_step_history_keeps_every_step_while_it_has_room():
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=1, batch_size=4, valid_fraction=0))  # 5 steps
    records = trainer.step_chunk(max_steps=3)
    assert _steps(trainer.step_history) == [1, 2, 3] and trainer.step_history == records


# --- the 49 new survivors of the full run of all 614 mutants -----------------------------------------


def test_as_binary_tensor_refusals_are_these_sentences_and_one_example_is_enough():
    with pytest.raises(ValueError) as info:
        as_binary_tensor(np.zeros(3))
    assert str(info.value) == "data must be a 2-D array (examples x pixels), got shape (3,)."
    with pytest.raises(ValueError) as info:
        as_binary_tensor(np.zeros((0, 6)), what="training data")
    assert str(info.value) == "training data is empty."  # no examples: refused, whatever D is
    assert as_binary_tensor(np.array([[1, 0, 1]]), d=3).tolist() == [[1.0, 0.0, 1.0]]  # one example is data


def test_as_binary_tensor_puts_the_data_on_the_device_asked_for_whatever_torchs_default_device():
    """A GPU user may have called torch.set_default_device; the `device` argument still wins. Shown here
    with the meta device as the default (this machine has no GPU)."""
    x = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    with torch.device("meta"):
        t = as_binary_tensor(x, device="cpu")
    assert t.device == torch.device("cpu") and t.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_trainer_refusals_name_the_training_or_the_validation_data():
    with pytest.raises(ValueError) as info:
        Trainer(_model(), np.zeros((0, 6)), TrainConfig(valid_fraction=0))
    assert str(info.value) == "training data is empty."
    with pytest.raises(ValueError) as info:
        Trainer(_model(), _data(20, d=5), TrainConfig(valid_fraction=0))
    assert str(info.value) == "training data has 5 pixels per example but the model has D = 6."
    with pytest.raises(ValueError) as info:  # checked when the trainer is made, not at the first evaluation
        Trainer(_model(), _data(20), TrainConfig(), valid_x=_data(4, d=5))
    assert str(info.value) == "validation data has 5 pixels per example but the model has D = 6."
    with pytest.raises(ValueError) as info:
        Trainer(_model(), _data(20), TrainConfig(), valid_x=np.full((3, 6), 2))
    assert str(info.value) == "validation data must be binary (only 0 and 1)."


def test_a_new_trainer_uses_the_default_recipe_and_has_no_error_and_no_best_epoch():
    trainer = Trainer(_model(), _data(20))
    assert trainer.cfg == TrainConfig()
    assert trainer.error is None and trainer.best_epoch is None and trainer.best_valid_nll is None
    assert trainer.stopped_reason is None and trainer.step == 0 and trainer.epoch == 0 and trainer.history == []
    plain = Trainer(_model(), _data(20), TrainConfig(epochs=2, batch_size=10, valid_fraction=0))
    plain.run()
    assert plain.stopped_reason == "finished" and plain.error is None and plain.best_epoch is None


def test_mask_switches_count_the_steps_that_train_with_another_mask_than_the_step_before():
    """K = 4, a new draw every step; the training mask is 0 before the first step. K = 1: never a switch."""
    trainer = Trainer(
        _model(num_masks=4), _data(24), TrainConfig(epochs=2, batch_size=2, resample_every=1, valid_fraction=0)
    )
    records = trainer.step_chunk()
    masks = [r["mask"] for r in records if r["kind"] == "step"]
    changed = [m != prev for prev, m in zip([0, *masks], masks)]
    expected = [sum(changed[:12]), sum(changed[12:])]  # 12 steps an epoch
    assert min(expected) >= 2 and expected != [12 - s for s in expected]  # preconditions: switches and repeats
    assert [r["mask_switches"] for r in trainer.history] == expected
    counts = [[masks[12 * e : 12 * e + 12].count(k) for k in range(4)] for e in (0, 1)]
    assert [r["mask_counts"] for r in trainer.history] == counts
    single = Trainer(_model(), _data(12), TrainConfig(epochs=2, batch_size=2, valid_fraction=0))
    single.run()
    assert [(r["mask_switches"], r["mask_counts"]) for r in single.history] == [(0, [6]), (0, [6])]


def test_each_epoch_trains_with_its_scheduled_learning_rate():
    """ "step" schedule, lr 0.01 divided by 10 every 2 epochs: 0.01, 0.01, 0.001, 0.001, 0.0001."""
    trainer = Trainer(
        _model(),
        _data(20),
        TrainConfig(lr=0.01, lr_schedule="step", lr_step_epochs=2, epochs=5, batch_size=20, valid_fraction=0),
    )
    used = []
    step = trainer.optimizer.step

    def spy(*args, **kwargs):
        used.append(trainer.optimizer.param_groups[0]["lr"])
        return step(*args, **kwargs)

    trainer.optimizer.step = spy
    trainer.run()
    expected = [0.01, 0.01, 0.001, 0.001, 0.0001]
    assert used == pytest.approx(expected, rel=1e-12)
    assert [r["lr"] for r in trainer.history] == pytest.approx(expected, rel=1e-12)


def test_step_history_holds_max_step_points_before_it_is_thinned(monkeypatch):
    monkeypatch.setattr(train_module, "MAX_STEP_POINTS", 4)
    trainer = Trainer(_model(), _data(20), TrainConfig(epochs=20, batch_size=20, valid_fraction=0))
    trainer.step_chunk(max_steps=4)
    assert _steps(trainer.step_history) == [1, 2, 3, 4]  # 4 points: still room
    trainer.step_chunk(max_steps=1)
    assert _steps(trainer.step_history) == [2, 4]  # a fifth: every second step kept


def test_a_divergence_restores_the_optimizer_state_of_the_last_good_step():
    """The copy at the end of a chunk (step 2) must not follow Adam's later in-place updates (step 3)."""
    model = _model()
    trainer = Trainer(model, _data(20), TrainConfig(epochs=2, batch_size=4, valid_fraction=0))  # 5 steps an epoch
    trainer.step_chunk(max_steps=2)
    good_weights = _weights(model)
    good = copy.deepcopy(trainer.optimizer.state_dict())
    forward = model.forward
    calls = []

    def nan_at_second_call(x):
        calls.append(1)
        return forward(x) if len(calls) == 1 else _nan_forward(x)

    model.forward = nan_at_second_call  # step 3 trains, step 4 gives a NaN loss
    with pytest.raises(TrainingDiverged) as info:
        trainer.step_chunk()
    assert info.value.step == 4 and trainer.last_good_step == 2 and trainer.step == 3
    restored = trainer.optimizer.state_dict()["state"]
    assert restored.keys() == good["state"].keys() and len(restored) == len(list(model.parameters()))
    for k, state in good["state"].items():
        assert float(state["step"]) == 2.0 and float(restored[k]["step"]) == 2.0  # Adam counts 2 steps again
        assert state.keys() == restored[k].keys()
        assert all(torch.equal(restored[k][name], value) for name, value in state.items())
    assert _same_weights(_weights(model), good_weights)


def test_a_loss_exactly_at_explode_factor_coins_is_not_yet_a_divergence():
    """Logits +200 cost exactly 200 nats for a 0 pixel and 0 nats (in float32) for a 1 pixel: every example
    below has one 0, so the loss is exactly 200.0. The limit is explode_factor x 6 ln 2."""
    x = 1 - np.eye(6, dtype=np.uint8)

    def at_200(model):
        forward = model.forward
        return lambda xb: torch.full_like(xb, 200.0) + 0 * forward(xb)

    factor = 200 / (6 * math.log(2))
    assert factor * 6 * math.log(2) == 200.0  # precondition: the limit is exactly 200.0
    trainer = Trainer(_model(), x, TrainConfig(epochs=2, batch_size=6, valid_fraction=0), explode_factor=factor)
    trainer.model.forward = at_200(trainer.model)
    records = trainer.step_chunk()
    assert [r["loss"] for r in records if r["kind"] == "step"] == [200.0, 200.0]
    assert trainer.stopped_reason == "finished"
    below = float(np.nextafter(factor, 0))
    assert below * 6 * math.log(2) < 200.0
    tight = Trainer(_model(), x, TrainConfig(epochs=2, batch_size=6, valid_fraction=0), explode_factor=below)
    tight.model.forward = at_200(tight.model)
    with pytest.raises(TrainingDiverged, match="the loss jumped to 200 nats per example"):
        tight.step_chunk()
