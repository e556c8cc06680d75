"""Training MADE by maximum likelihood (Germain et al. 2015, sec. 3-5), independent of any UI.

    from made_viz.train import TrainConfig, Trainer
    trainer = Trainer(model, train_x, TrainConfig(epochs=20, patience=5))
    while not trainer.done:                  # a page: a few steps between redraws
        records = trainer.step_chunk(max_seconds=0.3)
    trainer.run()                            # a script: straight to the end

The loss of a minibatch is the average over its examples of -log p(x) = the sum over the D
conditionals of the binary cross-entropy (nats per example). With K > 1 masks (order- and
connectivity-agnostic training, sec. 4.2) a mask is drawn uniformly from the trainer's own
seeded generator every `resample_every` minibatches (1 = every minibatch, as in the paper).
Validation always uses mask 0; `evaluate(x, ensemble=k)` averages the *probabilities* of the
first k masks (log-mean-exp), never their logits. The recipe (weight decay, learning-rate
schedule, early stopping) is `recipe.TrainConfig`, re-exported here.

Divergence: the trainer alone keeps the last good weights. When a minibatch loss is NaN or
infinite, or above `explode_factor` x D ln 2 (when given: what a fair coin per pixel costs; Adam
with a huge learning rate blows up that way without reaching NaN), or a weight is non-finite at
the end of a chunk, the trainer restores the last good weights and optimizer state (copied at the end of
every chunk and epoch when all weights are finite), sets `stopped_reason = "diverged"`,
stores the message in `error`, and raises `TrainingDiverged` from `step_chunk`/`run`. A page
can simply do

    try:
        trainer.step_chunk(max_seconds=0.3)
    except TrainingDiverged as e:
        st.error(str(e))                     # one sentence: step, loss, a lower learning rate

and afterwards `trainer.done` is True and `trainer.error` still holds the message.

Deterministic on the CPU for a fixed `TrainConfig.seed` (shuffling, validation split and mask
choices come from private generators; the initial weights from the model's `Config.seed`), and
the result does not depend on how the run is cut into chunks.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .metrics import bits_per_dim
from .model import MADE
from .recipe import DEFAULTS, TrainConfig, learning_rate, lower_lr_advice, make_optimizer, set_learning_rate

__all__ = [
    "DEFAULTS",
    "STOP_DIVERGED",
    "STOP_EARLY",
    "STOP_FINISHED",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "as_binary_tensor",
    "evaluate_nll",
    "log_probs",
    "own_validation",
    "set_torch_threads",
    "split_validation",
]

STOP_FINISHED = "finished"
STOP_EARLY = "early stopping"
STOP_DIVERGED = "diverged"

EVAL_BATCH_SIZE = 2000  # examples per forward pass when evaluating (batched, no per-example loop)
MAX_STEP_POINTS = 4000  # `step_history` keeps at most about this many points (subsampled)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. The weights were restored to the last good ones."""

    def __init__(self, message: str, step: int, lr: float):
        super().__init__(message)
        self.step = step
        self.lr = lr


# ---------------------------------------------------------------------------------------------
# small helpers


def set_torch_threads(n: int | None) -> None:
    """Use at most n CPU threads for torch's intra-op parallelism (None: leave as is)."""
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"number of threads must be a whole number >= 1, got {n!r}.")
    torch.set_num_threads(n)


def as_binary_tensor(
    x: np.ndarray | torch.Tensor, d: int | None = None, what: str = "data", device: torch.device | str | None = None
) -> torch.Tensor:
    """A float32 (N, D) tensor of 0/1 values, checked once (clear ValueError otherwise)."""
    if isinstance(x, torch.Tensor):
        t = x.detach().to(device=device, dtype=torch.float32)
    else:
        t = torch.tensor(np.asarray(x), dtype=torch.float32, device=device)
    if t.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (examples x pixels), got shape {tuple(t.shape)}.")
    if t.shape[0] == 0:
        raise ValueError(f"{what} is empty.")
    if d is not None and t.shape[1] != d:
        raise ValueError(f"{what} has {t.shape[1]} pixels per example but the model has D = {d}.")
    if not bool(((t == 0) | (t == 1)).all()):
        raise ValueError(f"{what} must be binary (only 0 and 1).")
    return t.contiguous()


