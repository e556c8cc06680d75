"""One student's training run, trained in a worker process (`worker_pool`); the session holds this handle.

`ProcessRun` has the public API of `training_run.LocalRun` (what the Train and Sample pages call), so the
pages do not know where the training happens:

* Start, Resume send a command and return at once; Pause, Stop and Train-n-steps wait for the worker's
  acknowledgement (the worker ends its slice after the step in flight, well within 0.5 s), which carries
  the frozen step count and the weights, so the step count when stop() returns is the one the page shows
  and `model` holds the final weights; Reset drops the worker's run and returns at once;
* the worker streams progress (counters, new curve points, its weights every few seconds) into a
  `TrainerMirror`, which `RunViews` reads as it would a `Trainer`; `advance()`, the page's tick, lets the
  worker train until the tick's end; the page does not wait for it (`wait=False`), a test or benchmark may
  (on a condition variable: without the interpreter);
* a worker that dies leaves the run stopped with one sentence saying so, and the last weights received;
* the peek while training is computed by the worker; evaluation and checkpoints use the server's copy of
  the weights (the run is then paused or finished, so that copy is the final one).
"""

from __future__ import annotations

import os
import threading
import time
import weakref

from .config import Config
from .data import Dataset
from .model import MADE
from .pacer import CHUNK_SECONDS, Pacer
from .train import TrainConfig
from .training_views import DIVERGED, DONE, FINISHED, IDLE, PAUSED, RUNNING, STOPPED, RunViews, Snapshot, check_match
from .worker_pool import POOL, Worker, WorkerPool
from .worker_protocol import TrainerMirror, data_ref, load_weights

ACK_SECONDS = 10.0  # Pause/Stop: the longest wait for the worker's acknowledgement (normally one step)
# The Train page's Stop waits at most this long (MADE_VIZ_STOP_WAIT): a worker starved of CPU while 30
# page runs share the cores answered only after seconds; the page then says "stopping" until it does.
STOP_WAIT_SECONDS = 0.3
FIRST_ACK_SECONDS = 180.0  # Train n steps: may wait for a worker that is still importing torch
# a tick waits at most this long past its end for the worker to say it is used up (it takes at least one
# step; only a worker starved of CPU for that long makes a tick end without one)
TICK_GRACE_SECONDS = 5.0
PEEK_WAIT_SECONDS = 0.3  # the first peek while training waits this long for the worker's answer


def stop_wait() -> float:
    """Seconds the Train page's Stop waits for the worker's final count: MADE_VIZ_STOP_WAIT, default
    STOP_WAIT_SECONDS."""
    try:
        return max(0.0, float(os.environ.get("MADE_VIZ_STOP_WAIT", "") or STOP_WAIT_SECONDS))
    except ValueError:
        return STOP_WAIT_SECONDS


