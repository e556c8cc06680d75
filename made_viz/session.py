"""One student's training run, as the Train page drives it (no streamlit: unit-testable).

A `TrainingRun` wraps `train.Trainer` with what a live page needs:

* a small state machine — idle → running ⇄ paused → stopped, and running → done (finished or
  early stopping) or diverged; `reset()` goes back to idle with a fresh network;
* `advance(max_seconds=...)`: one short chunk of minibatches, called by the page's fragment on
  every tick while the state is "running";
* Stop, Pause and Reset are prompt and final, whatever thread calls them: the chunk in flight
  ends after its current minibatch (the trainer asks `should_stop` before every step), and the
  call returns only once it has ended, so the step count when stop() returns is the run's last;
* one thread at a time touches the model: every use of it (a training chunk, an evaluation, a
  peek, a checkpoint, a reset) holds the run's lock. Without it a peek's `set_mask` during a
  training step made autograd fail ("modified by an inplace operation");
* divergence is the trainer's business (`Trainer(explode_factor=EXPLODE_FACTOR)`): a NaN/infinite
  loss, or a minibatch loss past EXPLODE_FACTOR x (D ln 2), the cost of a fair coin per pixel —
  Adam with a huge learning rate tends to blow up that way without ever reaching NaN. The trainer
  puts the last good weights back; `message` says what happened and what to try;
* the curves (training NLL per minibatch, smoothed; validation NLL per epoch), the progress
  (epoch, step, examples/s), the test NLL with one mask and with the ensemble of all K masks,
  a checkpoint, and a peek at what the model does right now (samples and conditionals).

Each browser session keeps its own run in `st.session_state`; the only thing shared between
sessions is `pacer.PACER`, which shares the process's training time fairly among them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from .config import Config
from .curves import Reference, reference_lines
from .data import Dataset
from .metrics import bits_per_dim, independent_bernoulli_nll
from .model import MADE
from .pacer import (  # noqa: F401
    CHUNK_SECONDS,
    FULL_RUN_CHUNK_SECONDS,
    MIN_CHUNK_SECONDS,
    PACER,
    PEEK_SECONDS,
    TICK_SECONDS,
    TICKS_PER_SECOND,
    Pacer,
)
from .train import TrainConfig, Trainer, TrainingDiverged, evaluate_nll, own_validation

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


class TrainingRun:
    """A training run of one MADE on one data set, driven a chunk at a time (thread-safe).

    Args:
        cfg: the architecture (its D must be the data's D).
        dataset: the data. Validation uses the data set's own validation split when it has one
            (`dataset.valid`), else the trainer carves one from the training split; the test split
            is only used by `evaluate`. May be None for a loaded checkpoint whose data is not
            available (then there is nothing to train or evaluate on).
        train_cfg: the hyper-parameters.
    """

    def __init__(self, cfg: Config, dataset: Dataset | None, train_cfg: TrainConfig | None = None):
        _check_match(cfg, dataset)
        self.cfg = cfg
        self.dataset = dataset
        self.train_cfg = train_cfg if train_cfg is not None else TrainConfig()
        self._lock = threading.RLock()  # held by every use of the model
        self._flag = threading.Lock()  # held while the state changes (never while waiting for _lock)
        self._gen = 0  # bumped by pause/stop/reset: a chunk in flight ends at its next step
        self._clear()

    def _clear(self) -> None:
        self.state = IDLE
        self.message = ""  # why the run stopped (divergence, early stopping, ...)
        self.source = "trained here"  # or "checkpoint ..." / "pre-trained ..."
        self.model: MADE | None = None
        self.trainer: Trainer | None = None
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

    # --- construction from a checkpoint ----------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, ck, dataset: Dataset | None = None, source: str = "checkpoint") -> TrainingRun:
        """A finished run holding a loaded `checkpoint.Checkpoint` (its model and history)."""
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

    # --- state machine --------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the page should keep calling `advance`."""
        return self.state == RUNNING

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def _change(self, allowed: tuple[str, ...], new: str) -> bool:
        """allowed -> new, atomically; interrupts the chunk in flight. False if not allowed."""
        with self._flag:
            if self.state not in allowed:
                return False
            self.state = new
            self._gen += 1
            return True

    def _wait_for_chunk(self) -> None:
        """Return once no other thread is inside a chunk (it was told to end after its step)."""
        with self._lock:
            pass

    def start(self) -> bool:
        """idle -> running (builds the network and the trainer). False if not idle."""
        with self._lock:
            if self.state != IDLE:
                return False
            self._build()
            return self._change((IDLE,), RUNNING)

    def pause(self) -> bool:
        """running -> paused; when it returns, no step is in flight and none follows."""
        if not self._change((RUNNING,), PAUSED):
            return False
        self._wait_for_chunk()
        return True

    def resume(self) -> bool:
        with self._flag:
            if self.state != PAUSED:
                return False
            self.state = RUNNING
            return True

    def stop(self) -> bool:
        """running/paused -> stopped: the weights as they are when it returns are the result, and
        the step count then is final."""
        if not self._change((RUNNING, PAUSED), STOPPED):
            return False
        with self._lock:  # the chunk in flight ends after its current step
            self.message = f"Stopped by you after {self.step} steps."
            self.version += 1
        return True

    def reset(
        self, cfg: Config | None = None, dataset: Dataset | None = None, train_cfg: TrainConfig | None = None
    ) -> None:
        """Back to idle with a fresh network (optionally a new architecture, data or settings).
        Models handed out before (e.g. to the Sample page) are not touched."""
        cfg = cfg if cfg is not None else self.cfg
        dataset = dataset if dataset is not None else self.dataset
        _check_match(cfg, dataset)
        with self._flag:
            self._gen += 1  # a chunk in flight ends at its next step
        with self._lock:
            self.cfg, self.dataset = cfg, dataset
            self.train_cfg = train_cfg if train_cfg is not None else self.train_cfg
            self._clear()

    def _build(self) -> None:
        if self.dataset is None:
            raise ValueError("there is no data to train on: choose a data set first.")
        self.model = MADE(self.cfg)
        self.trainer = Trainer(
            self.model,
            self.dataset.train,
            self.train_cfg,
            valid_x=own_validation(self.dataset),
            explode_factor=EXPLODE_FACTOR,
        )

    # --- training -------------------------------------------------------------------------------
    def advance(
        self, max_seconds: float | None = None, max_steps: int | None = None, pacer: Pacer | None = None
    ) -> int:
        """One chunk of training if running (else nothing): at most `max_steps` steps and/or about
        `max_seconds` (neither given: CHUNK_SECONDS). With a `pacer` (the page passes the process's
        PACER) the chunk is this session's fair share of the tick and waits for a free training
        slot (at most one tick; none free: no steps this time). Returns the number of steps taken."""
        if self.state != RUNNING:
            return 0
        if max_seconds is None and max_steps is None:
            max_seconds = CHUNK_SECONDS
        if pacer is None:
            return self._guarded_chunk((RUNNING,), max_steps, max_seconds)
        if max_seconds is not None:
            max_seconds = pacer.share(id(self), max_seconds)
        with pacer.slot(timeout=TICK_SECONDS) as ok:
            return self._guarded_chunk((RUNNING,), max_steps, max_seconds) if ok else 0

    def train_steps(self, n: int) -> int:
        """Exactly n more steps (fewer at the end), from idle, paused or running; an idle run
        becomes paused afterwards so it can be resumed. Returns the steps taken."""
        with self._lock:
            if self.state == IDLE:
                self._build()
                self._change((IDLE,), PAUSED)
            return self._guarded_chunk((RUNNING, PAUSED), int(n), None)

    def _guarded_chunk(self, allowed: tuple[str, ...], max_steps: int | None, max_seconds: float | None) -> int:
        """A chunk holding the model's lock, if the state (checked again under the lock: a Stop may
        have come while this thread waited) still allows one. Another thread busy with the model
        for longer than a tick: no steps this time."""
        if not self._lock.acquire(timeout=TICK_SECONDS):
            return 0
        try:
            with self._flag:
                if self.state not in allowed or self.trainer is None:
                    return 0
                gen = self._gen
            return self._chunk(max_steps, max_seconds, gen)
        finally:
            self._lock.release()

    def _chunk(self, max_steps: int | None, max_seconds: float | None, gen: int) -> int:
        trainer = self.trainer
        t0, step0 = time.perf_counter(), trainer.step
        try:
            trainer.step_chunk(max_steps=max_steps, max_seconds=max_seconds, should_stop=lambda: self._gen != gen)
        except TrainingDiverged as e:  # the trainer put the last good weights back
            self._settle(gen, DIVERGED, str(e))
        else:
            if trainer.done:
                self._settle(gen, DONE, self._finished_message())
        steps = trainer.step - step0
        self._count(steps, time.perf_counter() - t0)
        self.version += 1
        return steps

    def _settle(self, gen: int, state: str, message: str) -> None:
        """The chunk's outcome becomes the run's state unless Stop/Pause/Reset came first."""
        with self._flag:
            if self._gen == gen:
                self.state, self.message = state, message

    def _finished_message(self) -> str:
        tr = self.trainer
        early = (
            " (early stopping: the validation NLL stopped improving)." if tr.stopped_reason == "early stopping" else "."
        )
        best = (
            f" The weights of the best validation epoch ({tr.best_epoch}) were kept."
            if tr.best_epoch is not None and tr.cfg.restore_best
            else ""
        )
        return f"Finished: {tr.epoch} epochs, {tr.step} steps{early}{best}"

    def _count(self, steps: int, seconds: float) -> None:
        n = steps * (self.trainer.batch_size if self.trainer else 0)
        self.examples += n
        self.train_seconds += seconds
        if steps:
            self._recent.append((n, seconds))

    # --- what the page shows --------------------------------------------------------------------
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


def _check_match(cfg: Config, dataset: Dataset | None) -> None:
    if dataset is not None and dataset.d != cfg.d:
        raise ValueError(f"the data have D = {dataset.d} pixels but the architecture has D = {cfg.d}.")


def is_finite_number(v) -> bool:
    """True for an int or float that is neither NaN nor infinite (history values may be None)."""
    return isinstance(v, (int, float)) and math.isfinite(v)


def _plain_history(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if isinstance(v, (int, float, str, bool, list, type(None)))} for h in history]