@torch.no_grad()
def log_probs(
    model: MADE, x: np.ndarray | torch.Tensor, ensemble: int | None = None, batch_size: int = EVAL_BATCH_SIZE
) -> torch.Tensor:
    """(N,) float64 log p(x) in nats, batched. ensemble None or 1: mask 0 alone; k > 1: the
    first k masks, log-mean-exp of their probabilities (`MADE.log_prob_ensemble`)."""
    k = 1 if ensemble is None else int(ensemble)
    x = as_binary_tensor(x, model.cfg.d, device=model.device)
    was_training = model.training
    model.eval()
    try:
        parts = [
            model.log_prob_ensemble(x[i : i + batch_size], masks=k).double() for i in range(0, x.shape[0], batch_size)
        ]
    finally:
        model.train(was_training)
    return torch.cat(parts)


def evaluate_nll(
    model: MADE, x: np.ndarray | torch.Tensor, ensemble: int | None = None, batch_size: int = EVAL_BATCH_SIZE
) -> float:
    """Average negative log-likelihood in nats per example (see `log_probs`)."""
    return float(-log_probs(model, x, ensemble, batch_size).mean())


def own_validation(dataset) -> np.ndarray | None:
    """The data set's own validation split (`dataset.valid`, e.g. binarized MNIST's 10,000), if it
    has one: a trainer given it uses it instead of carving one from the training split."""
    valid = getattr(dataset, "valid", None)
    return valid if isinstance(valid, np.ndarray) and valid.ndim == 2 and len(valid) else None


