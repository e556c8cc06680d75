"""Exact checks of recipe.py that mutation testing (bench/mutation.sh) found missing: every refusal
of a bad setting is its own sentence, the smallest allowed values are allowed, and the optimizer
without torch's fused Adam has the same learning rate and weight decay."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from made_viz.config import ConfigError
from made_viz.recipe import TrainConfig, make_optimizer


@pytest.mark.parametrize(
    ("bad", "sentence"),
    [
        ({"lr": 0}, "learning rate must be positive, got 0."),
        ({"lr": float("nan")}, "learning rate must be a finite number, got nan."),
        ({"lr": "fast"}, "learning rate must be a number, got 'fast'."),
        ({"lr": True}, "learning rate must be a number, got True."),
        ({"batch_size": 0}, "batch size must be at least 1, got 0."),
        ({"batch_size": 2.0}, "batch size must be a whole number, got 2.0."),
        ({"epochs": 0}, "number of epochs must be at least 1, got 0."),
        ({"valid_fraction": 1}, "validation fraction must be in [0, 1), got 1."),
        ({"valid_fraction": -0.5}, "validation fraction must be in [0, 1), got -0.5."),
        ({"valid_fraction": None}, "validation fraction must be a number, got None."),
        ({"patience": 0}, "patience (epochs) must be at least 1, got 0."),
        ({"resample_every": 0}, "resample_every (steps between mask switches) must be at least 1, got 0."),
        ({"seed": -1}, "seed must be at least 0, got -1."),
        ({"seed": 2**63}, "seed is too large: 9223372036854775808."),
        ({"weight_decay": -0.1}, "weight decay must be 0 or positive, got -0.1."),
        ({"weight_decay": "x"}, "weight decay must be a number, got 'x'."),
        ({"max_steps": 0}, "max_steps must be at least 1, got 0."),
        ({"restore_best": 1}, "restore_best must be true or false, got 1."),
        ({"lr_schedule": "exp"}, "learning-rate schedule must be one of none, step, cosine, got 'exp'."),
        ({"lr_step_epochs": 0}, "epochs between learning-rate steps must be at least 1, got 0."),
    ],
)
def test_each_bad_setting_gets_its_own_sentence(bad, sentence):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**bad)
    assert str(info.value) == sentence


def test_the_smallest_allowed_values_are_allowed():
    cfg = TrainConfig(
        lr=np.float32(1e-3),
        batch_size=np.int64(1),
        epochs=1,
        valid_fraction=0,
        patience=1,
        resample_every=1,
        seed=2**63 - 1,
        weight_decay=0,
        max_steps=1,
        lr_step_epochs=1,
    )
    assert (cfg.batch_size, cfg.epochs, cfg.patience, cfg.max_steps, cfg.weight_decay) == (1, 1, 1, 1, 0)
    assert TrainConfig(seed=0).seed == 0


def test_from_dict_refusals_are_these_sentences():
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict([("lr", 1e-3)])
    assert str(info.value) == "a training configuration must be a mapping, got list."
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({"lr": 1e-3, "momentum": 0.9, "beta": 1})
    assert str(info.value) == "unknown training setting(s): beta, momentum."
    assert TrainConfig.from_dict({"lr": 0.5, "epochs": 3}) == TrainConfig(lr=0.5, epochs=3)


def test_without_fused_adam_the_optimizer_keeps_the_learning_rate_and_weight_decay(monkeypatch):
    """Some torch builds refuse fused=True: the plain Adam that replaces it has the same settings."""
    real_adam = torch.optim.Adam

    def adam_without_fused(params, **kw):
        if kw.pop("fused", None):
            raise RuntimeError("fused Adam is not supported on this build")
        return real_adam(params, **kw)

    monkeypatch.setattr(torch.optim, "Adam", adam_without_fused)
    weight = torch.nn.Parameter(torch.ones(2))
    opt = make_optimizer([weight], TrainConfig(lr=0.25, weight_decay=0.5))
    group = opt.param_groups[0]
    assert isinstance(opt, real_adam) and not group["fused"]
    assert (group["lr"], group["weight_decay"]) == (0.25, 0.5)
    assert group["params"] == [weight]
