"""Training in worker processes (issue 17): a real worker pool, driven through `ProcessRun`, the handle a
session holds. Stop, Pause and Reset take effect within PROMPT seconds, measured on the worker's own step
count; a killed worker leaves a clear sentence and the last weights; runs share the pool fairly.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

from made_viz.config import Config
from made_viz.data import load_dataset
from made_viz.train import TrainConfig
from made_viz.training_process import ProcessRun
from made_viz.training_views import IDLE, PAUSED, RUNNING, STOPPED
from made_viz.worker_pool import WorkerPool

PROMPT = 0.5  # seconds: Stop, Pause and Reset must take effect within this
REPORT_WAIT = 60.0  # seconds: the worker answers "report" at its next command check; a loaded machine may take long
NICE = 5  # the test pool's workers run this much below the test process
START_SECONDS = 240.0  # a worker's first start imports torch; on a busy 2-core machine that can take long


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits8")


@pytest.fixture(scope="module")
def pool():
    p = WorkerPool(size=2, nice=NICE)
    p.start()
    yield p
    p.shutdown()


def long_run(digits, pool, hidden=(64, 64)) -> ProcessRun:
    cfg = Config(d=64, shape=(8, 8), hidden=hidden, seed=0)
    return ProcessRun(cfg, digits, TrainConfig(epochs=2000, batch_size=50), pool=pool)


def wait_until(cond, timeout: float = START_SECONDS, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def training(run: ProcessRun) -> ProcessRun:
    """Start `run` and tick it until its worker reports steps."""
    assert run.start() and run.state == RUNNING
    wait_until(lambda: run.advance(max_seconds=0.2) > 0 or run.step > 0, what="the first steps")
    return run


class Ticking(threading.Thread):
    """The page's fragment: one long tick of `run` in another thread (what it raised is re-raised)."""

    def __init__(self, run: ProcessRun, seconds: float):
        super().__init__(daemon=True)
        self.run_, self.seconds, self.error, self.steps, self.ended = run, seconds, None, None, None
        self.start()

    def run(self):
        try:
            self.steps = self.run_.advance(max_seconds=self.seconds)
        except BaseException as e:  # noqa: BLE001 - handed to the test's thread
            self.error = e
        finally:
            self.ended = time.monotonic()

    def join_checked(self, timeout: float = 30.0) -> int:
        self.join(timeout)
        assert not self.is_alive(), "the tick did not end"
        if self.error is not None:
            raise self.error
        return self.steps


def ticking(run: ProcessRun, seconds: float = 5.0) -> Ticking:
    """`run` trained (started first if idle) by a long tick in the background, already taking steps."""
    if run.state == IDLE:
        training(run)
    tick = Ticking(run, seconds)
    before = run.step
    wait_until(lambda: run.step > before, timeout=30, what="steps in the background tick")
    return tick


def test_workers_run_below_the_servers_priority(pool):
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    for w in pool.workers:
        wait_until(lambda w=w: os.getpriority(os.PRIO_PROCESS, w.pid) != mine, what="the worker's nice")
        assert os.getpriority(os.PRIO_PROCESS, w.pid) == min(19, mine + NICE)


def test_stop_is_prompt_and_the_reported_step_is_the_workers_last(digits, pool):
    run = long_run(digits, pool)
    tick = ticking(run)
    t0 = time.monotonic()
    assert run.stop()
    assert time.monotonic() - t0 < PROMPT
    frozen = run.step
    assert tick.join_checked() > 0 and tick.ended - t0 < PROMPT
    assert run.state == STOPPED and frozen > 0 and f"after {frozen} steps" in run.message
    time.sleep(0.5)
    report = run.worker_report(timeout=REPORT_WAIT)
    assert report == {"step": frozen, "state": STOPPED}  # the worker took no step after stop() returned
    assert run.advance(max_seconds=0.2) == 0 and run.step == frozen and run.progress()["step"] == frozen
    assert run.has_model and all(torch.isfinite(p).all() for p in run.model.parameters())
    assert run.evaluate() is not None and run.snapshot(n=2) is not None and run.checkpoint_bytes()


def test_pause_then_step_then_resume(digits, pool):
    run = long_run(digits, pool)
    tick = ticking(run)
    t0 = time.monotonic()
    assert run.pause()
    assert time.monotonic() - t0 < PROMPT
    frozen = run.step
    tick.join_checked()
    assert tick.ended - t0 < PROMPT
    time.sleep(0.4)
    assert run.worker_report(timeout=REPORT_WAIT) == {"step": frozen, "state": PAUSED}
    assert run.train_steps(5) == 5 and run.step == frozen + 5 and run.state == PAUSED
    assert run.worker_report(timeout=REPORT_WAIT)["step"] == frozen + 5
    assert run.resume() and run.state == RUNNING
    assert run.advance(max_seconds=0.3) > 0 and run.state == RUNNING
    run.stop()