class ProcessRun(RunViews):
    """A training run whose trainer lives in a worker process (the API of `LocalRun`)."""

    TRAINS_ELSEWHERE = True  # advance(wait=False) returns at once while the worker trains

    def __init__(
        self, cfg: Config, dataset: Dataset | None, train_cfg: TrainConfig | None = None, pool: WorkerPool | None = None
    ):
        check_match(cfg, dataset)
        self.cfg = cfg
        self.dataset = dataset
        self.train_cfg = train_cfg if train_cfg is not None else TrainConfig()
        self._pool = pool if pool is not None else POOL
        self._lock = threading.RLock()  # held by every use of the server's copy of the model
        self._cond = threading.Condition()  # guards what the worker's messages change; waits for them
        self._worker: Worker | None = None
        self._rid: int | None = None
        self._closer = None
        self._clear()
        self._pool.start()  # no-op once up; else the workers import torch while the student sets up

    def _clear(self) -> None:
        self.state = IDLE
        self.message = ""
        self.source = "trained here"
        self._model: MADE | None = None
        self._weights = None  # the newest weights received, not yet loaded into _model
        self._weights_step = 0
        self.trainer: TrainerMirror | None = None
        self._seq = 0  # the last command sent
        self._acks: dict[int, tuple[bool, str | None]] = {}  # for the commands someone waits for
        self._waiting: set[int] = set()
        self._remote_snap: Snapshot | None = None
        self._peek_asked = 0.0
        self._reported_step, self._reported_state = 0, IDLE  # the worker's own, in its last message
        self._stopping: int | None = None  # a Stop whose acknowledgement has not come yet (its command)
        self._stepping: int | None = None  # the same for "+N steps" (their worker takes them in turns)
        self.step_error: str | None = None  # why the worker could not take the last "+N steps" (it said so)
        self._reset_views()

    # --- the server's copy of the weights --------------------------------------------------------
    @property
    def model(self) -> MADE | None:
        """The weights last received from the worker (None before the first arrive)."""
        with self._lock:
            with self._cond:
                weights, self._weights = self._weights, None
            if weights is not None:
                if self._model is None:
                    self._model = MADE(self.cfg)
                load_weights(self._model, weights)
            return self._model

    @model.setter
    def model(self, model: MADE | None) -> None:
        with self._lock:
            self._model = model

    @property
    def _in_progress(self) -> bool:
        return self.state in (RUNNING, PAUSED)

    # --- talking to the worker -------------------------------------------------------------------
    def _open(self) -> None:
        """A run for this one in a worker of the pool."""
        if self.dataset is None:
            raise ValueError("there is no data to train on: choose a data set first.")
        worker, rid = self._pool.assign(self)
        self._worker, self._rid = worker, rid
        self._closer = weakref.finalize(self, _close_remote, worker, rid)  # a dropped handle frees its run
        self.trainer = TrainerMirror(cfg=self.train_cfg)
        worker.send(("open", rid, self.cfg, data_ref(self.dataset), self.train_cfg))

    def _send(self, kind: str, *args, wait: bool = False) -> int:
        """Send a command; with `wait`, its acknowledgement is expected (registered before it is sent: a
        worker may answer before the caller reaches `_wait_ack`, and an unexpected ack is dropped)."""
        with self._cond:
            self._seq += 1
            seq = self._seq
            if wait:
                self._waiting.add(seq)
        if self._worker is None or not self._worker.send((kind, self._rid, seq, *args)):
            self._worker_lost()
        return seq

    def _wait_ack(self, seq: int, timeout: float, while_running: bool = False) -> tuple[bool, str | None]:
        """The worker's (ok, error) for command `seq`; (False, reason) if it is gone or silent (or, with
        `while_running`, the run stopped running meanwhile)."""
        with self._cond:
            self._waiting.add(seq)
            try:
                done = self._cond.wait_for(
                    lambda: seq in self._acks or self._worker is None or (while_running and self.state != RUNNING),
                    timeout,
                )
                if seq in self._acks:
                    return self._acks.pop(seq)
            finally:
                self._waiting.discard(seq)
                self._acks.pop(seq, None)
        return False, None if done else "timeout"

    def _on_message(self, msg: tuple) -> None:
        """A message from the worker (its reader thread)."""
        kind, rid = msg[0], msg[1]
        with self._cond:
            if rid != self._rid:
                return  # from a run dropped by Reset
            if kind == "snap":
                if msg[2] is not None:
                    s = msg[2]
                    self._remote_snap = Snapshot(self.version, s.samples, s.image, s.probs, s.mask)
            elif kind == "progress":
                self._take(msg[2])
            elif kind == "ack":
                _, _, seq, ok, error, rec = msg
                self._take(rec)
                if seq in self._waiting:
                    self._acks[seq] = (ok, error)
                if seq == self._stopping:  # the Stop nobody waits for any more: its count is the final one
                    self._stopping = None
                    self._stopped_message()
                if seq == self._stepping:  # the steps are taken, or the worker says why not
                    self._stepping = None
                    if not ok and error:
                        self.step_error = error
            self._cond.notify_all()

    def _take(self, rec: dict) -> None:
        """Apply a progress record (the condition is held). Its state counts only once the worker has
        carried out every command sent: until then the server's own state (a Pause just pressed) wins, except
        that a run the server thinks running may have finished or diverged meanwhile."""
        if "trainer" in rec and self.trainer is not None:
            self.trainer.apply(rec["trainer"])
        self.examples, self.train_seconds = rec["examples"], rec["train_seconds"]
        self._recent.clear()
        self._recent.extend(rec["recent"])
        if "weights" in rec:
            self._weights, self._weights_step = rec["weights"], self.trainer.step if self.trainer else 0
        self._reported_step = self.trainer.step if self.trainer is not None else 0
        self._reported_state = rec["state"]
        caught_up = rec["seq"] == self._seq and self.state in (RUNNING, PAUSED, STOPPED)
        if caught_up or (self.state == RUNNING and rec["state"] in (DONE, DIVERGED)):
            self.state, self.message = rec["state"], rec["message"]
        self.version += 1

    def _worker_lost(self) -> None:
        """The worker died: a run in progress stops here, keeping the last weights received."""
        with self._cond:
            self._worker = None
            self._stepping = None
            if self._stopping is not None:  # a Stop that will never be answered: the count heard is final
                self._stopping = None
                self._stopped_message()
            if self.state in (RUNNING, PAUSED):
                self.state = STOPPED
                kept = (
                    f"the weights from step {self._weights_step} are kept"
                    if self._weights is not None or self._model is not None
                    else "no weights had arrived yet"
                )
                self.message = (
                    f"The training process stopped unexpectedly after {self.step} steps; {kept}: "
                    "press New run to train again."
                )
                self.version += 1
            self._cond.notify_all()

    def _close(self) -> None:
        """Drop the worker's run now (Reset): its tick in flight ends after the step in flight."""
        worker = self._worker  # None once a dead worker was reported: nothing left to close there
        if self._closer is not None and self._closer.detach() is not None and worker is not None:
            worker.runs.pop(self._rid, None)
            worker.send(("close", self._rid, 0))
        self._worker, self._rid, self._closer = None, None, None

    # --- state machine ---------------------------------------------------------------------------
    def start(self) -> bool:
        """idle -> running. Returns at once: the worker starts training as soon as it reads the command."""
        with self._cond:
            if self.state != IDLE:
                return False
            self._open()
            self.state = RUNNING
        self._send("start")
        return True

    def pause(self) -> bool:
        """running -> paused; when it returns, the worker has ended its slice and sent the frozen count."""
        with self._cond:
            if self.state != RUNNING:
                return False
            self.state = PAUSED
            self._cond.notify_all()  # a tick in flight ends now
        self._wait_ack(self._send("pause", wait=True), ACK_SECONDS)
        return True

    def resume(self) -> bool:
        with self._cond:
            if self.state != PAUSED:
                return False
            self.state = RUNNING
        self._send("resume")
        return True

    def stop(self, wait: float = ACK_SECONDS) -> bool:
        """running/paused -> stopped: when it returns, the step count is final and `model` the result, unless
        the worker did not answer within `wait` seconds: then `stopping` is True until it does (the Train
        page waits briefly and shows "stopping"; the count the worker sends then is the final one)."""
        with self._cond:
            if self.state not in (RUNNING, PAUSED):
                return False
            self.state = STOPPED
            self._cond.notify_all()  # a tick in flight ends now
        self._awaited("_stopping", wait, "stop")
        with self._cond:
            if self._stopping is None:
                self._stopped_message()
        return True

    def _awaited(self, pending: str, wait: float, kind: str, *args) -> tuple[bool, str | None]:
        """Send a command and wait at most `wait` seconds for its acknowledgement (ok, error); until it comes,
        the attribute `pending` (_stopping, _stepping) holds the command's number: the page says "stopping"
        or "training N steps", and the acknowledgement clears it (`_on_message`)."""
        seq = self._send(kind, *args, wait=True)  # registered first: an ack that comes at once is kept for the wait
        with self._cond:
            setattr(self, pending, seq)
        ok, why = self._wait_ack(seq, wait)
        with self._cond:
            if why != "timeout" and getattr(self, pending) == seq:  # answered (or the worker is gone)
                setattr(self, pending, None)
        return ok, why

    def _stopped_message(self) -> None:
        if self.state == STOPPED and not self.message:
            self.message = f"Stopped by you after {self.step} steps."

    @property
    def stopping(self) -> bool:
        """Stopped, but the worker's final count has not arrived yet."""
        return self._stopping is not None

    @property
    def stepping(self) -> bool:
        """Whether the worker has yet to say that the steps of a "+N steps" are taken."""
        return self._stepping is not None

    @property
    def active(self) -> bool:
        """Running, stopping or stepping: the page keeps ticking until the worker's count is in."""
        return self.state == RUNNING or self._stopping is not None or self._stepping is not None

    def reset(
        self, cfg: Config | None = None, dataset: Dataset | None = None, train_cfg: TrainConfig | None = None
    ) -> None:
        """Back to idle with a fresh network; the worker drops the old run at its next step."""
        cfg = cfg if cfg is not None else self.cfg
        dataset = dataset if dataset is not None else self.dataset
        check_match(cfg, dataset)
        with self._cond:
            self._close()
        with self._lock:
            self.cfg, self.dataset = cfg, dataset
            self.train_cfg = train_cfg if train_cfg is not None else self.train_cfg
            with self._cond:
                self._clear()
                self._cond.notify_all()  # a tick in flight ends now

    # --- training --------------------------------------------------------------------------------
    def advance(
        self,
        max_seconds: float | None = None,
        max_steps: int | None = None,
        pacer: Pacer | None = None,
        wait: bool = True,
    ) -> int:
        """The page's tick: the worker trains this run for `max_seconds` (default CHUNK_SECONDS; at least one
        step), sharing its core with the other runs that tick. With `wait`, this thread waits for it without
        holding the interpreter and gets the steps taken; once it returns, the run takes no step until the
        next tick. Without, the tick is sent and 0 returned at once: the worker trains until the tick's end
        while the caller goes on (the Train page: its run then costs no wait, and a click queued behind it
        is not held up); a new tick replaces one not yet used up. Either way, away from the Train page nothing
        trains once the last tick ends. `pacer` only counts the tick (it sets the page's tick length);
        `max_steps` is not a limit here."""
        if self.state != RUNNING:
            return 0
        seconds = CHUNK_SECONDS if max_seconds is None else max_seconds
        if pacer is not None:
            pacer.share(id(self), seconds)
        if not wait:
            self._send("tick", time.monotonic() + seconds)
            return 0
        step0 = self.step
        self._wait_ack(
            self._send("tick", time.monotonic() + seconds, wait=True),
            seconds + TICK_GRACE_SECONDS,
            while_running=True,
        )
        return self.step - step0

    def train_steps(self, n: int, wait: float = FIRST_ACK_SECONDS) -> int:
        """Exactly n more steps (fewer at the end), from idle, paused or running; an idle run becomes paused
        afterwards so it can be resumed. Waits at most `wait` seconds for the worker to take them (it takes
        them in turns with its other runs); until it has, `stepping` is True, and more steps are not asked
        for (returns 0). Returns the steps taken by then. If the worker cannot take them, `step_error` says
        why (also when it says so after `wait`)."""
        with self._cond:
            if self._stepping is not None:
                return 0
            self.step_error = None
            if self.state == IDLE:
                self._open()
                self.state = PAUSED
                self._send("start")
                self._send("pause")
            elif self.state not in (RUNNING, PAUSED):
                return 0
        step0 = self.step
        self._awaited("_stepping", wait, "steps", int(n))
        return self.step - step0

    # --- views that need the worker --------------------------------------------------------------
    def snapshot(self, n: int = 8, max_age: float = 3.0, seed: int = 0) -> Snapshot | None:
        """While training, the worker computes the peek (asked at most every `max_age` seconds; the newest
        answer is shown); otherwise the server's copy of the final weights does."""
        if self.state != RUNNING:
            return super().snapshot(n=n, max_age=max_age, seed=seed)
        now = time.monotonic()
        if now - self._peek_asked >= max_age:
            self._peek_asked = now
            first = self._remote_snap is None
            self._send("peek", n, seed)
            if first:
                with self._cond:
                    self._cond.wait_for(lambda: self._remote_snap is not None, PEEK_WAIT_SECONDS)
        return self._remote_snap

    def worker_report(self, timeout: float = ACK_SECONDS) -> dict | None:
        """The worker's own count, asked now: {"step", "state"} (None if there is no worker or it is silent).
        For tests and benchmarks: what the worker did, not what the server last heard."""
        if self._worker is None:
            return None
        ok, _ = self._wait_ack(self._send("report", wait=True), timeout)
        with self._cond:
            return {"step": self._reported_step, "state": self._reported_state} if ok else None

    @property
    def worker_pid(self) -> int | None:
        """The worker process training this run (None when there is none)."""
        worker = self._worker
        return worker.pid if worker is not None else None


def _close_remote(worker: Worker, rid: int) -> None:
    """The session let go of its run: the worker drops it with the next message it gets. (A finalizer may run
    in any thread, even one in the middle of sending, so it only queues the message.)"""
    worker.runs.pop(rid, None)
    worker.closed.append(rid)


__all__ = ["ProcessRun", "FINISHED"]
