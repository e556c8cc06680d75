"""The training recipe: the hyper-parameters of a run (`TrainConfig`), the optimizer they make and
the learning rate they give each epoch. No training loop here (that is `train.Trainer`).

The defaults live in one place, the field defaults of `TrainConfig`; the command line and the
Train page read them from there, so changing a default is a one-line change.

Weight decay is Adam's own L2 penalty (`torch.optim.Adam(weight_decay=...)`: `weight_decay * w`
is added to the gradient before Adam's scaling), not AdamW's decoupled decay. That is the recipe of
the reference PyTorch re-implementation of MADE (Adam 1e-3, weight decay 1e-4, the learning rate
divided by 10 every 45 epochs), whose figures this project compares itself with, so the same
numbers mean the same thing here.

Learning-rate schedules (the rate used during epoch e, counting from 0, of E planned epochs):
* "none":   lr;
* "step":   lr / 10 ** (e // lr_step_epochs): divided by 10 every `lr_step_epochs` epochs
            (torch's StepLR with gamma 0.1, as the reference recipe);
* "cosine": lr * (1 + cos(pi e / E)) / 2: from lr down towards 0 over the planned epochs.
The rate changes only between epochs, so the result does not depend on how a run is cut into chunks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import torch

from .config import ConfigError

LR_SCHEDULES = ("none", "step", "cosine")
STEP_FACTOR = 10.0  # the "step" schedule divides the learning rate by this


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (validated; round-trips through a JSON dict)."""

    lr: float = 1e-3  # Adam learning rate (at the start, see lr_schedule)
    batch_size: int = 100
    epochs: int = 10
    valid_fraction: float = 0.1  # carved from the training data when no validation set is given
    patience: int | None = None  # early stopping: epochs without a better validation NLL; None = off
    resample_every: int = 1  # minibatches between mask switches when K > 1 (1 = paper)
    seed: int = 0  # shuffling, validation split, mask choices
    weight_decay: float = 0.0  # Adam's L2 penalty (see the module doc: not AdamW)
    max_steps: int | None = None  # stop after this many minibatch steps in total
    restore_best: bool = True  # at the end, keep the weights with the best validation NLL
    lr_schedule: str = "none"  # "none" | "step" | "cosine" (see the module doc)
    lr_step_epochs: int = 45  # the "step" schedule divides the rate by 10 every this many epochs

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        _check_real(self.lr, "learning rate", positive=True)
        _check_int(self.batch_size, "batch size", 1)
        _check_int(self.epochs, "number of epochs", 1)
        _check_real(self.valid_fraction, "validation fraction")
        if not 0 <= self.valid_fraction < 1:
            raise ConfigError(f"validation fraction must be in [0, 1), got {self.valid_fraction!r}.")
        if self.patience is not None:
            _check_int(self.patience, "patience (epochs)", 1)
        _check_int(self.resample_every, "resample_every (steps between mask switches)", 1)
        _check_int(self.seed, "seed", 0)
        if self.seed >= 2**63:
            raise ConfigError(f"seed is too large: {self.seed}.")
        _check_real(self.weight_decay, "weight decay")
        if self.weight_decay < 0:
            raise ConfigError(f"weight decay must be 0 or positive, got {self.weight_decay!r}.")
        if self.max_steps is not None:
            _check_int(self.max_steps, "max_steps", 1)
        if not isinstance(self.restore_best, bool):
            raise ConfigError(f"restore_best must be true or false, got {self.restore_best!r}.")
        if not isinstance(self.lr_schedule, str) or self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(
                f"learning-rate schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}."
            )
        _check_int(self.lr_step_epochs, "epochs between learning-rate steps", 1)

    def replace(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Inverse of `to_dict`; unknown keys and wrong types give a ConfigError. Keys missing
        (a checkpoint written before a setting existed) take today's defaults."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a training configuration must be a mapping, got {type(data).__name__}.")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown training setting(s): {', '.join(map(str, unknown))}.")
        try:
            return cls(**dict(data))
        except TypeError as e:
            raise ConfigError(f"invalid training configuration: {e}") from None


def _check_int(v: Any, what: str, low: int) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ConfigError(f"{what} must be a whole number, got {v!r}.")
    if v < low:
        raise ConfigError(f"{what} must be at least {low}, got {v}.")


def _check_real(v: Any, what: str, positive: bool = False) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{what} must be a number, got {v!r}.")
    try:
        finite = math.isfinite(v)
    except OverflowError:  # an integer too large for a float (e.g. from a JSON file)
        finite = False
    if not finite:
        raise ConfigError(f"{what} must be a finite number, got {str(v)[:40]}.")
    if positive and v <= 0:
        raise ConfigError(f"{what} must be positive, got {v!r}.")


DEFAULTS = TrainConfig()  # what a run uses unless told otherwise (the CLI's defaults read these)


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """The learning rate of epoch `epoch` (0-based) under `cfg.lr_schedule` (see the module doc)."""
    if cfg.lr_schedule == "step":
        return cfg.lr / STEP_FACTOR ** (epoch // cfg.lr_step_epochs)
    if cfg.lr_schedule == "cosine":
        return cfg.lr * (1 + math.cos(math.pi * min(epoch, cfg.epochs) / cfg.epochs)) / 2
    return cfg.lr


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam with Adam's L2 weight decay; the fused single-kernel implementation when this torch
    build has it."""
    try:
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def lower_lr_advice(lr: float) -> str:
    """The one sentence every divergence message ends with."""
    return f"Try a lower learning rate than {lr:g}, e.g. {lr / 10:g}."