def describe_cfg(cfg: Config) -> str:
    """One short line for messages: 'D = 64, hidden 128-128, natural order, K = 1'."""
    hidden = "-".join(map(str, cfg.hidden)) or "none"
    order = cfg.order if isinstance(cfg.order, str) else "explicit"
    return f"D = {cfg.d}, hidden {hidden}, {order} order, K = {cfg.num_masks}"


def data_mismatch(ds: Dataset, cfg: Config) -> str | None:
    """Why `cfg` cannot model `ds` (None if it can): MADE has one input and one output per pixel."""
    if ds.d == cfg.d and not (ds.shape and cfg.shape and ds.shape != cfg.shape):
        return None
    h, w = ds.shape or (1, ds.d)
    reset = " (your explicit order resets to natural)" if isinstance(cfg.order, tuple) else ""
    return (
        f"These images have D = {h} × {w} = {ds.d} pixels, but your architecture has D = {cfg.d} inputs. "
        f"MADE needs one input and one output per pixel, so D must change{reset}."
    )


def config_for_data(cfg: Config, ds: Dataset) -> Config:
    """`cfg` with D and the image shape of `ds`; hidden layers, masks, seed... kept (an explicit
    order, which only fits the old D, becomes natural)."""
    return cfg.replace(
        d=ds.d, shape=ds.shape or (1, ds.d), order="natural" if isinstance(cfg.order, tuple) else cfg.order
    )


def stale_message(run: TrainingRun, cfg: Config, ds: Dataset | None) -> str | None:
    """If the sidebar's architecture or the picked data no longer match a (started) run, say so."""
    if run.state == IDLE or (run.cfg == cfg and (ds is None or run.dataset is ds)):
        return None
    what = "architecture" if run.cfg != cfg else "data"
    old_data = run.dataset.name if run.dataset is not None else "unknown data"
    new_data = ds.name if ds is not None else "no usable data"
    return (
        f"The trained model belongs to the old {what}: **{describe_cfg(run.cfg)}** on {old_data}; the sidebar "
        f"and the data picker now show **{describe_cfg(cfg)}** on {new_data}. Reset to train the new one."
    )
