"""The training recipe (made_viz.recipe): Adam's L2 weight decay checked against a hand computation,
learning-rate schedules, keeping the last weights, a data set's own validation split, and mask
resampling that does not depend on how a run is cut into chunks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from made_viz.config import Config, ConfigError
from made_viz.data import Dataset
from made_viz.model import MADE
from made_viz.recipe import DEFAULTS, LR_SCHEDULES, TrainConfig, learning_rate
from made_viz.train import STOP_EARLY, Trainer, own_validation
from made_viz.training_run import LocalRun as TrainingRun  # reads the in-process trainer


def random_binary(n, d, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, d)) < 0.3).astype(np.uint8)


# --- weight decay ---------------------------------------------------------------------------------


def hand_adam(model: MADE, x: np.ndarray, steps: int, lr: float, wd: float) -> dict[str, torch.Tensor]:
    """Adam with L2 weight decay written out (Kingma & Ba 2015, with `wd * w` added to the gradient),
    in float64, on the whole data set as one minibatch (so shuffling does not matter)."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    b1, b2, eps = 0.9, 0.999, 1e-8
    params = {k: p.detach().double().clone() for k, p in model.named_parameters()}
    m = {k: torch.zeros_like(p) for k, p in params.items()}
    v = {k: torch.zeros_like(p) for k, p in params.items()}
    for t in range(1, steps + 1):
        with torch.no_grad():
            for k, p in model.named_parameters():
                p.copy_(params[k].float())
        model.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(xt), xt, reduction="sum") / len(x)
        loss.backward()
        for k, p in model.named_parameters():
            g = p.grad.double() + wd * params[k]
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            m_hat, v_hat = m[k] / (1 - b1**t), v[k] / (1 - b2**t)
            params[k] = params[k] - lr * m_hat / (v_hat.sqrt() + eps)
    return params


def trained_weights(x: np.ndarray, steps: int, lr: float, wd: float) -> dict[str, torch.Tensor]:
    model = MADE(Config(d=6, hidden=(5,), seed=1))
    Trainer(model, x, TrainConfig(lr=lr, weight_decay=wd, batch_size=len(x), valid_fraction=0, epochs=steps)).run()
    return {k: p.detach().double() for k, p in model.named_parameters()}


def test_weight_decay_is_adams_l2_penalty_by_hand():
    x = random_binary(40, 6, seed=4)
    lr, wd, steps = 0.05, 0.5, 4
    got = trained_weights(x, steps, lr, wd)
    expected = hand_adam(MADE(Config(d=6, hidden=(5,), seed=1)), x, steps, lr, wd)
    for k in expected:
        assert torch.allclose(got[k], expected[k], atol=2e-5), k
    without = trained_weights(x, steps, lr, 0.0)
    assert not torch.allclose(got["layers.0.weight"], without["layers.0.weight"], atol=1e-3)
    # a weight its mask cuts has no gradient: only the decay moves it (Adam's steps of about lr each,
    # towards 0; a small one may overshoot), so with decay they shrink on the whole
    model = MADE(Config(d=6, hidden=(5,), seed=1))
    cut = model.layers[0].mask == 0
    start = model.layers[0].weight.detach().double()
    assert cut.any()
    assert torch.equal(without["layers.0.weight"][cut], start[cut])
    assert not torch.equal(got["layers.0.weight"][cut], start[cut])
    assert got["layers.0.weight"][cut].abs().sum() < 0.5 * start[cut].abs().sum()


def test_adamw_would_fail_the_hand_computation():
    """The hand computation tells Adam's L2 from AdamW's decoupled decay (so the test above means it)."""
    x = random_binary(40, 6, seed=4)
    model = MADE(Config(d=6, hidden=(5,), seed=1))
    opt = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.5)
    xt = torch.as_tensor(x, dtype=torch.float32)
    for _ in range(4):
        opt.zero_grad()
        (F.binary_cross_entropy_with_logits(model(xt), xt, reduction="sum") / len(x)).backward()
        opt.step()
    expected = hand_adam(MADE(Config(d=6, hidden=(5,), seed=1)), x, 4, 0.05, 0.5)
    assert not torch.allclose(model.layers[0].weight.detach().double(), expected["layers.0.weight"], atol=1e-3)


# --- learning-rate schedules ------------------------------------------------------------------------


def test_schedule_values_at_given_epochs():
    step = TrainConfig(lr=1e-3, lr_schedule="step", lr_step_epochs=45, epochs=100)
    assert [learning_rate(step, e) for e in (0, 44, 45, 89, 90, 99)] == pytest.approx(
        [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5]
    )
    cos = TrainConfig(lr=2e-3, lr_schedule="cosine", epochs=10)
    assert learning_rate(cos, 0) == pytest.approx(2e-3)
    assert learning_rate(cos, 5) == pytest.approx(1e-3)
    assert learning_rate(cos, 9) == pytest.approx(1e-3 * (1 + math.cos(math.pi * 0.9)))
    assert learning_rate(cos, 10) == pytest.approx(0.0, abs=1e-15)
    none = TrainConfig(lr=3e-3, epochs=10)
    assert {learning_rate(none, e) for e in range(10)} == {3e-3}
    assert DEFAULTS.lr_schedule in LR_SCHEDULES
    with pytest.raises(ConfigError, match="schedule"):
        TrainConfig(lr_schedule="exponential")
    with pytest.raises(ConfigError):
        TrainConfig(lr_step_epochs=0)


