"""How one server process shares its training time among the students training in it.

The Train page drives a run with a fragment that re-runs every tick (a browser timer), draws the
progress, then trains one chunk; `Pacer` (one per process: `PACER`) decides how long a tick and a
chunk are when several sessions train at once, and lets at most a few chunks train at a time.
No streamlit and no torch here: unit-testable.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

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
# a run trained by a worker process is told to train until TICK_COVER ticks from now, without the page
# waiting: the next tick (due one tick later, later when the server is busy) replaces it, so the run
# trains without gaps while its page ticks and stops at most TICK_COVER ticks after the page went away
TICK_COVER = 1.5
TICKS_PER_SECOND = 4.0  # a process redraws at most about this many training ticks per second (8 took most
# of a process's core with 15 students training: their clicks waited 8-13 s, p95, bench/ws_load.py)
PEEKS_PER_SECOND = 2.0  # and at most about this many "samples now" panels (each asks the worker for samples)
MIN_CHUNK_SECONDS = 0.03  # the shortest fair share of a tick (a few minibatches)


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

    def peek(self, run_key: int) -> float:
        """How often the Train page refreshes a run's samples panel: PEEK_SECONDS, longer when many train."""
        return max(PEEK_SECONDS, self.training(include=run_key) / PEEKS_PER_SECOND)

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


PACER = Pacer(_slots())  # one per server process: the only state here shared between sessions
