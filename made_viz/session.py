"""One student's training run, as the Train page drives it (no streamlit: unit-testable).

A `TrainingRun` wraps `train.Trainer` with what a live page needs:

* a small state machine — idle → running ⇄ paused → stopped, and running → done (finished or
  early stopping) or diverged; `reset()` goes back to idle with a fresh network;
* `advance(max_seconds=...)`: one short chunk of minibatches, called by the page's fragment on
  every tick while the state is "running" (so a Stop click waits at most one chunk);
* divergence: the trainer stops on a NaN/infinite loss; on top of that a run stops when a
  minibatch loss explodes past `EXPLODE_FACTOR` x (D ln 2), the cost of a fair coin per pixel —
  Adam with a huge learning rate tends to blow up that way without ever reaching NaN. Either way
  the last good weights are kept and `message` says what happened and what to try;
* the curves (training NLL per minibatch, smoothed; validation NLL per epoch), the progress
  (epoch, step, examples/s), the test NLL with one mask and with the ensemble of all K masks,
  a checkpoint, and a peek at what the model does right now (samples and conditionals).

Each browser session keeps its own run in `st.session_state`; the only thing shared between
sessions is `PACER`, which shares the process's training time fairly among them.

The end of the module has the helpers for the server's data folder (env var
MADE_VIZ_DATA_DIR): list its files, and open one by name only if it really lies inside it.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import Config
from .curves import Reference, reference_lines
from .data import DataError, Dataset
from .model import MADE
from .train import TrainConfig, Trainer, TrainingDiverged, evaluate_nll, independent_bernoulli_nll

IDLE, RUNNING, PAUSED, STOPPED, DONE, DIVERGED = "idle", "running", "paused", "stopped", "done", "diverged"
STATES = (IDLE, RUNNING, PAUSED, STOPPED, DONE, DIVERGED)
FINISHED = (STOPPED, DONE, DIVERGED)   # terminal: only reset() leaves them
EXPLODE_FACTOR = 10.0                  # a minibatch loss above this x D ln 2 counts as divergence
# how the Train page drives a run: its fragment re-runs every TICK_SECONDS (a browser timer), draws
# the progress, then trains for CHUNK_SECONDS. A chunk as long as the tick makes every fragment run
# end after the next tick is due, and Streamlit queues that tick, so training fills nearly all the
# time, yet a Stop click waits at most one chunk. A full-page run (any other widget) trains only
# FULL_RUN_CHUNK_SECONDS so the page stays snappy. The samples and conditionals panel is refreshed
# every PEEK_SECONDS. With many sessions training, `Pacer` lengthens the tick and shortens the chunk.
TICK_SECONDS = 0.5
CHUNK_SECONDS = 0.5
FULL_RUN_CHUNK_SECONDS = 0.15
PEEK_SECONDS = 4.0
TICKS_PER_SECOND = 8.0                 # a process redraws at most about this many training ticks per second
MIN_CHUNK_SECONDS = 0.03               # the shortest fair share of a tick (a few minibatches)
MAX_CURVE_POINTS = 600                 # training-curve points sent to the browser


class Pacer:
    """Shares one server process's training time fairly among the sessions training in it.

    Small MADEs train at Python speed (autograd and optimizer overhead under the GIL), so ten
    students training at once in one process do not train faster than one core, yet each of their
    threads competes for the GIL with every other student's click: a button press then took 10 s
    (p95, bench/ws_load.py). Here at most `slots` chunks train at a time (MADE_VIZ_TRAIN_SLOTS,
    default: the number of cores) and a chunk is cut to the tick's fair share, `seconds x slots / n`,
    when n sessions ticked in the last few seconds (a closed tab stops ticking, so it stops
    counting). The tick itself grows with n (`tick`). Alone, a student trains exactly as before.
    """

    def __init__(self, slots: int = 1, window: float = 5.0):
        self.slots, self.window = max(1, int(slots)), window
        self._sem = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._ticks: dict[int, float] = {}

    def training(self, include: int | None = None) -> int:
        """How many runs ticked within the window (and `include`, counted once, if given)."""
        now = time.monotonic()
        with self._lock:
            self._ticks = {k: t for k, t in self._ticks.items() if now - t <= self.window}
            return len(self._ticks.keys() | ({include} if include is not None else set()))

    def tick(self, run_key: int) -> float:
        """The Train page's tick for a run: TICK_SECONDS, longer when many sessions train, so that
        the process redraws at most TICKS_PER_SECOND progress panels per second in all (each
        redraw costs server time that the other students' clicks wait for)."""
        return max(TICK_SECONDS, self.training(include=run_key) / TICKS_PER_SECOND)

    def share(self, run_key: int, seconds: float) -> float:
        """Note a tick of `run_key`; its chunk length, `seconds` cut to the fair share."""
        with self._lock:
            self._ticks[run_key] = time.monotonic()
        n = self.training()
        return seconds if n <= self.slots else max(MIN_CHUNK_SECONDS, seconds * self.slots / n)

    @contextlib.contextmanager
    def slot(self, timeout: float):
        """Hold one training slot; yields False if none came free within `timeout` seconds."""
        ok = self._sem.acquire(timeout=timeout)
        try:
            yield ok
        finally:
            if ok:
                self._sem.release()


def _slots() -> int:
    """MADE_VIZ_TRAIN_SLOTS, default the number of CPU cores (with several processes on one machine,
    give each its share: cores / processes)."""
    cores = os.cpu_count() or 1
    try:
        return max(1, int(os.environ.get("MADE_VIZ_TRAIN_SLOTS", "") or cores))
    except ValueError:
        return cores


PACER = Pacer(_slots())   # one per server process: the only state here shared between sessions


@dataclass(frozen=True)
class Snapshot:
    """What the model does right now (for the page's small live panel)."""

    version: int
    samples: np.ndarray        # (n, D) 0/1 from the fast exact sampler
    image: np.ndarray | None   # (D,) one validation image ...
    probs: np.ndarray | None   # (D,) ... and p(x_d = 1 | pixels before d) for it
    mask: int                  # the mask used (the one training is using now)


class TrainingRun:
    """A training run of one MADE on one data set, driven a chunk at a time.

    Args:
        cfg: the architecture (its D must be the data's D).
        dataset: the data (train split is split again into train/validation by the trainer;
            the test split is only used by `evaluate`). May be None for a loaded checkpoint
            whose data is not available (then there is nothing to train or evaluate on).
        train_cfg: the hyper-parameters.
    """

    def __init__(self, cfg: Config, dataset: Dataset | None, train_cfg: TrainConfig | None = None):
        if dataset is not None and dataset.d != cfg.d:
            raise ValueError(f"the data have D = {dataset.d} pixels but the architecture has D = {cfg.d}.")
        self.cfg = cfg
        self.dataset = dataset
        self.train_cfg = train_cfg if train_cfg is not None else TrainConfig()
        self._clear()

    def _clear(self) -> None:
        self.state = IDLE
        self.message = ""                  # why the run stopped (divergence, early stopping, ...)
        self.source = "trained here"       # or "checkpoint ..." / "pre-trained ..."
        self.model: MADE | None = None
        self.trainer: Trainer | None = None
        self.version = 0                   # bumped whenever the weights or history change
        self.train_seconds = 0.0           # wall time spent inside training chunks
        self.examples = 0                  # training examples processed
        self._recent: deque[tuple[int, float]] = deque(maxlen=8)   # (examples, seconds) of recent chunks
        self._loaded_history: list[dict] = []
        self._good: dict[str, torch.Tensor] | None = None
        self._good_step = 0
        self._eval: tuple[int, dict] | None = None
        self._ckpt: tuple[int, bytes] | None = None
        self._snap: Snapshot | None = None
        self._snap_time = 0.0
        self._refs: list[Reference] | None = None

    # --- construction from a checkpoint ----------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, ck, dataset: Dataset | None = None, source: str = "checkpoint") -> "TrainingRun":
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
        if ds is None or not (_finite(one) and _finite(ens)) or data.get("name") != ds.name \
                or data.get("n_test") != ds.n_test or data.get("d") != ds.d:
            return
        d = self.cfg.d
        self._eval = (self.version, dict(nll_1=float(one), nll_ensemble=float(ens), K=self.cfg.num_masks,
                                         bpd_1=one / (d * math.log(2)), bpd_ensemble=ens / (d * math.log(2)),
                                         n_test=ds.n_test))

    # --- state machine --------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the page should keep calling `advance`."""
        return self.state == RUNNING

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def start(self) -> bool:
        """idle -> running (builds the network and the trainer). False if not idle."""
        if self.state != IDLE:
            return False
        self._build()
        self.state = RUNNING
        return True

    def pause(self) -> bool:
        if self.state != RUNNING:
            return False
        self.state = PAUSED
        return True

    def resume(self) -> bool:
        if self.state != PAUSED:
            return False
        self.state = RUNNING
        return True

    def stop(self) -> bool:
        """running/paused -> stopped: the weights as they are now are the result."""
        if self.state not in (RUNNING, PAUSED):
            return False
        self.state = STOPPED
        self.message = f"Stopped by you after {self.step} steps."
        self.version += 1
        return True

    def reset(self, cfg: Config | None = None, dataset: Dataset | None = None,
              train_cfg: TrainConfig | None = None) -> None:
        """Back to idle with a fresh network (optionally a new architecture, data or settings).
        Models handed out before (e.g. to the Sample page) are not touched."""
        cfg = cfg if cfg is not None else self.cfg
        dataset = dataset if dataset is not None else self.dataset
        if dataset is not None and dataset.d != cfg.d:
            raise ValueError(f"the data have D = {dataset.d} pixels but the architecture has D = {cfg.d}.")
        self.cfg, self.dataset = cfg, dataset
        self.train_cfg = train_cfg if train_cfg is not None else self.train_cfg
        self._clear()

    def _build(self) -> None:
        if self.dataset is None:
            raise ValueError("there is no data to train on: choose a data set first.")
        self.model = MADE(self.cfg)
        self.trainer = Trainer(self.model, self.dataset.train, self.train_cfg)
        self._keep_good()

    # --- training -------------------------------------------------------------------------------
    def advance(self, max_seconds: float | None = None, max_steps: int | None = None,
                pacer: Pacer | None = None) -> int:
        """One chunk of training if running (else nothing): at most `max_steps` steps and/or about
        `max_seconds` (neither given: CHUNK_SECONDS). With a `pacer` (the page passes the process's
        PACER) the chunk is this session's fair share of the tick and waits for a free training
        slot (at most one tick; none free: no steps this time). Returns the number of steps taken."""
        if self.state != RUNNING:
            return 0
        if max_seconds is None and max_steps is None:
            max_seconds = CHUNK_SECONDS
        if pacer is None:
            return self._chunk(max_steps=max_steps, max_seconds=max_seconds)
        if max_seconds is not None:
            max_seconds = pacer.share(id(self), max_seconds)
        with pacer.slot(timeout=TICK_SECONDS) as ok:
            return self._chunk(max_steps=max_steps, max_seconds=max_seconds) if ok and self.state == RUNNING else 0

    def train_steps(self, n: int) -> int:
        """Exactly n more steps (fewer at the end), from idle, paused or running; an idle run
        becomes paused afterwards so it can be resumed. Returns the steps taken."""
        if self.state == IDLE:
            self._build()
            self.state = PAUSED
        if self.state not in (RUNNING, PAUSED):
            return 0
        return self._chunk(max_steps=int(n), max_seconds=None)

    def _chunk(self, max_steps: int | None, max_seconds: float | None) -> int:
        trainer = self.trainer
        t0 = time.perf_counter()
        step0 = trainer.step
        try:
            records = trainer.step_chunk(max_steps=max_steps, max_seconds=max_seconds)
        except TrainingDiverged as e:          # NaN / inf: the trainer restored its last good weights
            self._count(trainer.step - step0, time.perf_counter() - t0)
            self._good_step = trainer.last_good_step
            self.state, self.message = DIVERGED, str(e)
            self.version += 1
            return trainer.step - step0
        seconds = time.perf_counter() - t0
        steps = [r for r in records if r.get("kind") == "step"]
        self._count(len(steps), seconds)
        self.version += 1
        limit = EXPLODE_FACTOR * self.cfg.d * math.log(2)
        bad = next((r for r in steps if not r["loss"] <= limit), None)
        if bad is not None:
            self._restore_good()
            self.state = DIVERGED
            lr = self.train_cfg.lr
            self.message = (
                f"Training diverged at step {bad['step']}: the loss jumped to {bad['loss']:.4g} nats per example, "
                f"more than {EXPLODE_FACTOR:g} times what a fair coin per pixel costs (D ln 2 = "
                f"{self.cfg.d * math.log(2):.1f}). The weights were put back to the last good ones "
                f"(step {self._good_step}). Try a lower learning rate than {lr:g}, e.g. {lr / 10:g}.")
            return len(steps)
        self._keep_good()
        if trainer.done:
            self.state = DONE
            reason = trainer.stopped_reason
            best = f" The weights of the best validation epoch ({trainer.best_epoch}) were kept." \
                if trainer.best_epoch is not None and trainer.cfg.restore_best else ""
            self.message = (f"Finished: {trainer.epoch} epochs, {trainer.step} steps"
                            + (" (early stopping: the validation NLL stopped improving)." if reason == "early stopping" else ".")
                            + best)
        return len(steps)

    def _count(self, steps: int, seconds: float) -> None:
        n = steps * (self.trainer.batch_size if self.trainer else 0)
        self.examples += n
        self.train_seconds += seconds
        if steps:
            self._recent.append((n, seconds))

    def _keep_good(self) -> None:
        self._good = {k: p.detach().clone() for k, p in self.model.named_parameters()}
        self._good_step = self.trainer.step if self.trainer else 0

    def _restore_good(self) -> None:
        with torch.no_grad():
            for k, p in self.model.named_parameters():
                p.copy_(self._good[k])

    # --- what the page shows --------------------------------------------------------------------
    @property
    def step(self) -> int:
        return self.trainer.step if self.trainer else 0

    @property
    def has_model(self) -> bool:
        """A model worth keeping: loaded, or trained for at least one (good) step."""
        return self.model is not None and (self.trainer is None or self._good_step > 0)

    @property
    def history(self) -> list[dict]:
        """One dict per finished epoch (see train.Trainer.history)."""
        return self.trainer.history if self.trainer else self._loaded_history

    @property
    def examples_per_s(self) -> float | None:
        """Training speed over the last few chunks."""
        n = sum(e for e, _ in self._recent)
        s = sum(t for _, t in self._recent)
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
            return dict(state=self.state, epoch=epochs, epochs=self.train_cfg.epochs, step=0, total_steps=0,
                        fraction=1.0 if self.finished else 0.0, examples_per_s=None, seconds=0.0)
        current = tr.epoch if tr.done else min(tr.epoch + 1, self.train_cfg.epochs)
        return dict(state=self.state, epoch=current, epochs=self.train_cfg.epochs, step=tr.step,
                    total_steps=tr.total_steps, fraction=1.0 if self.state == DONE else tr.progress,
                    examples_per_s=self.examples_per_s, seconds=self.train_seconds)

    def train_points(self) -> list[tuple[float, float]]:
        """(epoch, training NLL) pairs: the per-minibatch loss, smoothed (a trailing moving
        average over about half an epoch) and thinned to at most MAX_CURVE_POINTS."""
        tr = self.trainer
        if tr is None:
            return [(h["epoch"], h["train_nll"]) for h in self._loaded_history
                    if _finite(h.get("train_nll")) and "epoch" in h]
        hist = tr.step_history
        if not hist:
            return []
        steps = np.array([r["step"] for r in hist], dtype=float)
        loss = np.array([r["loss"] for r in hist], dtype=float)
        stride = steps[1] - steps[0] if len(steps) > 1 else 1.0
        window = int(max(1, min(50, round(tr.steps_per_epoch / 2 / stride))))
        csum = np.concatenate([[0.0], np.cumsum(loss)])
        idx = np.arange(1, len(loss) + 1)
        start = np.maximum(0, idx - window)
        smooth = (csum[idx] - csum[start]) / (idx - start)          # trailing moving average
        keep = np.unique(np.linspace(0, len(loss) - 1, min(len(loss), MAX_CURVE_POINTS)).round().astype(int))
        x = steps / tr.steps_per_epoch
        return [(float(x[i]), float(smooth[i])) for i in keep]

    def valid_points(self) -> list[tuple[float, float]]:
        """(epoch, validation NLL) for every finished epoch."""
        return [(float(h["epoch"]), float(h["valid_nll"])) for h in self.history
                if _finite(h.get("valid_nll")) and "epoch" in h]

    def references(self) -> list[Reference]:
        """Independent-Bernoulli NLL of the test data (fitted on the training data) and, for
        generated data, the exact entropy."""
        if self._refs is None:
            ds = self.dataset
            self._refs = [] if ds is None else reference_lines(
                independent_bernoulli_nll(ds.train, ds.test), ds.entropy)
        return self._refs

    def cached_evaluation(self) -> dict | None:
        """`evaluate()`'s result if it is up to date, else None (never computes)."""
        return self._eval[1] if self._eval is not None and self._eval[0] == self.version else None

    def evaluate(self) -> dict | None:
        """Test NLL (nats per example) with mask 0 and with the ensemble of all K masks
        (log-mean-exp of their probabilities). Cached until the weights change. None without
        a model or test data."""
        if self.model is None or self.dataset is None:
            return None
        if self._eval is not None and self._eval[0] == self.version:
            return self._eval[1]
        k = self.cfg.num_masks
        test = self.dataset.test
        one = evaluate_nll(self.model, test)
        ens = evaluate_nll(self.model, test, ensemble=k) if k > 1 else one
        d = self.cfg.d
        out = dict(nll_1=one, nll_ensemble=ens, K=k, bpd_1=one / (d * math.log(2)),
                   bpd_ensemble=ens / (d * math.log(2)), n_test=len(test))
        self._eval = (self.version, out)
        return out

    def snapshot(self, n: int = 8, max_age: float = 3.0, seed: int = 0) -> Snapshot | None:
        """A few samples (fast exact sampler, fixed random numbers so only learning changes
        them) and the conditionals of one validation image, recomputed at most every
        `max_age` seconds while the weights change."""
        if self.model is None:
            return None
        now = time.monotonic()
        snap = self._snap
        if snap is not None and (snap.version == self.version or now - self._snap_time < max_age):
            return snap
        from .sample import sample
        mask = self.active_mask
        model = self.model
        was_training = model.training
        model.eval()
        try:
            traj = sample(model, n=n, seed=seed, method="fast", mask=mask)
            samples = traj.x.cpu().numpy().astype(np.uint8)
            image = probs = None
            valid = self._one_validation_image()
            if valid is not None:
                active = model.mask_index
                with torch.no_grad():
                    model.set_mask(mask)
                    probs = torch.sigmoid(model(torch.as_tensor(valid[None], dtype=torch.float32)))[0].numpy()
                    model.set_mask(active)
                image = valid
        finally:
            model.train(was_training)
        self._snap = Snapshot(self.version, samples, image, probs, mask)
        self._snap_time = now
        return self._snap

    def _one_validation_image(self) -> np.ndarray | None:
        if self.trainer is not None and self.trainer.valid_x is not None:
            return self.trainer.valid_x[0].cpu().numpy()
        if self.dataset is not None:
            return np.asarray(self.dataset.test[0], dtype=np.float32)
        return None

    def checkpoint_bytes(self) -> bytes:
        """The model, its history, data and settings as a checkpoint file (cached)."""
        from .checkpoint import checkpoint_bytes
        if self.model is None:
            raise ValueError("there is no model to save yet.")
        if self._ckpt is None or self._ckpt[0] != self.version:
            data = None
            if self.dataset is not None:
                data = self.dataset.to_dict()
                data["source"] = self.dataset.name
            extra = {"source": self.source, "state": self.state, "steps": self.step}
            blob = checkpoint_bytes(self.model, history=_plain_history(self.history), data=data,
                                    train_cfg=self.train_cfg, extra=extra)
            self._ckpt = (self.version, blob)
        return self._ckpt[1]


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _plain_history(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if isinstance(v, (int, float, str, bool, list, type(None)))} for h in history]