def test_trainer_uses_the_schedule_each_epoch_whatever_the_chunks():
    x = random_binary(60, 8)
    cfg = TrainConfig(lr=1e-2, lr_schedule="step", lr_step_epochs=2, epochs=5, batch_size=20, valid_fraction=0)
    tr = Trainer(MADE(Config(d=8, hidden=(6,))), x, cfg)
    seen = []
    while not tr.done:
        tr.step_chunk(max_steps=2)
        seen.append(tr.optimizer.param_groups[0]["lr"])
    assert [h["lr"] for h in tr.history] == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3, 1e-4])
    assert seen[0] == pytest.approx(1e-2) and seen[-1] == pytest.approx(1e-4)
    one = Trainer(MADE(Config(d=8, hidden=(6,))), x, cfg)
    one.run()
    assert all(torch.equal(a, b) for a, b in zip(tr.model.parameters(), one.model.parameters()))


# --- early stopping and restore_best ------------------------------------------------------------


def overfitting_run(restore_best: bool) -> Trainer:
    train, valid = random_binary(12, 16, seed=1), random_binary(200, 16, seed=2)
    tr = Trainer(
        MADE(Config(d=16, hidden=(256,))),
        train,
        TrainConfig(epochs=300, batch_size=12, lr=3e-2, patience=3, restore_best=restore_best),
        valid_x=valid,
    )
    tr.run()
    return tr


def test_restore_best_false_keeps_the_last_weights():
    last, best = overfitting_run(False), overfitting_run(True)
    assert last.stopped_reason == best.stopped_reason == STOP_EARLY
    assert [h["valid_nll"] for h in last.history] == [h["valid_nll"] for h in best.history]  # same training
    valid = random_binary(200, 16, seed=2)
    assert last.evaluate(valid) == pytest.approx(last.history[-1]["valid_nll"], abs=1e-5)
    assert last.evaluate(valid) > last.best_valid_nll + 1e-3
    assert best.evaluate(valid) == pytest.approx(best.best_valid_nll, abs=1e-5)


# --- the data set's own validation split --------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WithValid(Dataset):
    valid: np.ndarray | None = None


def test_a_data_sets_own_validation_split_is_used():
    train, valid, test = random_binary(90, 16, seed=1), random_binary(30, 16, seed=2), random_binary(20, 16, seed=3)
    ds = WithValid("tiny", train, test, (4, 4), "three splits", valid=valid)
    assert own_validation(ds) is valid
    assert own_validation(Dataset("tiny", train, test, (4, 4), "two splits")) is None
    run = TrainingRun(Config(d=16, shape=(4, 4), hidden=(8,)), ds, TrainConfig(epochs=1, valid_fraction=0.5))
    run.start()
    assert run.trainer.n_train == 90  # nothing carved from the training split
    assert torch.equal(run.trainer.valid_x, torch.as_tensor(valid, dtype=torch.float32))


# --- masks across chunk boundaries ----------------------------------------------------------------


def test_mask_resampling_does_not_restart_at_chunk_boundaries():
    x = random_binary(300, 16)
    cfg = TrainConfig(epochs=2, batch_size=10, resample_every=3, seed=2)

    def masks(chunk: int | None) -> list[int]:
        tr = Trainer(MADE(Config(d=16, hidden=(12,), num_masks=5, order="random")), x, cfg)
        out = []
        while not tr.done:
            recs = tr.step_chunk(max_steps=chunk)
            out += [r["mask"] for r in recs if r["kind"] == "step"]
        return out

    whole, in_twos = masks(None), masks(2)
    assert len(whole) == len(in_twos) == 2 * 27
    assert in_twos == whole
    for start in range(0, len(whole), 3):  # a mask is kept for 3 steps, across chunks
        assert len(set(whole[start : start + 3])) == 1
    assert len(set(whole)) >= 3


@pytest.mark.parametrize(
    "kw, says",
    [
        ({"lr": 10**400}, "learning rate must be a finite number"),  # a huge integer from a JSON file
        ({"weight_decay": -(10**400)}, "weight decay must be a finite number"),
        ({"lr_schedule": np.array(["step", "cosine"])}, "learning-rate schedule must be one of"),
        ({"lr_schedule": ["step"]}, "learning-rate schedule must be one of"),
    ],
)
def test_bad_training_values_of_any_type_are_a_config_error(kw, says):
    """The mutation run found two values that escaped as OverflowError (math.isfinite of a huge int) and
    ValueError (the truth value of an array): a settings file must get the one sentence, a ConfigError."""
    from made_viz.recipe import TrainConfig

    with pytest.raises(ConfigError, match=says):
        TrainConfig(**kw)
    with pytest.raises(ConfigError, match=says):
        TrainConfig.from_dict({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in kw.items()})