def test_nothing_trains_between_ticks(digits, pool):
    """As when the page's fragment trained in the server: a student who leaves the Train page (no more
    ticks) stops training; once advance() returns, the worker takes no step until the next tick."""
    run = training(long_run(digits, pool))
    assert run.advance(max_seconds=0.3) > 0
    after = run.step
    time.sleep(0.5)
    assert run.worker_report(timeout=REPORT_WAIT) == {"step": after, "state": RUNNING} and run.step == after
    run.stop()


def test_a_tick_sent_without_waiting_trains_until_its_end_and_then_nothing(digits, pool):
    """What the Train page does (advance(wait=False)): it returns 0 at once; the worker trains through
    the tick's seconds while nobody waits, then takes no step until the next tick."""
    run = training(long_run(digits, pool))
    run.advance(max_seconds=0.3)  # waits for its end: nothing left of earlier ticks
    before = run.worker_report(timeout=REPORT_WAIT)["step"]
    t0 = time.monotonic()
    assert run.advance(max_seconds=1.0, wait=False) == 0
    assert time.monotonic() - t0 < 0.5  # a wait for the tick would take its whole second
    wait_until(lambda: run.step > before, what="steps of the tick sent")
    mid = run.worker_report(timeout=REPORT_WAIT)["step"]
    time.sleep(max(0.0, t0 + 1.0 - time.monotonic()) + 0.4)  # past the tick's end
    ended = run.worker_report(timeout=REPORT_WAIT)["step"]
    assert before < mid <= ended
    time.sleep(0.4)
    assert run.worker_report(timeout=REPORT_WAIT) == {"step": ended, "state": RUNNING}
    run.stop()


def test_train_steps_from_idle_pauses(digits, pool):
    run = long_run(digits, pool)
    assert run.train_steps(7) == 7 and run.state == PAUSED and run.step == 7
    assert len(run.train_points()) == 7 and run.has_model
    run.stop()


def test_reset_while_training_is_prompt_and_gives_a_clean_idle_run(digits, pool):
    run = long_run(digits, pool)
    tick = ticking(run)
    worker, old = run._worker, run._rid
    t0 = time.monotonic()
    run.reset()
    assert time.monotonic() - t0 < PROMPT
    tick.join_checked()
    assert tick.ended - t0 < PROMPT
    assert run.state == IDLE and run.step == 0 and run.model is None and run.history == []
    assert old not in worker.runs
    training(run)
    assert run.state == RUNNING
    run.stop()


def test_curves_and_peek_stream_back(digits, pool):
    run = long_run(digits, pool)
    tick = ticking(run, seconds=3.0)
    wait_until(lambda: len(run.train_points()) > 20, timeout=60, what="curve points")
    run.snapshot(n=4, max_age=0)
    wait_until(lambda: run.snapshot(n=4, max_age=60) is not None, timeout=30, what="the worker's peek")
    tick.join_checked()
    snap = run.snapshot(n=4, max_age=60)
    assert snap.samples.shape == (4, 64) and set(np.unique(snap.samples)) <= {0, 1}
    assert snap.probs.shape == (64,) and np.isfinite(snap.probs).all()
    run.stop()
    steps = [r["step"] for r in run.trainer.step_history]
    assert steps == sorted(set(steps)) and steps[-1] <= run.step
    assert run.progress()["examples_per_s"] > 0


def test_a_killed_worker_is_reported_and_the_last_weights_are_kept(digits, pool):
    run = long_run(digits, pool)
    tick = ticking(run, seconds=30.0)
    wait_until(lambda: run._weights_step > 0, timeout=60, what="weights")
    pid = run.worker_pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: run.state != RUNNING, timeout=10, what="the death to be noticed")
    tick.join_checked()
    assert run.state == STOPPED
    assert run.message.startswith("The training process stopped unexpectedly after")
    assert "weights from step" in run.message and "press New run" in run.message
    kept = [p.detach().clone() for p in run.model.parameters()]
    assert run.has_model and all(torch.isfinite(p).all() for p in kept)
    assert not run.start() and not run.resume()  # stopped: only New run / Reset leaves it
    again = training(long_run(digits, pool))  # a new Start works (on a new or the other worker)
    assert again.worker_pid != pid
    again.stop()
    assert all(torch.equal(a, b) for a, b in zip(kept, run.model.parameters()))  # untouched since
    run.reset()
    training(run).stop()


def test_two_runs_share_one_worker_fairly(digits):
    one = WorkerPool(size=1, nice=NICE)
    try:
        a, b = long_run(digits, one), long_run(digits, one)
        training(a), training(b)
        assert a.worker_pid == b.worker_pid
        ta, tb = Ticking(a, 3.0), Ticking(b, 3.0)
        da, db = ta.join_checked(), tb.join_checked()
        assert da > 0 and db > 0 and min(da, db) / max(da, db) > 0.6, (da, db)  # equal slices in turn
        ta, tb = Ticking(a, 3.0), Ticking(b, 3.0)
        time.sleep(1.0)
        assert a.pause()
        frozen, b_before = a.step, b.step
        time.sleep(0.5)
        assert (
            a.worker_report(timeout=REPORT_WAIT)["step"] == frozen
            and b.worker_report(timeout=REPORT_WAIT)["step"] > b_before
        )  # b goes on
        ta.join_checked(), tb.join_checked()
        a.stop(), b.stop()
    finally:
        one.shutdown()