# ---------------------------------------------------------------------------------------------
# the server's data folder (MADE_VIZ_DATA_DIR)

DATA_DIR_ENV = "MADE_VIZ_DATA_DIR"
DATA_SUFFIXES = (".npy", ".npz", ".amat", ".gz", "-ubyte", ".idx")


def data_dir() -> Path | None:
    """The folder the server operator named in MADE_VIZ_DATA_DIR (None if unset or missing)."""
    raw = os.environ.get(DATA_DIR_ENV, "").strip()
    if not raw:
        return None
    root = Path(raw).expanduser()
    return root if root.is_dir() else None


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


def list_data_files(root: Path) -> list[str]:
    """Names of the data files (and folders of MNIST IDX files) directly inside `root`, skipping
    hidden entries and anything (e.g. a symlink) that resolves outside the folder."""
    out = []
    try:
        entries = sorted(root.iterdir(), key=lambda p: p.name.lower())
    except OSError:
        return []
    for p in entries:
        if p.name.startswith(".") or not _inside(root, p):
            continue
        if p.is_file() and p.name.lower().endswith(DATA_SUFFIXES):
            out.append(p.name)
        elif p.is_dir():
            try:
                children = list(p.iterdir())
            except OSError:
                continue
            if any(c.name.startswith(("train-images", "t10k-images")) for c in children) \
                    and all(_inside(root, c) for c in children):   # no link inside leads out either
                out.append(p.name)
    return out


