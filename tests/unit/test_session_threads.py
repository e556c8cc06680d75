"""TrainingRun under threads: Stop, Pause and Reset take effect promptly while another thread trains,
and one run's model is touched by one thread at a time (issue 12, defect 4).

The Train page trains in a fragment (one thread) while a button's callback (another run of the
script) calls stop(); peeks and evaluations may run alongside. Every assert made inside a worker
thread is collected and re-raised in the test's own thread, so a failure there fails the test.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from made_viz.config import Config
from made_viz.data import load_dataset
from made_viz.session import IDLE, PAUSED, STOPPED
from made_viz.train import TrainConfig
from made_viz.training_run import LocalRun as TrainingRun  # the engine each worker drives, here in threads

PROMPT = 0.5  # seconds: Stop, Pause and Reset must take effect within this


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits8")


def long_run(digits, **kw) -> TrainingRun:
    cfg = Config(d=64, shape=(8, 8), hidden=(64, 64), seed=0, **kw)
    return TrainingRun(cfg, digits, TrainConfig(epochs=2000, batch_size=50))


class Worker(threading.Thread):
    """A thread running `fn`; `join_checked` re-raises whatever it raised (asserts included)."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.error, self.result, self.ended = fn, None, None, None

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self.error = e
        finally:
            self.ended = time.monotonic()

    def join_checked(self, timeout: float = 30.0):
        self.join(timeout)
        assert not self.is_alive(), "the worker thread did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def training_in_background(run: TrainingRun, seconds: float = 5.0) -> Worker:
    """Start `run` and train it in another thread with one long chunk, as the page's fragment does."""
    run.start()
    worker = Worker(lambda: run.advance(max_seconds=seconds))
    worker.start()
    time.sleep(0.2)
    assert run.step > 0, "the background chunk did not start training"
    return worker


def test_stop_ends_a_running_chunk_promptly_and_freezes_the_step_count(digits):
    run = long_run(digits)
    worker = training_in_background(run)
    t0 = time.monotonic()
    assert run.stop()
    returned = time.monotonic()
    steps = worker.join_checked()
    frozen = run.step
    assert returned - t0 < PROMPT and worker.ended - t0 < PROMPT
    assert run.state == STOPPED and steps > 0
    assert f"after {frozen} steps" in run.message
    time.sleep(0.3)
    assert run.advance(max_seconds=0.2) == 0
    assert run.step == frozen and run.progress()["step"] == frozen and run.state == STOPPED


def test_pause_ends_a_running_chunk_promptly(digits):
    run = long_run(digits)
    worker = training_in_background(run)
    t0 = time.monotonic()
    assert run.pause()
    frozen = run.step
    assert time.monotonic() - t0 < PROMPT
    worker.join_checked()
    assert worker.ended - t0 < PROMPT and run.state == PAUSED
    time.sleep(0.2)
    assert run.step == frozen  # no step after pause() returned
    assert run.resume() and run.advance(max_steps=3) == 3 and run.step == frozen + 3


def test_reset_while_training_gives_a_clean_idle_run(digits):
    run = long_run(digits)
    worker = training_in_background(run)
    t0 = time.monotonic()
    run.reset()
    assert time.monotonic() - t0 < PROMPT
    worker.join_checked()
    assert worker.ended - t0 < PROMPT
    assert run.state == IDLE and run.step == 0 and run.model is None and run.history == []
    assert run.start() and run.advance(max_steps=2) == 2 and run.step == 2


class Occupancy:
    """Records whether two threads were ever inside the model's code at the same time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inside: dict[int, int] = {}
        self.overlaps = 0

    def wrap(self, fn):
        def wrapped(*a, **k):
            me = threading.get_ident()
            with self.lock:
                if any(t != me and n > 0 for t, n in self.inside.items()):
                    self.overlaps += 1
                self.inside[me] = self.inside.get(me, 0) + 1
            try:
                time.sleep(0.0005)  # widen the window a race would need
                return fn(*a, **k)
            finally:
                with self.lock:
                    self.inside[me] -= 1

        return wrapped


def test_peeks_and_evaluations_never_overlap_a_training_step(digits):
    run = long_run(digits, num_masks=3, order="random")
    run.start()
    occ = Occupancy()
    model, trainer = run.model, run.trainer
    model.forward = occ.wrap(model.forward)  # every use of the model goes through forward
    trainer._train_step = occ.wrap(trainer._train_step)  # a step: forward, backward, optimizer
    model.set_mask = occ.wrap(model.set_mask)

    def train():
        for _ in range(15):
            run.advance(max_seconds=0.05)

    worker = Worker(train)
    worker.start()
    seen = 0
    while worker.is_alive() and seen < 200:
        snap = run.snapshot(n=2, max_age=0)
        assert snap is not None and np.isfinite(snap.probs).all()
        ev = run.evaluate()
        assert ev is not None and np.isfinite(ev["nll_1"]) and np.isfinite(ev["nll_ensemble"])
        run.checkpoint_bytes()
        seen += 1
    worker.join_checked()
    assert seen > 0 and run.step > 0
    assert occ.overlaps == 0, f"{occ.overlaps} times two threads used the model at once"


def test_stop_from_another_thread_wins_over_a_finishing_chunk(digits):
    """Stop pressed while the last chunk is finishing the run: the run is reported stopped, with the
    frozen count (the chunk's "done" must not overwrite the student's Stop)."""
    run = TrainingRun(Config(d=64, shape=(8, 8), hidden=(16,), seed=0), digits, TrainConfig(epochs=1, batch_size=500))
    run.start()
    trainer, original = run.trainer, run.trainer._end_epoch
    reached = threading.Event()

    def end_epoch_after_stop():
        reached.set()
        deadline = time.monotonic() + 5
        while run.state != STOPPED and time.monotonic() < deadline:  # Stop lands now
            time.sleep(0.005)
        return original()

    trainer._end_epoch = end_epoch_after_stop
    worker = Worker(lambda: run.advance(max_seconds=5))
    worker.start()
    assert reached.wait(10)
    assert run.stop()
    worker.join_checked()
    assert trainer.done and run.state == STOPPED and f"after {run.step} steps" in run.message
    assert torch.isfinite(next(run.model.parameters())).all()
