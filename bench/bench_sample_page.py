#!/usr/bin/env python
"""Benchmark of the Sample page, printed as one JSON object.

    python bench/bench_sample_page.py [--repeats 3] [--threads 1] [--no-app]

MADE with D = 784 (28x28) and one hidden layer of 500 units (initial weights: speed does not
depend on training), 16 samples:
  trajectory_fast_s / trajectory_reference_s   seconds to compute the whole trajectory with the
                    exact incremental sampler and with the reference one (D forward passes), in
                    the same run, medians over the repeats; identical = same samples;
  figure_build_s    building the plotly animation (once per trajectory, then kept in the session);
  animation_bytes   the figure's JSON as sent to the browser: default (thinned) and all steps;
  gif_bytes / gif_s the exported GIF;
  rerun_median_ms   a plain rerun of the page (streamlit.testing) with that model in the session.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from made_viz import animation as A  # noqa: E402
from made_viz.config import Config  # noqa: E402
from made_viz.model import MADE  # noqa: E402
from made_viz.sampling import sample  # noqa: E402


def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def rerun_ms(model: MADE, reruns: int) -> float:
    from streamlit.testing.v1 import AppTest

    from made_viz import ui

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.session_state[ui.MODEL] = model
    at.session_state[ui.DATASET] = "mnist"
    at.switch_page("made_viz/app_pages/sample.py").run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    times = []
    for _ in range(reruns):
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-app", action="store_true", help="skip the page rerun measurement")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = MADE(Config(d=784, shape=(28, 28), hidden=(500,), seed=0)).eval()
    sample(model, n=2, seed=0)  # warm-up
    fast_s, fast = timed(lambda: sample(model, n=16, seed=0, method="fast"), args.repeats)
    ref_s, ref = timed(lambda: sample(model, n=16, seed=0, method="reference"), args.repeats)
    build_s, fig = timed(lambda: A.animation_figure(fast, (28, 28)), args.repeats)
    plan_all = A.frame_plan(fast.order.numpy(), all_steps=True)
    build_all_s, fig_all = timed(lambda: A.animation_figure(fast, (28, 28), plan=plan_all), 1)
    gif_s, (gif, gif_plan) = timed(lambda: A.animation_gif(fast, (28, 28)), args.repeats)
    out = {
        "d": 784,
        "hidden": [500],
        "n": 16,
        "threads": args.threads,
        "trajectory_fast_s": round(fast_s, 4),
        "trajectory_reference_s": round(ref_s, 4),
        "speedup": round(ref_s / fast_s, 1),
        "identical": bool(torch.equal(fast.x, ref.x)),
        "figure_build_s": round(build_s, 3),
        "figure_build_all_steps_s": round(build_all_s, 3),
        "frames": len(fig.frames),
        "frames_all_steps": len(fig_all.frames),
        "animation_bytes": A.animation_json_size(fig),
        "animation_bytes_all_steps": A.animation_json_size(fig_all),
        "gif_frames": gif_plan.n_frames,
        "gif_bytes": len(gif),
        "gif_s": round(gif_s, 3),
    }
    if not args.no_app:
        out["rerun_median_ms"] = round(rerun_ms(model, 9), 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