def resolve_data_file(root: Path, name: str) -> Path:
    """The path of entry `name` of the data folder; DataError unless it is one of
    `list_data_files(root)` (no other path can ever be read)."""
    if not isinstance(name, str) or name not in list_data_files(root):
        raise DataError(f"{name}: not a file of the server's data folder.")
    path = root / name
    if not _inside(root, path):  # checked again: the folder may have changed
        raise DataError(f"{name}: points outside the server's data folder; refused.")
    return path


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
    return (f"These images have D = {h} × {w} = {ds.d} pixels, but your architecture has D = {cfg.d} inputs. "
            f"MADE needs one input and one output per pixel, so D must change{reset}.")


def config_for_data(cfg: Config, ds: Dataset) -> Config:
    """`cfg` with D and the image shape of `ds`; hidden layers, masks, seed... kept (an explicit
    order, which only fits the old D, becomes natural)."""
    return cfg.replace(d=ds.d, shape=ds.shape or (1, ds.d),
                       order="natural" if isinstance(cfg.order, tuple) else cfg.order)


def stale_message(run: TrainingRun, cfg: Config, ds: Dataset | None) -> str | None:
    """If the sidebar's architecture or the picked data no longer match a (started) run, say so."""
    if run.state == IDLE or (run.cfg == cfg and (ds is None or run.dataset is ds)):
        return None
    what = "architecture" if run.cfg != cfg else "data"
    old_data = run.dataset.name if run.dataset is not None else "unknown data"
    new_data = ds.name if ds is not None else "no usable data"
    return (f"The trained model belongs to the old {what}: **{describe_cfg(run.cfg)}** on {old_data}; the sidebar "
            f"and the data picker now show **{describe_cfg(cfg)}** on {new_data}. Reset to train the new one.")
