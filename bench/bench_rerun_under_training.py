"""The Architecture page's rerun time while N students train, thread backend against process backend.

Prints one JSON object, the backends side by side, all measured in this one run and interleaved the same way:

* idle     — the Architecture page's reruns with nobody training (the floor);
* thread   — N students train in this process's threads (`training_run.LocalRun`, what the server did before
  issue 17): each student's thread is the Train page's fragment as the server runs it — every tick
  (`PACER.tick`), `advance(CHUNK_SECONDS x tick / TICK_SECONDS, pacer=PACER)`, then the NLL figure built and
  serialized as `st.plotly_chart` does;
* process  — the same N fragment loops, but the runs are `training_process.ProcessRun`: the training runs in
  the worker pool (`worker_pool.POOL`, one worker per core, nice +10) and `advance` only waits for it.

Meanwhile the main thread reruns the real Architecture page (streamlit.testing's AppTest, in this process,
so it competes for the interpreter exactly as a student's rerun in the server does): `reruns` plain reruns
and `reruns` reruns that trace another unit (a new network figure). Reported: median and p95 in ms, and the
students' total training speed (examples/s) in each case.

    nice -n 10 python bench/bench_rerun_under_training.py                # N = 4, digits8, hidden 128,128
    nice -n 10 python bench/bench_rerun_under_training.py --students 8 --reruns 30
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotly.io as pio  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from made_viz import curves  # noqa: E402
from made_viz.config import Config, parse_layers  # noqa: E402
from made_viz.data import load_dataset  # noqa: E402
from made_viz.pacer import CHUNK_SECONDS, PACER, TICK_SECONDS  # noqa: E402
from made_viz.train import TrainConfig  # noqa: E402
from made_viz.training_process import ProcessRun  # noqa: E402
from made_viz.training_run import LocalRun  # noqa: E402
from made_viz.worker_pool import POOL  # noqa: E402

BACKENDS = {"thread": LocalRun, "process": ProcessRun}


class Student(threading.Thread):
    """One student watching the Train page: the fragment's loop, as the server runs it."""

    def __init__(self, run, stop: threading.Event):
        super().__init__(daemon=True)
        self.run_, self.stop_, self.error = run, stop, None

    def run(self):
        try:
            run = self.run_
            while not self.stop_.is_set() and run.active:
                t0 = time.perf_counter()
                tick = PACER.tick(id(run))
                run.advance(max_seconds=CHUNK_SECONDS * tick / TICK_SECONDS, pacer=PACER)
                fig = curves.nll_figure(
                    run.train_points(), run.valid_points(), run.cfg.d, references=run.references(), height=290
                )
                pio.to_json(fig, validate=False)
                left = tick - (time.perf_counter() - t0)
                if left > 0:
                    self.stop_.wait(left)  # the browser's timer
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            self.error = e


def architecture_session() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page("made_viz/app_pages/architecture.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ms(xs: list[float]) -> dict:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return {"median_ms": round(1000 * statistics.median(xs), 1), "p95_ms": round(1000 * p95, 1)}


def reruns(at: AppTest, n: int) -> dict:
    plain, traced = [], []
    for j in range(n):
        t = time.perf_counter()
        at.run()
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        at.selectbox(key="w_trace").set_value(f"u:3:{j % 64}").run()  # output unit j of D = 64, hidden 128,128
        traced.append(time.perf_counter() - t)
        assert not at.exception, [e.value for e in at.exception]
    return {"plain": ms(plain), "trace": ms(traced)}


def measure(backend: str | None, students: int, n_reruns: int, at: AppTest, cfg, ds, tcfg) -> dict:
    stop, runs = threading.Event(), []
    threads = []
    if backend is not None:
        runs = [BACKENDS[backend](cfg, ds, tcfg) for _ in range(students)]
        for run in runs:
            run.start()
        for run in runs:  # every student trains before the clock starts (the pool's workers are up)
            while run.step == 0:
                run.advance(max_seconds=0.2)
        threads = [Student(run, stop) for run in runs]
        for t in threads:
            t.start()
        time.sleep(1.0)
    steps0, t0 = sum(r.step for r in runs), time.perf_counter()
    out = reruns(at, n_reruns)
    wall = time.perf_counter() - t0
    out["students_examples_per_s"] = round((sum(r.step for r in runs) - steps0) * tcfg.batch_size / wall)
    stop.set()
    for t in threads:
        t.join(30)
        if t.error is not None:
            raise t.error
    for run in runs:
        run.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=4)
    ap.add_argument("--reruns", type=int, default=20)
    ap.add_argument("--data", default="digits8")
    ap.add_argument("--hidden", default="128,128")
    args = ap.parse_args()
    ds = load_dataset(args.data)
    cfg = Config(d=ds.d, shape=ds.shape, hidden=parse_layers(args.hidden), seed=0)
    tcfg = TrainConfig(epochs=100000, batch_size=100)
    POOL.start()  # as the warm-up does: the workers import torch while the page warms up
    at = architecture_session()
    reruns(at, 3)  # warm caches
    result = {"students": args.students, "reruns": args.reruns, "data": args.data, "hidden": args.hidden}
    result["idle"] = measure(None, 0, args.reruns, at, cfg, ds, tcfg)
    for backend in ("thread", "process"):
        result[backend] = measure(backend, args.students, args.reruns, at, cfg, ds, tcfg)
    result["pool_workers"] = POOL.size
    result["worker_nice"] = POOL.nice
    POOL.shutdown()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
