"""A training worker process: trains the runs the server hands it, round-robin, and streams their progress.

Started by `worker_pool` as `python -m made_viz.worker_main FD NICE`: a fresh interpreter (what the "spawn"
start method gives, without its re-import of the parent's `__main__`, which inside Streamlit is a page
script). It lowers its own OS priority by NICE, uses one torch thread, and then loops:

1. carry out every command waiting on the socket (open, start, pause, resume, stop, steps, tick, peek,
   report, close);
2. give the next run that is running and has a tick to use, or has steps left of a "+N steps", one slice of
   SLICE_SECONDS of minibatches — a command arriving ends the slice after the step in flight (the trainer
   asks before every step), so Stop, Pause and Reset reach the run within one minibatch;
3. send that run's progress at most every PROGRESS_SECONDS, its weights at most every WEIGHTS_SECONDS
   (the last good weights the server keeps if this process dies), and everything at once in the
   acknowledgement of a command.

A run trains while its Train page ticks, as when the page's fragment trained it in the server: each tick
("tick", deadline) lets it train until that moment (time.monotonic is the machine's clock, the same in
both processes), at least one slice, and is acknowledged once used up. A student who leaves the page (or
closes the tab) stops training once its last tick ends (the page sends each tick to end 1.5 ticks on,
pacer.TICK_COVER, and does not wait for it). Every run with a tick to use gets the same slices in turn:
fair sharing inside a worker.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection

SLICE_SECONDS = 0.05  # one run's turn
PROGRESS_SECONDS = 0.1  # a run's progress is sent at most this often
WEIGHTS_SECONDS = 2.0  # ... and its weights
IDLE_POLL_SECONDS = 1.0  # nothing to train: wait this long for a command


@dataclass
class Hosted:
    """One student's run in this worker, with what the server already has of it."""

    run: object  # training_run.LocalRun
    cursor: object  # worker_protocol.Cursor
    seq: int = 0  # the last command carried out
    deadline: float = 0.0  # the page's tick lets it train until then ...
    tick: int | None = None  # ... (that tick's command, acknowledged once it is used up)
    tick_steps: int = 0  # steps taken in that tick (its first turn is a whole slice, even past its end)
    steps_left: int = 0  # of a "steps" command (+N steps), trained in turns like a tick's ...
    steps_seq: int | None = None  # ... and acknowledged once done
    progress_sent: float = 0.0
    weights_sent: float = 0.0
    state_sent: str = ""


