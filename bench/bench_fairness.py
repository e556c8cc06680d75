#!/usr/bin/env python
"""Training shared by a class (issue 17): do N students training at once each get a fair share, and do they
together get the machine's training throughput? Not part of the tests.

    python -m bench.bench_fairness                      # 30 runs on the worker pool vs one headless trainer
    python -m bench.bench_fairness --runs 10 --seconds 20

Both sides train the Train page's default: the 8 x 8 digits on the default preset's network (2 x 128), its
default settings (Adam, batch 100), measured side by side in one run:

1. headless: one `Trainer` in this process with torch using every core (`torch.set_num_threads(cores)`), for
   --seconds: steps per second, the most the machine gives one training;
2. the class: N `ProcessRun`s (what the Train page creates, MADE_VIZ_TRAIN_BACKEND=process) on the server's
   worker pool (one worker per core, one torch thread each), all started, each driven by its own thread tick
   after tick as the page's fragment does, for --seconds: every --tick seconds it sends a tick that ends
   pacer.TICK_COVER ticks on without waiting for it (`--drive page`, what the Train page does), or, as the
   page did before, `advance(tick)` waiting for each tick's end (`--drive wait`). Each run's steps per second
   are compared with an equal share (the class's total / N) and the class's total with the headless figure.

Targets (issue 17): every run >= 80 % of an equal share; the sum >= 80 % of the headless trainer.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def headless(cfg, ds, seconds: float, threads: int) -> float:
    """Steps per second of one Trainer using `threads` torch threads (after a short warm-up)."""
    import torch

    from made_viz.model import MADE
    from made_viz.recipe import TrainConfig
    from made_viz.train import Trainer

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        trainer = Trainer(MADE(cfg), ds.train, TrainConfig(epochs=100_000))  # never done within --seconds
        trainer.step_chunk(max_seconds=1.0)
        step0, t0 = trainer.step, time.perf_counter()
        while time.perf_counter() - t0 < seconds and not trainer.done:
            trainer.step_chunk(max_seconds=0.5)
        return (trainer.step - step0) / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)


def class_of(cfg, ds, n: int, seconds: float, tick: float, drive: str = "page") -> list[float]:
    """Steps per second of each of n ProcessRuns trained at once on the worker pool."""
    from made_viz.pacer import TICK_COVER
    from made_viz.recipe import TrainConfig
    from made_viz.training_process import ProcessRun
    from made_viz.worker_pool import POOL

    POOL.start()
    runs = [ProcessRun(cfg, ds, TrainConfig(epochs=100_000, seed=i)) for i in range(n)]
    for r in runs:
        r.train_steps(1)  # each run is open in a worker that has imported torch
        r.resume()
    counts = [0] * n
    stop = threading.Event()
    go = threading.Barrier(n + 1)

    def drive(i: int) -> None:
        go.wait()
        step0 = runs[i].step
        while not stop.is_set():
            if drive == "wait":
                runs[i].advance(tick)
            else:
                runs[i].advance(tick * TICK_COVER, wait=False)
                stop.wait(tick)
        counts[i] = runs[i].step - step0

    threads = [threading.Thread(target=drive, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    elapsed = time.perf_counter() - t0
    for r in runs:
        r.stop()
    return [c / elapsed for c in counts]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=30, help="students training at once (default 30)")
    ap.add_argument("--seconds", type=float, default=30.0, help="how long each side trains (default 30)")
    ap.add_argument("--tick", type=float, default=0.5, help="the page's tick: seconds per advance() (default 0.5)")
    ap.add_argument(
        "--drive",
        choices=["page", "wait"],
        default="page",
        help="page: ticks sent without waiting, as the Train page does (default); wait: each tick waited for",
    )
    args = ap.parse_args(argv)

    from made_viz.data import load_dataset
    from made_viz.ui import DEFAULT_PRESET, PRESETS

    cores = os.cpu_count() or 1
    ds = load_dataset("digits8")
    cfg = PRESETS[DEFAULT_PRESET].cfg
    solo = headless(cfg, ds, args.seconds, cores)
    rates = class_of(cfg, ds, args.runs, args.seconds, args.tick, args.drive)
    total = sum(rates)
    share = total / len(rates)
    report = {
        "machine_cores": cores,
        "runs": args.runs,
        "drive": args.drive,
        "seconds": args.seconds,
        "headless_steps_per_s": round(solo, 1),
        "class_total_steps_per_s": round(total, 1),
        "class_total_vs_headless": round(total / solo, 3),
        "equal_share_steps_per_s": round(share, 2),
        "worst_run_vs_equal_share": round(min(rates) / share, 3) if share else None,
        "best_run_vs_equal_share": round(max(rates) / share, 3) if share else None,
        "targets": {
            "every run >= 0.8 of an equal share": min(rates) >= 0.8 * share,
            "sum >= 0.8 of headless": total >= 0.8 * solo,
        },
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
