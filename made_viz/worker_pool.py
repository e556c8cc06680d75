"""The server's pool of training worker processes (see worker_main for what one does).

Students' training used to run in the server's own Python threads, so every click of every student waited
for the interpreter behind it. Here it runs in MADE_VIZ_TRAIN_WORKERS worker processes (default: one per
core), each at an OS priority MADE_VIZ_WORKER_NICE (default 5) below the server's, so a click always
wins the core. How the cores are shared among training students: each worker gives its running runs equal
slices in turn, and a Start goes to the worker with the fewest runs in progress, so with n students on w
workers each gets about w / n of the machine (`Pacer` is no longer in the way: it only sets the page's tick).

The pool starts lazily at the first Start, or when the server warms up (`warm.start_training_workers`).
A worker that dies (killed, out of memory) is noticed at once — its socket reaches end of file — and each
of its runs is told (`ProcessRun._worker_lost`); the next Start starts a new worker.
"""

from __future__ import annotations

import atexit
import itertools
import os
import socket
import subprocess
import sys
import threading
import weakref
from multiprocessing.connection import Connection
from pathlib import Path

from . import worker_protocol as proto

DEFAULT_NICE = 5  # below the server; 10 starved the workers on a loaded 2-core machine (load average 27)


def env_int(name: str, default: int, low: int) -> int:
    try:
        return max(low, int(os.environ.get(name, "") or default))
    except ValueError:
        return default


class Worker:
    """One worker process, its socket, and a thread that reads what it sends."""

    def __init__(self, pool: WorkerPool, nice: int):
        self.pool = pool
        mine, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "made_viz.worker_main", str(theirs.fileno()), str(nice)],
            pass_fds=(theirs.fileno(),),
            env=env,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(mine.detach())
        self.alive = True
        self.runs: dict[int, weakref.ref] = {}  # rid -> ProcessRun
        self.closed: list[int] = []  # runs dropped by their sessions, to tell the worker with the next send
        self._send_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name=f"made-viz-worker-{self.proc.pid}", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def load(self) -> int:
        """Runs in progress here (what a new Start is balanced on)."""
        return sum(1 for ref in list(self.runs.values()) if (run := ref()) is not None and run._in_progress)

    def send(self, msg) -> bool:
        """False if the worker is gone (its runs have been told)."""
        blob = proto.dumps(msg)
        try:
            with self._send_lock:
                if not self.alive:
                    return False
                while self.closed:
                    self.conn.send_bytes(proto.dumps(("close", self.closed.pop(), 0)))
                self.conn.send_bytes(blob)
            return True
        except OSError:
            self._died()
            return False

    def _read(self) -> None:
        try:
            while True:
                self._dispatch(proto.loads(self.conn.recv_bytes()))
        except (EOFError, OSError):
            pass
        self._died()

    def _dispatch(self, msg: tuple) -> None:
        """Hand a message to its run (no reference to the run outlives this call: a dropped run must be
        collectable, which closes it in the worker)."""
        if msg[0] == "ready":
            return
        ref = self.runs.get(msg[1])
        run = ref() if ref is not None else None
        if run is not None:
            run._on_message(msg)

    def _died(self) -> None:
        with self._send_lock:
            was_alive, self.alive = self.alive, False
        if not was_alive:
            return
        self.pool._forget(self)
        for ref in list(self.runs.values()):
            if (run := ref()) is not None:
                run._worker_lost()
        self.runs.clear()
        try:
            self.conn.close()
        except OSError:
            pass
        self.proc.poll()

    def stop(self, timeout: float = 5.0) -> None:
        """End the process; the reader thread then meets the end of its socket."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)
        self._reader.join(timeout)
        try:
            self.conn.close()
        except OSError:
            pass


class WorkerPool:
    """`size` worker processes (MADE_VIZ_TRAIN_WORKERS, default the number of cores), started on demand."""

    def __init__(self, size: int | None = None, nice: int | None = None):
        self.size = size if size is not None else env_int("MADE_VIZ_TRAIN_WORKERS", os.cpu_count() or 1, 1)
        self.nice = nice if nice is not None else env_int("MADE_VIZ_WORKER_NICE", DEFAULT_NICE, 0)
        self._workers: list[Worker] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def workers(self) -> list[Worker]:
        return list(self._workers)

    def start(self) -> None:
        """Bring the pool up to `size` live workers (they import torch in the background)."""
        with self._lock:
            while len(self._workers) < self.size:
                self._workers.append(Worker(self, self.nice))

    def assign(self, run) -> tuple[Worker, int]:
        """A worker for `run` (the least loaded) and a fresh id for it there."""
        self.start()
        with self._lock:
            worker = min(self._workers, key=Worker.load)
            rid = next(self._ids)
            worker.runs[rid] = weakref.ref(run)
        return worker, rid

    def _forget(self, worker: Worker) -> None:
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def shutdown(self) -> None:
        """Stop every worker (tests, benchmarks, the server's exit)."""
        with self._lock:
            workers, self._workers = self._workers, []
        for w in workers:
            with w._send_lock:
                w.alive = False
            w.stop()


POOL = WorkerPool()  # one per server process
atexit.register(POOL.shutdown)
