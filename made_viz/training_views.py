"""What the Train and Sample pages read from a training run, whichever process trains it.

`RunViews` turns a run's model, its trainer's counters and history into the progress bar's numbers, the
curves, the test NLL, a peek at the model and a checkpoint file. It is shared by the two kinds of run:
`training_run.LocalRun` (the trainer lives in this process) and `training_process.ProcessRun` (the trainer
lives in a worker process; what it reads is a `worker_protocol.TrainerMirror` of it, kept up to date by the
progress the worker streams back). The views only read `self.cfg`, `self.dataset`, `self.train_cfg`,
`self.model`, `self.trainer`, `self.state`, `self.version`, `self.source` and the counters, and hold
`self._lock` while they use the model, so they work the same on both.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from .config import Config
from .curves import Reference, reference_lines
from .data import Dataset
from .metrics import bits_per_dim, independent_bernoulli_nll
from .train import evaluate_nll

IDLE, RUNNING, PAUSED, STOPPED, DONE, DIVERGED = "idle", "running", "paused", "stopped", "done", "diverged"
STATES = (IDLE, RUNNING, PAUSED, STOPPED, DONE, DIVERGED)
FINISHED = (STOPPED, DONE, DIVERGED)  # terminal: only reset() leaves them
EXPLODE_FACTOR = 10.0  # a minibatch loss above this x D ln 2 counts as divergence
MAX_CURVE_POINTS = 600  # training-curve points sent to the browser


@dataclass(frozen=True)
class Snapshot:
    """What the model does right now (for the page's small live panel)."""

    version: int
    samples: np.ndarray  # (n, D) 0/1 from the fast exact sampler
    image: np.ndarray | None  # (D,) one validation image ...
    probs: np.ndarray | None  # (D,) ... and p(x_d = 1 | pixels before d) for it
    mask: int  # the mask used (the one training is using now)


class RunViews:
    """The read side of a training run (see the module doc for what it needs from the run)."""

    # --- state ----------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the page should keep calling `advance`."""
        return self.state == RUNNING

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def stopping(self) -> bool:
        """Stopped, the final step count not yet known (a run trained elsewhere, see ProcessRun.stop)."""
        return False

    step_error: str | None = None  # why the worker could not take the last "+N steps" (ProcessRun)

    @property
    def stepping(self) -> bool:
        """Whether the steps of a "+N steps" are still being taken (a run trained elsewhere: ProcessRun)."""
        return False

    def _reset_views(self) -> None:
        self.version = 0  # bumped whenever the weights or history change
        self.train_seconds = 0.0  # wall time spent inside training chunks
        self.examples = 0  # training examples processed
        self._recent: deque[tuple[int, float]] = deque(maxlen=8)  # (examples, seconds) of recent chunks
        self._loaded_history: list[dict] = []
        self._eval: tuple[int, dict] | None = None
        self._ckpt: tuple[int, bytes] | None = None
        self._snap: Snapshot | None = None
        self._snap_time = 0.0
        self._refs: list[Reference] | None = None

    @classmethod
    def from_checkpoint(cls, ck, dataset: Dataset | None = None, source: str = "checkpoint"):
        """A finished run (of either backend) holding a loaded `checkpoint.Checkpoint` (its model and history)."""
        if dataset is not None and dataset.d != ck.config.d:
            dataset = None
        run = cls(ck.config, dataset, ck.train_cfg)
        run.model = ck.model
        run._loaded_history = [h for h in ck.history if isinstance(h, dict)]
        run.state = DONE
        run.source = source
        run.message = f"Loaded {source}."
        run.version = 1
        run._seed_evaluation(ck)
        return run

    # --- a checkpoint's test NLLs ----------------------------------------------------------------
    def _seed_evaluation(self, ck) -> None:
        """Reuse the test NLLs the command line recorded in the checkpoint (evaluating a big
        model with K masks takes seconds) when they are for this very test set."""
        extra, data, ds = ck.extra or {}, ck.data or {}, self.dataset
        one, ens = extra.get("test_nll"), extra.get("test_nll_ensemble")
        if ens is None and self.cfg.num_masks == 1:
            ens = one
        if (
            ds is None
            or not (is_finite_number(one) and is_finite_number(ens))
            or data.get("name") != ds.name
            or data.get("n_test") != ds.n_test
            or data.get("d") != ds.d
        ):
            return
        self._eval = (self.version, self._evaluation_record(float(one), float(ens), ds.n_test))

    def _evaluation_record(self, one: float, ens: float, n_test: int) -> dict:
        d = self.cfg.d
        return dict(
            nll_1=one,
            nll_ensemble=ens,
            K=self.cfg.num_masks,
            bpd_1=bits_per_dim(one, d),
            bpd_ensemble=bits_per_dim(ens, d),
            n_test=n_test,
        )

    # --- progress -------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        return self.trainer.step if self.trainer else 0

    @property
    def has_model(self) -> bool:
        """A model worth keeping: loaded, or trained for at least one (good) step."""
        return self.model is not None and (self.trainer is None or self.trainer.last_good_step > 0)

    @property
    def history(self) -> list[dict]:
        """One dict per finished epoch (see train.Trainer.history)."""
        return self.trainer.history if self.trainer else self._loaded_history

    @property
    def examples_per_s(self) -> float | None:
        """Training speed over the last few chunks."""
        recent = list(self._recent)
        n = sum(e for e, _ in recent)
        s = sum(t for _, t in recent)
        return n / s if s > 0 else None

    @property
    def active_mask(self) -> int:
        """The mask training uses now (K > 1 switches masks between minibatches)."""
        if self.trainer and self.trainer.step_history:
            return int(self.trainer.step_history[-1].get("mask", 0))
        return self.model.mask_index if self.model is not None else 0

    def progress(self) -> dict:
        """Numbers for the progress bar."""
        tr = self.trainer
        if tr is None:
            epochs = len(self._loaded_history)
            return dict(
                state=self.state,
                epoch=epochs,
                epochs=self.train_cfg.epochs,
                step=0,
                total_steps=0,
                fraction=1.0 if self.finished else 0.0,
                examples_per_s=None,
                seconds=0.0,
            )
        current = tr.epoch if tr.done else min(tr.epoch + 1, self.train_cfg.epochs)
        return dict(
            state=self.state,
            epoch=current,
            epochs=self.train_cfg.epochs,
            step=tr.step,
            total_steps=tr.total_steps,
            fraction=1.0 if self.state == DONE else tr.progress,
            examples_per_s=self.examples_per_s,
            seconds=self.train_seconds,
        )

    # --- curves ---------------------------------------------------------------------------------
    def train_points(self) -> list[tuple[float, float]]:
        """(epoch, training NLL) pairs: the per-minibatch loss, smoothed (a trailing moving
        average over about half an epoch) and thinned to at most MAX_CURVE_POINTS."""
        tr = self.trainer
        if tr is None:
            return [
                (h["epoch"], h["train_nll"])
                for h in self._loaded_history
                if is_finite_number(h.get("train_nll")) and "epoch" in h
            ]
        hist = list(tr.step_history)
        if not hist:
            return []
        steps = np.array([r["step"] for r in hist], dtype=float)
        loss = np.array([r["loss"] for r in hist], dtype=float)
        stride = steps[1] - steps[0] if len(steps) > 1 else 1.0
        window = int(max(1, min(50, round(tr.steps_per_epoch / 2 / stride))))
        csum = np.concatenate([[0.0], np.cumsum(loss)])
        idx = np.arange(1, len(loss) + 1)
        start = np.maximum(0, idx - window)
        smooth = (csum[idx] - csum[start]) / (idx - start)  # trailing moving average
        keep = np.unique(np.linspace(0, len(loss) - 1, min(len(loss), MAX_CURVE_POINTS)).round().astype(int))
        x = steps / tr.steps_per_epoch
        return [(float(x[i]), float(smooth[i])) for i in keep]

    def valid_points(self) -> list[tuple[float, float]]:
        """(epoch, validation NLL) for every finished epoch."""
        return [
            (float(h["epoch"]), float(h["valid_nll"]))
            for h in list(self.history)
            if is_finite_number(h.get("valid_nll")) and "epoch" in h
        ]

    def references(self) -> list[Reference]:
        """Independent-Bernoulli NLL of the test data (fitted on the training data) and, for
        generated data, the exact entropy."""
        if self._refs is None:
            ds = self.dataset
            self._refs = [] if ds is None else reference_lines(independent_bernoulli_nll(ds.train, ds.test), ds.entropy)
        return self._refs

    # --- evaluation -----------------------------------------------------------------------------
    def cached_evaluation(self) -> dict | None:
        """`evaluate()`'s result if it is up to date, else None (never computes)."""
        cached = self._eval
        return cached[1] if cached is not None and cached[0] == self.version else None

    def evaluate(self) -> dict | None:
        """Test NLL (nats per example) with mask 0 and with the ensemble of all K masks
        (log-mean-exp of their probabilities). Cached until the weights change. None without
        a model or test data."""
        with self._lock:
            if self.model is None or self.dataset is None:
                return None
            cached = self.cached_evaluation()
            if cached is not None:
                return cached
            k, test = self.cfg.num_masks, self.dataset.test
            one = evaluate_nll(self.model, test)
            ens = evaluate_nll(self.model, test, ensemble=k) if k > 1 else one
            self._eval = (self.version, self._evaluation_record(one, ens, len(test)))
            return self._eval[1]

    # --- a peek at the model --------------------------------------------------------------------
    def snapshot(self, n: int = 8, max_age: float = 3.0, seed: int = 0) -> Snapshot | None:
        """A few samples (fast exact sampler, fixed random numbers so only learning changes
        them) and the conditionals of one validation image, recomputed at most every
        `max_age` seconds while the weights change."""
        snap = self._snap
        if snap is not None and (snap.version == self.version or time.monotonic() - self._snap_time < max_age):
            return snap
        with self._lock:
            if self.model is None:
                return None
            self._snap = self._peek(n, seed)
            self._snap_time = time.monotonic()
            return self._snap

    def _peek(self, n: int, seed: int) -> Snapshot:
        """Samples and one image's conditionals under the mask training uses (the lock is held)."""
        from . import sample

        mask, model = self.active_mask, self.model
        was_training, active = model.training, model.mask_index
        model.eval()
        try:
            traj = sample(model, n=n, seed=seed, method="fast", mask=mask)
            samples = traj.x.cpu().numpy().astype(np.uint8)
            image = self._one_validation_image()
            probs = None
            if image is not None:
                with torch.no_grad():
                    model.set_mask(mask)
                    probs = torch.sigmoid(model(torch.as_tensor(image[None], dtype=torch.float32)))[0].numpy()
        finally:
            if model.mask_index != active:
                model.set_mask(active)
            model.train(was_training)
        return Snapshot(self.version, samples, image, probs, mask)

    def _one_validation_image(self) -> np.ndarray | None:
        if self.trainer is not None and self.trainer.valid_x is not None:
            return self.trainer.valid_x[0].cpu().numpy()
        if self.dataset is not None:
            return np.asarray(self.dataset.test[0], dtype=np.float32)
        return None

    # --- a checkpoint ---------------------------------------------------------------------------
    def checkpoint_bytes(self) -> bytes:
        """The model, its history, data and settings as a checkpoint file (cached)."""
        from .checkpoint import checkpoint_bytes

        with self._lock:
            if self.model is None:
                raise ValueError("there is no model to save yet.")
            if self._ckpt is None or self._ckpt[0] != self.version:
                data = None
                if self.dataset is not None:
                    data = self.dataset.to_dict()
                    data["source"] = self.dataset.name
                extra = {"source": self.source, "state": self.state, "steps": self.step}
                blob = checkpoint_bytes(
                    self.model, history=_plain_history(self.history), data=data, train_cfg=self.train_cfg, extra=extra
                )
                self._ckpt = (self.version, blob)
            return self._ckpt[1]


def check_match(cfg: Config, dataset: Dataset | None) -> None:
    if dataset is not None and dataset.d != cfg.d:
        raise ValueError(f"the data have D = {dataset.d} pixels but the architecture has D = {cfg.d}.")


def is_finite_number(v) -> bool:
    """True for an int or float that is neither NaN nor infinite (history values may be None)."""
    return isinstance(v, (int, float)) and math.isfinite(v)


def _plain_history(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if isinstance(v, (int, float, str, bool, list, type(None)))} for h in history]
