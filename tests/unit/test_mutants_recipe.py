"""Exact checks of recipe.py that mutation testing (bench/mutation.sh) found missing: every refusal
of a bad setting is its own sentence, the smallest allowed values are allowed, `replace` returns a
validated copy, the optimizer is Adam with the recipe's settings (fused when torch has it) and steps
as Adam with L2 decay, and the optimizer without torch's fused Adam has the same learning rate and
weight decay."""

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


def test_replace_returns_a_validated_copy_with_only_the_changes():
    cfg = TrainConfig(lr=0.5, epochs=3, seed=7)
    new = cfg.replace(epochs=8, lr_schedule="cosine")
    assert new == TrainConfig(lr=0.5, epochs=8, seed=7, lr_schedule="cosine")
    assert (cfg.epochs, cfg.lr_schedule) == (3, "none")  # the original is untouched
    assert cfg.replace() == cfg
    with pytest.raises(ConfigError) as info:
        cfg.replace(epochs=0)
    assert str(info.value) == "number of epochs must be at least 1, got 0."


def test_from_dict_turns_a_type_error_into_this_sentence():
    """A key that equals a setting's name without being a string passes the unknown-key check, then
    Python refuses it as a keyword: the refusal is a ConfigError carrying Python's own reason."""

    class NotAString:
        def __hash__(self):
            return hash("lr")

        def __eq__(self, other):
            return other == "lr"

    def takes_keywords(**kw):
        return kw

    with pytest.raises(TypeError) as python_says:
        takes_keywords(**{NotAString(): 0.5})
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({NotAString(): 0.5})
    assert str(info.value) == f"invalid training configuration: {python_says.value}"


def _fused_adam_available(param) -> bool:
    """Whether this torch build has the fused Adam for such a parameter (asked of torch directly)."""
    try:
        torch.optim.Adam([param], fused=True)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


def test_the_optimizer_is_adam_with_the_recipes_settings_fused_when_torch_has_it():
    weights = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.zeros(2, 2))]
    opt = make_optimizer(iter(weights), TrainConfig(lr=0.25, weight_decay=0.5))
    assert type(opt) is torch.optim.Adam  # Adam's L2 penalty, not AdamW (a subclass of Adam)
    [group] = opt.param_groups
    assert group["params"] == weights
    assert (group["lr"], group["weight_decay"]) == (0.25, 0.5)
    assert (group["betas"], group["eps"], group["amsgrad"]) == ((0.9, 0.999), 1e-8, False)
    assert bool(group["fused"]) == _fused_adam_available(torch.nn.Parameter(torch.ones(1)))


def test_the_optimizers_steps_are_adam_with_l2_decay_at_the_configured_rate():
    """Two steps on w = (1, -2) with the constant gradient (0.3, 0.1), lr 0.25, weight decay 0.5,
    against Adam written out (Kingma & Ba, with `wd * w` added to the gradient)."""
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = make_optimizer([w], TrainConfig(lr=0.25, weight_decay=0.5))
    lr, wd, b1, b2, eps = 0.25, 0.5, 0.9, 0.999, 1e-8
    grad = np.array([0.3, 0.1])
    expected, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for t in (1, 2):
        w.grad = torch.tensor(grad, dtype=torch.float32)
        opt.step()
        g = grad + wd * expected
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        expected = expected - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