def test_starts_go_to_the_least_loaded_worker(digits, pool):
    runs = [training(long_run(digits, pool, hidden=(16,))) for _ in range(2)]
    assert {r.worker_pid for r in runs} == {w.pid for w in pool.workers}
    for r in runs:
        r.stop()


def test_a_dropped_handle_frees_its_run_in_the_worker(digits, pool):
    run = training(long_run(digits, pool, hidden=(16,)))
    worker, rid = run._worker, run._rid
    del run
    gc.collect()
    assert rid not in worker.runs


def test_the_warm_up_starts_the_pool_for_the_process_backend_only(monkeypatch):
    from made_viz import warm, worker_pool

    small = WorkerPool(size=1, nice=NICE)
    monkeypatch.setattr(worker_pool, "POOL", small)
    try:
        monkeypatch.setenv("MADE_VIZ_TRAIN_BACKEND", "thread")
        warm.start_training_workers()
        assert small.workers == []
        monkeypatch.setenv("MADE_VIZ_TRAIN_BACKEND", "process")
        warm.start_training_workers()
        assert len(small.workers) == 1 and small.workers[0].proc.poll() is None
    finally:
        small.shutdown()


def test_the_backend_is_chosen_by_the_environment(monkeypatch):
    from made_viz import session

    monkeypatch.delenv("MADE_VIZ_TRAIN_BACKEND", raising=False)
    assert session.backend_name() == "process" and session.BACKENDS["process"] is ProcessRun
    monkeypatch.setenv("MADE_VIZ_TRAIN_BACKEND", "fast")
    with pytest.raises(ValueError, match="MADE_VIZ_TRAIN_BACKEND must be one of process, thread"):
        session.backend_name()


def test_steps_of_a_big_network_do_not_hold_the_workers_other_runs(digits):
    """The "+20 steps" of a big network used to run all its steps as one command: the worker's other runs took no
    step and their Stop got no answer until the steps were done (seconds for a 10 M-weight network, seen in a
    soak: the page said "stopping" all that time). The steps now take their turns like a tick's slices."""
    one = WorkerPool(size=1, nice=NICE)
    try:
        big = ProcessRun(
            Config(d=64, shape=(8, 8), hidden=(1500, 1500), seed=0),
            digits,
            TrainConfig(batch_size=200, epochs=2000),
            pool=one,
        )
        assert big.train_steps(3, wait=START_SECONDS) == 3  # built, its worker warm
        began = time.monotonic()
        assert big.train_steps(3, wait=START_SECONDS) == 3
        n = max(30, round(6.0 / ((time.monotonic() - began) / 3)))  # steps that take ~6 s on this machine
        small = training(long_run(digits, one, hidden=(16,)))
        assert big.worker_pid == small.worker_pid
        stepping = threading.Thread(target=lambda: setattr(stepping, "took", big.train_steps(n)), daemon=True)
        stepping.start()
        time.sleep(0.5)  # its steps are under way
        before = small.worker_report(timeout=REPORT_WAIT)["step"]
        assert stepping.is_alive(), "the small run's report waited for the big run's steps"
        Ticking(small, 1.0).join_checked()
        assert small.worker_report(timeout=REPORT_WAIT)["step"] > before  # the small run trained meanwhile
        assert small.stop(wait=REPORT_WAIT) and not small.stopping
        assert stepping.is_alive(), "the small run's Stop waited for the big run's steps"
        stepping.join(START_SECONDS)
        assert (stepping.took, big.step, big.state) == (n, n + 6, PAUSED)
        assert big.worker_report(timeout=REPORT_WAIT) == {"step": n + 6, "state": PAUSED}
    finally:
        one.shutdown()


class NoPool:
    """No workers: the run's messages are fed by the test."""

    def start(self):
        pass


def test_steps_the_worker_could_not_take_are_said_even_after_the_page_stopped_waiting(digits):
    """The page waits 0.3 s for "+20 steps"; a worker that then says it could not take them (a network it
    cannot build, an error in a slice) made the page fall back to "paused" with no word why. Now the run keeps
    the worker's sentence; the next "+N" clears it, and a second "+N" while one is pending asks for nothing."""
    from made_viz.worker_protocol import TrainerMirror

    run = ProcessRun(Config(d=64, shape=(8, 8), hidden=(16,), seed=0), digits, TrainConfig(), pool=NoPool())
    run._rid, run.state, run.trainer, run._stepping = 7, PAUSED, TrainerMirror(cfg=run.train_cfg), 3
    rec = {"examples": 0, "train_seconds": 0.0, "recent": [], "seq": 3, "state": PAUSED, "message": ""}
    assert run.stepping and run.train_steps(20) == 0 and run._seq == 0  # pending: nothing sent
    run._on_message(("ack", 7, 3, False, "out of memory while building the network", rec))
    assert not run.stepping and run.step_error == "out of memory while building the network"
    assert run.state == PAUSED
