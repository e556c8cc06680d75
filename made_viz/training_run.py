"""One student's training run, trained in this process a chunk at a time (no streamlit: unit-testable).

`LocalRun` wraps `train.Trainer` with what a live page needs. It is the engine of both ways of training:
the worker processes (`worker_main`) drive one `LocalRun` per student, and the thread path
(MADE_VIZ_TRAIN_BACKEND=thread) lets the page's fragment drive it in the server itself.

* a small state machine — idle → running ⇄ paused → stopped, and running → done (finished or
  early stopping) or diverged; `reset()` goes back to idle with a fresh network;
* `advance(max_seconds=...)`: one short chunk of minibatches;
* Stop, Pause and Reset are prompt and final, whatever thread calls them: the chunk in flight
  ends after its current minibatch (the trainer asks `should_stop` before every step), and the
  call returns only once it has ended, so the step count when stop() returns is the run's last;
* one thread at a time touches the model: every use of it (a training chunk, an evaluation, a
  peek, a checkpoint, a reset) holds the run's lock. Without it a peek's `set_mask` during a
  training step made autograd fail ("modified by an inplace operation");
* divergence is the trainer's business (`Trainer(explode_factor=EXPLODE_FACTOR)`): a NaN/infinite
  loss, or a minibatch loss past EXPLODE_FACTOR x (D ln 2), the cost of a fair coin per pixel —
  Adam with a huge learning rate tends to blow up that way without ever reaching NaN. The trainer
  puts the last good weights back; `message` says what happened and what to try.

What the page reads (curves, progress, evaluation, peek, checkpoint) is `training_views.RunViews`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .config import Config
from .data import Dataset
from .model import MADE
from .pacer import CHUNK_SECONDS, TICK_SECONDS, Pacer
from .train import TrainConfig, Trainer, TrainingDiverged, own_validation
from .training_views import DIVERGED, DONE, EXPLODE_FACTOR, IDLE, PAUSED, RUNNING, STOPPED, RunViews, check_match


class LocalRun(RunViews):
    """A training run of one MADE on one data set, driven a chunk at a time (thread-safe).

    Args:
        cfg: the architecture (its D must be the data's D).
        dataset: the data. Validation uses the data set's own validation split (`dataset.valid`)
            when it has one, else the trainer carves one from the training split; the test split
            is only used by `evaluate`. May be None for a loaded checkpoint whose data is not
            available (then there is nothing to train or evaluate on).
        train_cfg: the hyper-parameters.
    """

    TRAINS_ELSEWHERE = False  # advance() trains in the calling thread (ProcessRun: in a worker process)

    def __init__(self, cfg: Config, dataset: Dataset | None, train_cfg: TrainConfig | None = None):
        check_match(cfg, dataset)
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
        self._reset_views()

    # --- state machine --------------------------------------------------------------------------
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
        check_match(cfg, dataset)
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
        self,
        max_seconds: float | None = None,
        max_steps: int | None = None,
        pacer: Pacer | None = None,
        interrupt: Callable[[], bool] | None = None,
    ) -> int:
        """One chunk of training if running (else nothing): at most `max_steps` steps and/or about
        `max_seconds` (neither given: CHUNK_SECONDS). With a `pacer` (the page passes the process's
        PACER) the chunk is this session's fair share of the tick and waits for a free training
        slot (at most one tick; none free: no steps this time). `interrupt`, asked before every
        step besides Stop/Pause/Reset, ends the chunk early (a worker's "a command came in").
        Returns the number of steps taken."""
        if self.state != RUNNING:
            return 0
        if max_seconds is None and max_steps is None:
            max_seconds = CHUNK_SECONDS
        if pacer is None:
            return self._guarded_chunk((RUNNING,), max_steps, max_seconds, interrupt)
        if max_seconds is not None:
            max_seconds = pacer.share(id(self), max_seconds)
        with pacer.slot(timeout=TICK_SECONDS) as ok:
            return self._guarded_chunk((RUNNING,), max_steps, max_seconds, interrupt) if ok else 0

    def train_steps(self, n: int, max_seconds: float | None = None, interrupt: Callable[[], bool] | None = None) -> int:
        """Exactly n more steps (fewer at the end), from idle, paused or running; an idle run
        becomes paused afterwards so it can be resumed. Returns the steps taken. A worker takes
        them in turns: at most about `max_seconds` (at least one step), and `interrupt` (asked before
        every step) ends the turn early."""
        with self._lock:
            if self.state == IDLE:
                self._build()
                self._change((IDLE,), PAUSED)
            return self._guarded_chunk((RUNNING, PAUSED), int(n), max_seconds, interrupt)

    @property
    def can_step(self) -> bool:
        """Whether train_steps would take a step now (running or paused, and not at the end)."""
        return self.state in (RUNNING, PAUSED) and self.trainer is not None and not self.trainer.done

    def _guarded_chunk(
        self,
        allowed: tuple[str, ...],
        max_steps: int | None,
        max_seconds: float | None,
        interrupt: Callable[[], bool] | None = None,
    ) -> int:
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
            return self._chunk(max_steps, max_seconds, gen, interrupt)
        finally:
            self._lock.release()

    def _chunk(
        self, max_steps: int | None, max_seconds: float | None, gen: int, interrupt: Callable[[], bool] | None
    ) -> int:
        trainer = self.trainer
        t0, step0 = time.perf_counter(), trainer.step

        def should_stop() -> bool:
            return self._gen != gen or (interrupt is not None and interrupt())

        try:
            trainer.step_chunk(max_steps=max_steps, max_seconds=max_seconds, should_stop=should_stop)
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


__all__ = ["LocalRun", "IDLE", "RUNNING", "PAUSED", "STOPPED", "DONE", "DIVERGED"]