class WorkerLoop:
    def __init__(self, conn: Connection):
        from . import worker_protocol as proto

        self.conn, self.proto = conn, proto
        self.runs: dict[int, Hosted] = {}
        self._turn = 0

    def send(self, msg) -> None:
        self.conn.send_bytes(self.proto.dumps(msg))

    def serve(self) -> None:
        """Until the server goes away (end of file on the socket)."""
        self.send(("ready", os.getpid()))
        try:
            while True:
                self.end_used_ticks()
                self.end_done_steps()
                ready = self.runnable()
                if self.conn.poll(0 if ready else IDLE_POLL_SECONDS):
                    self.handle(self.proto.loads(self.conn.recv_bytes()))
                elif ready:
                    self.train_slice(ready[self._turn % len(ready)])
                    self._turn += 1
        except (EOFError, OSError):
            return

    def runnable(self) -> list[int]:
        """Runs that have steps left to take, or are running and have some of their tick left (or not yet
        their one step)."""
        now = time.monotonic()
        return [
            rid
            for rid, h in self.runs.items()
            if h.steps_left > 0 or (h.tick is not None and h.run.active and (h.deadline > now or h.tick_steps == 0))
        ]

    def end_used_ticks(self) -> None:
        """Acknowledge the ticks that are used up (or that the run can no longer use)."""
        now = time.monotonic()
        for rid, h in list(self.runs.items()):
            if h.tick is not None and (not h.run.active or (h.deadline <= now and h.tick_steps > 0)):
                self.send_progress(rid, h, False, ack=(h.tick, True, None))
                h.tick = None

    def end_done_steps(self) -> None:
        """Acknowledge the "steps" commands whose steps are taken (or that the run can no longer take: it
        was stopped, finished or diverged), with the weights."""
        for rid, h in list(self.runs.items()):
            if h.steps_seq is not None and (h.steps_left <= 0 or not h.run.can_step):
                h.steps_left, seq, h.steps_seq = 0, h.steps_seq, None
                self.send_progress(rid, h, True, ack=(seq, True, None))

    def train_slice(self, rid: int) -> None:
        """One turn of `rid`: a slice of its steps left, or of its tick, cut short by the tick's end, except
        that the first turn of a tick is a whole slice even past the tick's end: with many runs, a run's
        turn may come round only after its tick ended, and one step there (while the others got whole
        slices) made the shares unequal."""
        h = self.runs[rid]
        if h.steps_left > 0:
            took = self.take_steps(rid, h)
            h.tick_steps += took
        else:
            left = SLICE_SECONDS if h.tick_steps == 0 else h.deadline - time.monotonic()
            h.tick_steps += h.run.advance(max_seconds=max(0.0, min(SLICE_SECONDS, left)), interrupt=self.conn.poll)
        now = time.monotonic()
        if h.run.state != h.state_sent or now - h.progress_sent >= PROGRESS_SECONDS:
            # the weights every few seconds, and once a run stops being active (stopped, finished, diverged); a
            # paused run taking "+N steps" is not active either: its weights come with the steps' acknowledgement
            ended = not h.run.active and h.steps_seq is None
            self.send_progress(rid, h, now - h.weights_sent >= WEIGHTS_SECONDS or ended)

    def send_progress(self, rid: int, h: Hosted, with_weights: bool, ack: tuple | None = None) -> None:
        now = time.monotonic()
        with_weights = with_weights and h.run.model is not None
        rec = self.proto.progress_record(h.run, h.cursor, h.seq, with_weights)
        h.progress_sent, h.state_sent = now, h.run.state
        if with_weights:
            h.weights_sent = now
        self.send(("progress", rid, rec) if ack is None else ("ack", rid, *ack, rec))

    # --- commands ----------------------------------------------------------------------------------------
    def handle(self, msg: tuple) -> None:
        kind, rid = msg[0], msg[1]
        if kind == "open":
            self.open(rid, *msg[2:])
            return
        h = self.runs.get(rid)
        if h is None:
            return  # closed meanwhile
        h.seq = msg[2]
        if kind == "close":
            del self.runs[rid]
        elif kind == "peek":
            n, seed = msg[3], msg[4]
            self.send(("snap", rid, h.run.snapshot(n=n, max_age=0, seed=seed) if h.run.model is not None else None))
        elif kind == "tick":
            if h.tick is not None:  # the page ticked again before the last tick was used up
                self.send_progress(rid, h, False, ack=(h.tick, True, None))
            h.tick, h.deadline, h.tick_steps = h.seq, msg[3], 0
        elif kind == "steps":
            self.queue_steps(rid, h, msg[3])
        else:
            self.command(rid, h, kind, msg[3:])

    def open(self, rid: int, cfg, ref, train_cfg) -> None:
        from .training_run import LocalRun

        self.runs[rid] = Hosted(LocalRun(cfg, self.proto.resolve_data(ref), train_cfg), self.proto.Cursor())

    def queue_steps(self, rid: int, h: Hosted, n: int) -> None:
        """+N steps: N more steps, taken in turns like a tick's slices and acknowledged once taken (one command
        that took them all held the worker's other runs, and their Stop, for seconds on a big network). An
        idle run is built and paused first; a second "+N" before the first is done adds its N."""
        try:
            h.run.train_steps(0)  # builds an idle run (paused); takes no step
        except Exception as e:  # noqa: BLE001 - the student's server gets the sentence
            traceback.print_exc(file=sys.stderr)
            self.send_progress(rid, h, False, ack=(h.seq, False, str(e) or type(e).__name__))
            return
        if h.steps_seq is not None:  # the earlier "+N": its steps are now part of these
            self.send_progress(rid, h, False, ack=(h.steps_seq, True, None))
        h.steps_left, h.steps_seq = h.steps_left + max(0, int(n)), h.seq

    def take_steps(self, rid: int, h: Hosted) -> int:
        """One turn of a run's steps left: a slice (at least one step unless a command is waiting)."""
        try:
            took = h.run.train_steps(h.steps_left, max_seconds=SLICE_SECONDS, interrupt=self.conn.poll)
        except Exception as e:  # noqa: BLE001 - the student's server gets the sentence
            traceback.print_exc(file=sys.stderr)
            seq, h.steps_seq, h.steps_left = h.steps_seq, None, 0
            self.send_progress(rid, h, True, ack=(seq, False, str(e) or type(e).__name__))
            return 0
        h.steps_left -= took
        return took

    def command(self, rid: int, h: Hosted, kind: str, args: tuple) -> None:
        """start / pause / resume / stop / report: carried out, then acknowledged with the run's news (and its
        weights: after Pause or Stop they are what the Sample page gets)."""
        run, ok, error = h.run, False, None
        try:
            if kind == "report":
                ok = True  # nothing to do: the acknowledgement is the report
            else:
                ok = bool(getattr(run, kind)())
        except Exception as e:  # noqa: BLE001 - the student's server gets the sentence
            error = str(e) or type(e).__name__
            traceback.print_exc(file=sys.stderr)
        self.send_progress(rid, h, True, ack=(h.seq, ok, error))


def warm_up() -> None:
    """Pay a first run's costs before any student's: the library's training modules and what torch loads
    on its first optimizer step and first sampling (seconds at the worker's low priority on a busy machine:
    a class's first Start waited for them, and a Stop right after it up to 5-10 s). A tiny run on made-up
    data, three steps and a peek."""
    import numpy as np

    from .config import Config
    from .data import Dataset
    from .recipe import TrainConfig
    from .training_run import LocalRun

    x = (np.random.default_rng(0).random((40, 4)) < 0.5).astype(np.uint8)
    ds = Dataset("warm-up", x, x[:10], (2, 2), "the worker's warm-up")
    run = LocalRun(Config(d=4, shape=(2, 2), hidden=(8,), seed=0), ds, TrainConfig(epochs=1, batch_size=10))
    run.train_steps(3)
    run.snapshot(n=2, max_age=0)


def main(argv: list[str]) -> int:
    fd, nice = int(argv[0]), int(argv[1])
    if nice:
        os.nice(nice)  # the server's clicks come first
    import torch

    torch.set_num_threads(1)  # one core per worker: the pool has one worker per core
    warm_up()  # before "ready": commands sent meanwhile wait in the socket
    WorkerLoop(Connection(fd)).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
