#!/usr/bin/env python
"""Sampling speed: the exact incremental sampler vs the reference (D full forward passes).

    python bench/bench_sample.py [--quick] [--threads N] [--repeats R]

MADE with D = 784 and one hidden layer of 500 units (natural order, random degrees, initial
weights: speed does not depend on training). For n = 16 and n = 100 samples, both methods of
`made_viz.sampling.sample` run after a warm-up, interleaved; the figures are medians over the
repeats. Prints one JSON object with seconds per call, the speedups (targets >= 10x at n = 16,
>= 30x at n = 100) and whether both methods drew identical samples from the same seed (they
use the same random numbers; a difference can only come from float rounding at p == u).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

try:
    import made_viz  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from made_viz.config import Config  # noqa: E402
from made_viz.model import MADE  # noqa: E402
from made_viz.sampling import sample  # noqa: E402

D, HIDDEN = 784, 500
TARGETS = {16: 10.0, 100: 30.0}


def seconds(model: MADE, n: int, method: str, seed: int = 0) -> tuple[float, torch.Tensor]:
    t = time.perf_counter()
    traj = sample(model, n=n, seed=seed, method=method)
    return time.perf_counter() - t, traj.x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="2 repeats")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 2
    if args.threads:
        torch.set_num_threads(args.threads)

    model = MADE(Config(d=D, hidden=(HIDDEN,), order="natural", seed=0)).eval()
    out = {
        "benchmark": "sample",
        "d": D,
        "hidden": HIDDEN,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "repeats": args.repeats,
    }
    for n in TARGETS:
        seconds(model, n, "fast")  # warm-up
        seconds(model, n, "reference")
        times = {"fast": [], "reference": []}
        identical, differing = True, 0
        for r in range(args.repeats):
            for method in ("fast", "reference") if r % 2 == 0 else ("reference", "fast"):
                dt, _ = seconds(model, n, method, seed=r)
                times[method].append(dt)
            _, xf = seconds(model, n, "fast", seed=100 + r)
            _, xr = seconds(model, n, "reference", seed=100 + r)
            diff = int((xf != xr).sum())
            differing += diff
            identical &= diff == 0
        fast, ref = statistics.median(times["fast"]), statistics.median(times["reference"])
        out[f"n{n}"] = {
            "fast_s": round(fast, 5),
            "reference_s": round(ref, 5),
            "speedup": round(ref / fast, 2),
            "target_speedup": TARGETS[n],
            "identical_samples": identical,
            "differing_pixels": differing,
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
