"""Training speed inside the Train page against the headless Trainer, on the same config.

The fragment and stop measurements drive `training_run.LocalRun`, the engine, in this process (the thread
backend, and what each worker process runs); the process backend's effect on other students' reruns is
bench/bench_rerun_under_training.py's. The apptest measurement uses whichever backend the page gets
(MADE_VIZ_TRAIN_BACKEND).

Prints one JSON object. Measurements (examples trained per wall-clock second, one CPU thread,
like the app), in one process and interleaved so that machine load affects them alike:

* headless  — `Trainer.step_chunk` in a loop and nothing else (what `made-viz train` does);
* fragment  — what the Train page's server does while a run is live: every TICK_SECONDS (the
  browser's `run_every` timer; a tick that comes while the previous one still runs is queued, as
  Streamlit does) it runs `TrainingRun.advance(CHUNK_SECONDS)`, builds the NLL figure and
  serializes it as `st.plotly_chart` would; every PEEK_SECONDS it also draws the samples and
  conditionals panel. `ratio` = fragment / headless in wall time (target >= 0.8);
  `ratio_cpu_based` = the same from CPU time (examples per CPU second, page loop / headless)
  times the share of time the page loop was not waiting for the timer: far steadier than the
  wall-time ratio when other processes share the cores;
* stop      — Stop's latency while another thread is inside a long `advance` (the fragment): the
  seconds until stop() returns and until the training thread has left its chunk, and the steps
  taken after stop() returned (must be 0). Target: at most 0.5 s every time;
* apptest   — the real page script through streamlit.testing: Start, then `at.run()` in a loop.
  Every run is a full page run (AppTest has no timers), which trains only
  FULL_RUN_CHUNK_SECONDS: a pessimistic lower bound, not what a browser sees.

    python bench/bench_train_page.py                 # 8x8 digits, hidden 128,128
    python bench/bench_train_page.py --data mnist --hidden 500 --seconds 8
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotly.io as pio  # noqa: E402
import torch  # noqa: E402

from made_viz import curves  # noqa: E402
from made_viz import session as ses  # noqa: E402
from made_viz.config import Config, parse_layers  # noqa: E402
from made_viz.data import load_dataset  # noqa: E402
from made_viz.images import grid_figure  # noqa: E402
from made_viz.model import MADE  # noqa: E402
from made_viz.train import TrainConfig, Trainer  # noqa: E402
from made_viz.training_run import LocalRun  # noqa: E402


def headless(cfg: Config, ds, tcfg: TrainConfig, seconds: float) -> dict:
    trainer = Trainer(MADE(cfg), ds.train, tcfg)
    trainer.step_chunk(max_steps=3)  # warm-up
    s0, t0, c0 = trainer.step, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds and not trainer.done:
        trainer.step_chunk(max_seconds=0.5)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    steps = trainer.step - s0
    return dict(steps=steps, seconds=wall, cpu_seconds=cpu, examples_per_s=steps * trainer.batch_size / wall)


def fragment(cfg: Config, ds, tcfg: TrainConfig, seconds: float) -> dict:
    run = LocalRun(cfg, ds, tcfg)
    run.start()
    run.advance(max_steps=3)  # warm-up
    s0, t0, busy0, c0 = run.step, time.perf_counter(), run.train_seconds, time.process_time()
    ticks, draw_seconds, idle, next_tick, next_peek = 0, 0.0, 0.0, t0, t0
    while True:
        now = time.perf_counter()
        if now - t0 >= seconds or not run.active:
            break
        if now < next_tick:  # the browser's timer has not fired yet
            time.sleep(next_tick - now)
            idle += next_tick - now
        next_tick += ses.TICK_SECONDS * max(1, math.ceil((time.perf_counter() - next_tick) / ses.TICK_SECONDS))
        run.advance(max_seconds=ses.CHUNK_SECONDS)
        d0 = time.perf_counter()
        p = run.progress()
        fig = curves.nll_figure(
            run.train_points(), run.valid_points(), cfg.d, references=run.references(), epochs=p["epochs"], height=290
        )
        pio.to_json(fig, validate=False)
        if d0 >= next_peek:  # the slower fragment
            snap = run.snapshot(n=8, max_age=ses.PEEK_SECONDS - 0.5)
            pio.to_json(grid_figure(snap.samples, cfg.shape, cols=8, height=80), validate=False)
            pio.to_json(curves.conditionals_figure(snap.image, snap.probs, cfg.shape, height=110), validate=False)
            next_peek = d0 + ses.PEEK_SECONDS
        draw_seconds += time.perf_counter() - d0
        ticks += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    steps = run.step - s0
    return dict(
        steps=steps,
        seconds=wall,
        cpu_seconds=cpu,
        idle_seconds=idle,
        ticks=ticks,
        draw_ms_per_tick=1000 * draw_seconds / max(ticks, 1),
        training_share=(run.train_seconds - busy0) / wall,
        examples_per_s=steps * run.trainer.batch_size / wall,
    )


def apptest(data: str, hidden: str, seconds: float) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("made_viz/app_pages/train.py").run()
    at.selectbox(key="t_builtin").set_value(data).run()
    if "t_use_d" in [b.key for b in at.button]:
        at.button(key="t_use_d").click().run()
    at.sidebar.text_input(key="w_hidden").set_value(hidden).run()
    at.number_input(key="t_epochs").set_value(2000).run()
    at.button(key="t_start").click().run()
    run = at.session_state["train_run"]
    s0, t0, runs = run.step, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds and run.active:
        at.run()
        runs += 1
    wall = time.perf_counter() - t0
    steps = run.step - s0
    return dict(
        steps=steps,
        seconds=wall,
        script_runs=runs,
        ms_per_script_run=1000 * wall / max(runs, 1),
        examples_per_s=steps * run.trainer.batch_size / wall,
        exception=bool(at.exception),
    )


def stop_latency(cfg, ds, tcfg, trials: int) -> dict:
    """Stop pressed 0.1-0.4 s into a 5-second chunk running in another thread, `trials` times."""
    import random
    import threading

    returned, left, after = [], [], []
    rng = random.Random(0)
    for _ in range(trials):
        run = LocalRun(cfg, ds, tcfg)
        run.start()
        ended = []
        worker = threading.Thread(target=lambda r=run: (r.advance(max_seconds=5.0), ended.append(time.perf_counter())))  # noqa: B023
        worker.start()
        time.sleep(rng.uniform(0.1, 0.4))
        t0 = time.perf_counter()
        run.stop()
        returned.append(time.perf_counter() - t0)
        frozen = run.step
        worker.join()
        left.append(ended[0] - t0)
        after.append(run.step - frozen)
    return dict(
        trials=trials,
        stop_returned_max_s=max(returned),
        stop_returned_median_s=sorted(returned)[trials // 2],
        chunk_left_max_s=max(left),
        steps_after_stop=sum(after),
        target_s=0.5,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="digits8")
    ap.add_argument("--hidden", default="128,128")
    ap.add_argument("--masks", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=6.0, help="wall time of each measurement")
    ap.add_argument("--rounds", type=int, default=2, help="fragment measurements, interleaved with headless ones")
    ap.add_argument("--no-apptest", action="store_true")
    ap.add_argument("--stop-trials", type=int, default=10, help="Stop-latency measurements (0: none)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset(args.data)
    cfg = Config(
        d=ds.d,
        shape=ds.shape,
        hidden=parse_layers(args.hidden),
        num_masks=args.masks,
        order="random" if args.masks > 1 else "natural",
    )
    tcfg = TrainConfig(lr=3e-3, batch_size=args.batch_size, epochs=100_000)
    # interleaved (headless, fragment, headless, fragment, headless) so that load changes hit both
    heads, frags = [headless(cfg, ds, tcfg, args.seconds / 2)], []
    for _ in range(args.rounds):
        frags.append(fragment(cfg, ds, tcfg, args.seconds))
        heads.append(headless(cfg, ds, tcfg, args.seconds / 2))
    bs = min(tcfg.batch_size, len(ds.train))
    head = sum(h["steps"] for h in heads) * bs / sum(h["seconds"] for h in heads)
    frag = sum(f["steps"] for f in frags) * bs / sum(f["seconds"] for f in frags)
    rnd = lambda d: {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}  # noqa: E731
    # CPU time is much less sensitive than wall time to other processes on a shared machine:
    # examples per CPU second (page loop / headless), times the share of wall time the page loop
    # was not waiting for the browser's timer
    cpu_rate = lambda runs: sum(r["steps"] for r in runs) / sum(r["cpu_seconds"] for r in runs)  # noqa: E731
    busy = 1 - sum(f["idle_seconds"] for f in frags) / sum(f["seconds"] for f in frags)
    cpu_ratio = cpu_rate(frags) / cpu_rate(heads)
    out = {
        "bench": "train_page",
        "data": args.data,
        "config": cfg.to_dict(),
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "tick_s": ses.TICK_SECONDS,
        "chunk_s": ses.CHUNK_SECONDS,
        "headless_examples_per_s": round(head, 1),
        "fragment_examples_per_s": round(frag, 1),
        "ratio": round(frag / head, 3),
        "target_ratio": 0.8,
        "ratio_cpu_based": round(busy * cpu_ratio, 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "busy_share": round(busy, 3),
        "fragment_runs": [rnd(f) for f in frags],
        "headless_runs": [rnd(h) for h in heads],
    }
    if args.stop_trials > 0:
        out["stop"] = rnd(stop_latency(cfg, ds, tcfg, args.stop_trials))
    if not args.no_apptest:
        ap_res = apptest(args.data, args.hidden, args.seconds)
        out["apptest_examples_per_s"] = round(ap_res["examples_per_s"], 1)
        out["apptest_ratio"] = round(ap_res["examples_per_s"] / head, 3)
        out["apptest"] = {k: round(v, 3) if isinstance(v, float) else v for k, v in ap_res.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