def split_validation(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic (train_idx, valid_idx) for n examples: a seeded permutation, the last
    round(n * fraction) examples (at least 1 when fraction > 0) for validation."""
    if fraction <= 0:
        return torch.arange(n), torch.arange(0)
    if n < 2:
        raise ValueError(f"cannot carve a validation split from {n} example(s); use valid_fraction=0.")
    n_valid = min(max(1, round(n * fraction)), n - 1)
    gen = torch.Generator().manual_seed(int(seed) + 7919)
    perm = torch.randperm(n, generator=gen)
    return perm[: n - n_valid].sort().values, perm[n - n_valid :].sort().values


# ---------------------------------------------------------------------------------------------


class Trainer:
    """Minibatch Adam on -log p(x) of a MADE; steppable in chunks, stoppable at any time.

    Args:
        model: the MADE to train (trained in place, on its own device).
        train_x: (N, D) binary training data (numpy or torch).
        train_cfg: the hyper-parameters (default `TrainConfig()`).
        valid_x: validation data; None = carve `valid_fraction` of train_x deterministically.
        explode_factor: a minibatch loss above this x D ln 2 counts as divergence (None: only
            NaN/infinite losses do, as in a script; the Train page passes 10).

    Attributes / properties: `done`, `epoch` (finished epochs), `step`, `history` (one dict per
    epoch), `step_history` (per-step loss, subsampled to about MAX_STEP_POINTS),
    `best_valid_nll`, `stopped_reason` ("finished" | "early stopping" | "diverged" | None),
    `error` (the divergence message or None), `steps_per_epoch`, `total_steps`, `progress`.
    """

    def __init__(
        self,
        model: MADE,
        train_x: np.ndarray | torch.Tensor,
        train_cfg: TrainConfig | None = None,
        valid_x: np.ndarray | torch.Tensor | None = None,
        explode_factor: float | None = None,
    ):
        self.model = model
        self.cfg = train_cfg if train_cfg is not None else TrainConfig()
        if not isinstance(self.cfg, TrainConfig):
            raise TypeError("train_cfg must be a TrainConfig.")
        self.train_x, self.valid_x = self._split(train_x, valid_x)
        if self.cfg.patience is not None and self.valid_x is None:
            raise ValueError("early stopping (patience) needs validation data: set valid_fraction > 0 or pass valid_x.")
        self.n_train = self.train_x.shape[0]
        self.batch_size = min(self.cfg.batch_size, self.n_train)
        self.steps_per_epoch = math.ceil(self.n_train / self.batch_size)
        planned = self.cfg.epochs * self.steps_per_epoch
        self.total_steps = planned if self.cfg.max_steps is None else min(planned, self.cfg.max_steps)
        self._explode_factor = explode_factor
        self._max_loss = None if explode_factor is None else explode_factor * model.cfg.d * math.log(2)
        self._lr = learning_rate(self.cfg, 0)

        self.optimizer = make_optimizer(model.parameters(), self.cfg)
        self._shuffle_gen = torch.Generator().manual_seed(self.cfg.seed)
        self._mask_gen = torch.Generator().manual_seed(self.cfg.seed + 104729)
        self._d = model.cfg.d
        self._num_masks = model.num_masks
        self._train_mask = 0

        # progress
        self._step = 0
        self._epoch = 0  # finished epochs
        self._perm: torch.Tensor | None = None
        self._pos = 0  # examples done in the current epoch
        self._epoch_loss_sum = 0.0  # sum over examples of -log p(x) this epoch
        self._epoch_train_seconds = 0.0
        self._epoch_wall_start = 0.0
        self._epoch_mask_counts = [0] * self._num_masks
        self._epoch_switches = 0
        self._elapsed = 0.0
        self.history: list[dict] = []
        self.step_history: list[dict] = []
        self._step_stride = 1
        self.best_valid_nll: float | None = None
        self.best_epoch: int | None = None
        self._best_state: dict | None = None
        self._epochs_since_best = 0
        self.stopped_reason: str | None = None
        self.error: str | None = None
        self._good = self._snapshot()

    def _split(self, train_x, valid_x) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(training, validation) tensors: the given validation set, else `valid_fraction` of
        train_x carved off deterministically (None when the fraction is 0)."""
        device, d = self.model.device, self.model.cfg.d
        x = as_binary_tensor(train_x, d, "training data", device)
        if valid_x is not None:
            return x, as_binary_tensor(valid_x, d, "validation data", device)
        tr_idx, va_idx = split_validation(x.shape[0], self.cfg.valid_fraction, self.cfg.seed)
        if not len(va_idx):
            return x, None
        return x[tr_idx.to(device)].contiguous(), x[va_idx.to(device)].contiguous()

    # --- public state ------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.stopped_reason is not None

    @property
    def epoch(self) -> int:
        """Number of finished epochs."""
        return self._epoch

    @property
    def step(self) -> int:
        """Number of minibatch steps taken."""
        return self._step

    @property
    def progress(self) -> float:
        """Fraction of the planned steps done (1.0 once stopped)."""
        return 1.0 if self.done else self._step / max(self.total_steps, 1)

    @property
    def last_good_step(self) -> int:
        """Step at which the weights that a divergence would restore were copied."""
        return self._good["step"]

    def evaluate(self, x: np.ndarray | torch.Tensor, ensemble: int | None = None) -> float:
        """Average NLL of x in nats per example: mask 0 (ensemble None/1) or the log-mean-exp of
        the probabilities of the first `ensemble` masks."""
        return evaluate_nll(self.model, x, ensemble)

    # --- stepping ----------------------------------------------------------------------------------
    def step_chunk(
        self,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[dict]:
        """Advance by up to `max_steps` minibatch steps and/or about `max_seconds` of wall time
        (at least one step unless done; neither limit: to the end). `should_stop`, asked before
        every step, ends the chunk early (another thread pressed Stop: the chunk ends after the
        step in flight, not after its time is up). Returns the records made:
        {"kind": "step", step, epoch, loss, mask} per step and the epoch dict (as in `history`,
        "kind": "epoch") whenever an epoch ends. Raises TrainingDiverged (see module doc)."""
        if max_steps is not None and (isinstance(max_steps, bool) or max_steps < 0):
            raise ValueError(f"max_steps must be >= 0, got {max_steps!r}.")
        if self.done or max_steps == 0:
            return []
        records: list[dict] = []
        model = self.model
        user_mask, was_training = model.mask_index, model.training
        model.train()
        if self._num_masks > 1 and model.mask_index != self._train_mask:
            model.set_mask(self._train_mask)
        t_start = time.perf_counter()
        n = 0
        try:
            while not self.done:
                if max_steps is not None and n >= max_steps:
                    break
                if max_seconds is not None and n > 0 and time.perf_counter() - t_start >= max_seconds:
                    break
                if should_stop is not None and should_stop():
                    break
                records.append(self._train_step())
                n += 1
                if self._pos >= self.n_train or self._step >= self.total_steps:
                    records.append(self._end_epoch())
            self._remember_if_finite()
        finally:
            if self._num_masks > 1 and model.mask_index != user_mask:
                model.set_mask(user_mask)
            model.train(was_training)
        return records

    def run(
        self, callback: Callable[[Trainer, list[dict]], Any] | None = None, seconds_per_callback: float = 0.5
    ) -> list[dict]:
        """Train to the end; returns `history`. With a callback, it is called as
        callback(trainer, records) about every `seconds_per_callback` seconds (progress bars)."""
        while not self.done:
            if callback is None:
                self.step_chunk(max_steps=self.steps_per_epoch)
            else:
                callback(self, self.step_chunk(max_seconds=seconds_per_callback))
        return self.history

    # --- internals ---------------------------------------------------------------------------------
    def _start_epoch(self) -> None:
        self._lr = learning_rate(self.cfg, self._epoch)
        set_learning_rate(self.optimizer, self._lr)
        self._perm = torch.randperm(self.n_train, generator=self._shuffle_gen).to(self.train_x.device)
        self._pos = 0
        self._epoch_loss_sum = 0.0
        self._epoch_train_seconds = 0.0
        self._epoch_wall_start = time.perf_counter()
        self._epoch_mask_counts = [0] * self._num_masks
        self._epoch_switches = 0

    def _choose_mask(self) -> None:
        if self._num_masks > 1 and self._step % self.cfg.resample_every == 0:
            k = int(torch.randint(self._num_masks, (1,), generator=self._mask_gen))
            if k != self._train_mask:
                self._epoch_switches += 1
            self._train_mask = k
            if self.model.mask_index != k:
                self.model.set_mask(k)

    def _train_step(self) -> dict:
        if self._perm is None:
            self._start_epoch()
        t0 = time.perf_counter()
        self._choose_mask()
        idx = self._perm[self._pos : self._pos + self.batch_size]
        xb = self.train_x.index_select(0, idx)
        nb = xb.shape[0]
        loss = F.binary_cross_entropy_with_logits(self.model(xb), xb, reduction="sum") / nb
        value = loss.item()  # the one sync per step: divergence check
        if not math.isfinite(value):
            self._diverge(f"the loss became {value}", self._step + 1)
        if self._max_loss is not None and value > self._max_loss:
            self._diverge(self._explosion(value), self._step + 1)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._step += 1
        self._pos += nb
        self._epoch_loss_sum += value * nb
        self._epoch_mask_counts[self._train_mask] += 1
        self._epoch_train_seconds += time.perf_counter() - t0
        rec = {"kind": "step", "step": self._step, "epoch": self._epoch + 1, "loss": value, "mask": self._train_mask}
        self._record_step(rec)
        return rec

    def _explosion(self, loss: float) -> str:
        """Adam with a huge learning rate often blows up without ever reaching NaN: a loss far above
        what a fair coin per pixel costs (D ln 2) counts as divergence too."""
        coin = self._d * math.log(2)
        return (
            f"the loss jumped to {loss:.4g} nats per example, more than {self._explode_factor:g} times "
            f"what a fair coin per pixel costs (D ln 2 = {coin:.1f})"
        )

    def _record_step(self, rec: dict) -> None:
        if self._step % self._step_stride == 0:
            self.step_history.append(rec)
            if len(self.step_history) > MAX_STEP_POINTS:
                self._step_stride *= 2
                self.step_history = [r for r in self.step_history if r["step"] % self._step_stride == 0]

    def _end_epoch(self) -> dict:
        seen = self._pos
        partial = seen < self.n_train
        self._epoch += 1
        train_nll = self._epoch_loss_sum / seen
        valid_nll = self.evaluate(self.valid_x) if self.valid_x is not None else None
        if valid_nll is not None and not math.isfinite(valid_nll):
            self._diverge("the validation NLL became non-finite", self._step)
        improved = valid_nll is not None and (self.best_valid_nll is None or valid_nll < self.best_valid_nll)
        if improved:
            self.best_valid_nll, self.best_epoch, self._epochs_since_best = valid_nll, self._epoch, 0
            if self.cfg.restore_best:
                self._best_state = _copy_state(self.model.state_dict())
        elif valid_nll is not None:
            self._epochs_since_best += 1
        seconds = time.perf_counter() - self._epoch_wall_start
        self._elapsed += seconds
        rec = {
            "kind": "epoch",
            "epoch": self._epoch,
            "step": self._step,
            "train_nll": train_nll,
            "valid_nll": valid_nll,
            "train_bpd": bits_per_dim(train_nll, self._d),
            "valid_bpd": bits_per_dim(valid_nll, self._d),
            "best_valid_nll": self.best_valid_nll,
            "seconds": seconds,
            "elapsed": self._elapsed,
            "examples_per_s": seen / max(self._epoch_train_seconds, 1e-9),
            "examples": seen,
            "partial": partial,
            "lr": self._lr,
            "num_masks": self._num_masks,
            "mask_counts": list(self._epoch_mask_counts),
            "mask_switches": self._epoch_switches,
        }
        self.history.append(rec)
        self._perm = None
        if self.cfg.patience is not None and self._epochs_since_best >= self.cfg.patience:
            self._finish(STOP_EARLY)
        elif self._epoch >= self.cfg.epochs or self._step >= self.total_steps:
            self._finish(STOP_FINISHED)
        else:
            self._remember_if_finite()
        return rec

    def _finish(self, reason: str) -> None:
        if self.cfg.restore_best and self._best_state is not None:
            self._load_weights(self._best_state)
        self.stopped_reason = reason

    def _load_weights(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load a copied state_dict, keeping the currently active mask (a state_dict also
        carries the mask buffers of the moment it was copied)."""
        mask_index = self.model.mask_index
        self.model.load_state_dict(state)
        self.model.set_mask(mask_index)

    # --- divergence -------------------------------------------------------------------------------
    def _snapshot(self) -> dict:
        return {
            "step": self._step,
            "model": _copy_state(self.model.state_dict()),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }

    def _remember_if_finite(self) -> None:
        if self._good["step"] == self._step:
            return
        if all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            self._good = self._snapshot()
        else:
            self._diverge("a weight became non-finite", self._step)

    def _diverge(self, what: str, step: int) -> None:
        good = self._good
        self._load_weights(good["model"])
        self.optimizer.load_state_dict(good["optimizer"])
        self.stopped_reason = STOP_DIVERGED
        lr = self.cfg.lr
        epoch = max(step - 1, 0) // self.steps_per_epoch + 1
        self.error = (
            f"Training diverged at step {step} (epoch {epoch}): {what}. "
            f"The weights were restored to the last good ones (step {good['step']}). " + lower_lr_advice(lr)
        )
        self._perm = None
        raise TrainingDiverged(self.error, step, lr)


def _copy_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}
