"""The worker's round-robin (made_viz.worker_main.WorkerLoop): what one turn of a run trains, with fake runs
(no torch, no process)."""

from __future__ import annotations

import time

from made_viz.worker_main import SLICE_SECONDS, Hosted, WorkerLoop


class FakeRun:
    """Records the seconds each turn was given; one step per turn."""

    def __init__(self):
        self.given: list[float] = []
        self.active, self.state, self.model = True, "running", None

    def advance(self, max_seconds, interrupt=None):
        self.given.append(max_seconds)
        return 1


def loop_with(*deadlines: float) -> WorkerLoop:
    loop = WorkerLoop.__new__(WorkerLoop)  # no socket: turns only

    class NoCommands:
        def poll(self, timeout=0):
            return False

    loop.conn = NoCommands()
    loop.runs = {i: Hosted(FakeRun(), None, tick=1, deadline=d) for i, d in enumerate(deadlines)}
    loop._turn = 0
    loop.send_progress = lambda *a, **k: None
    return loop


def test_a_turn_that_comes_after_its_tick_ended_is_still_a_whole_slice():
    """With many runs a turn can come round after the run's tick ended; one step there, while the runs
    whose turn came earlier got whole slices, made the shares unequal (the slowest of 30 runs got 0.44 of
    an equal share)."""
    now = time.monotonic()
    loop = loop_with(now - 1.0, now + 10.0)
    assert loop.runnable() == [0, 1]
    loop.train_slice(0)
    loop.train_slice(1)
    assert loop.runs[0].run.given == [SLICE_SECONDS] and loop.runs[1].run.given == [SLICE_SECONDS]
    # its one turn taken, the ended tick is used up: acknowledged and no longer runnable
    assert loop.runnable() == [1]


def test_later_turns_of_a_tick_stop_at_its_end():
    now = time.monotonic()
    loop = loop_with(now + 0.01)
    loop.train_slice(0)  # the first turn: a whole slice
    loop.runs[0].deadline = time.monotonic() + 0.01
    loop.train_slice(0)
    first, second = loop.runs[0].run.given
    assert first == SLICE_SECONDS and 0.0 <= second <= 0.01 < SLICE_SECONDS
    loop.runs[0].deadline = time.monotonic() - 1.0
    loop.train_slice(0)
    assert loop.runs[0].run.given[-1] == 0.0  # past the end: one step (advance's minimum), no more


class SteppingRun:
    """A paused run taking "+N steps": one step per turn (no torch)."""

    def __init__(self):
        self.active, self.state, self.model, self.steps = False, "paused", object(), 0

    @property
    def can_step(self):
        return self.state in ("running", "paused")

    def train_steps(self, n, max_seconds=None, interrupt=None):
        took = min(n, 1)
        self.steps += took
        return took


def test_steps_stream_their_progress_without_the_weights_until_they_are_taken():
    """A paused run taking its "+N steps" is not active; the worker sent its weights (a copy of every tensor,
    9 MB for a 64-1000-1000 network) with every progress message meanwhile, which made a big network's steps
    nearly twice as slow. The weights come with the acknowledgement, once the steps are taken."""
    loop = loop_with()
    sent: list[tuple[bool, tuple | None]] = []
    loop.send_progress = lambda rid, h, with_weights, ack=None: sent.append((with_weights, ack))
    loop.runs[0] = h = Hosted(SteppingRun(), None, seq=5)
    loop.queue_steps(0, h, 4)
    while loop.runnable():
        h.progress_sent = h.weights_sent = time.monotonic() - 0.5  # a progress message is due every turn
        loop.train_slice(0)
        loop.end_done_steps()
    assert h.run.steps == 4 and h.steps_seq is None
    progress, acks = [w for w, ack in sent if ack is None], [(w, ack) for w, ack in sent if ack is not None]
    assert len(progress) >= 3 and not any(progress), "weights sent with the progress of steps still to take"
    assert acks == [(True, (5, True, None))]  # the steps' acknowledgement carries the weights
