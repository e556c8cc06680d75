#!/usr/bin/env python
"""Memory of one app process (the warm launcher, `python -m made_viz`) under a class: per idle session, and
with sessions that do the worst the per-session budget allows. Not part of the tests.

    nice -n 10 python -m bench.memory                        # 30 idle sessions, then 30 worst ones
    nice -n 10 python -m bench.memory --idle 10 --worst 10   # smaller, on a loaded machine
    python -m bench.memory --idle 0 --worst 30 --size 1000000   # many students training mid-sized networks
    python -m bench.memory --worst 30 --upload-mb 45         # the worst students also upload a 45 MB file

Two fresh servers, one after the other, each measured by its resident memory (RSS, psutil):
1. idle: after the warm-up, N students open the Architecture page (the default preset) and stay; the
   figure is (RSS with N sessions - RSS before) / N, the memory one idle session costs (issue 17: <= 20 MB).
2. worst: M students each set the largest architectures the budget (MADE_VIZ_MAX_WEIGHTS) lets through,
   cycling over WORST_SHAPES (one hidden layer on 64x64, 8 layers on 8x8, two on 28x28, each as
   wide as the budget allows: 1,220 / 1,185 / 2,473 units under the default 10 M weights), look at the
   Architecture page, go to Train, train a few seconds and stop (model, optimiser state and curves stay
   in the session), optionally upload a big file (--upload-mb, random bytes: Streamlit keeps the file,
   the app refuses it), and stay connected. Reported: the RSS after all of them and the peak during
   (issue 12: under ~1.5 GB whatever they type), for the app process and with its training workers.
   The class budget (MADE_VIZ_CLASS_WEIGHTS) refuses what would take the sum over its limit: those
   students keep a smaller network and are counted as "refused".
Each student's own view is checked: an exception on its page is listed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/memory.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.serving import MemorySampler  # noqa: E402
from bench.soak_student import caption_hidden  # noqa: E402
from bench.st_client import TRIGGERS, Tab, run_async  # noqa: E402
from bench.ws_load import MadeVizServer  # noqa: E402
from made_viz.budget import DEFAULT_MAX_WEIGHTS, ENV_VAR  # noqa: E402

# (height, width, number of hidden layers): the shapes of the worst architectures; each gets the widest
# layers that stay under the budget (`worst_architectures`)
WORST_SHAPES = ((64, 64, 1), (8, 8, 8), (28, 28, 2))


def widest(h: int, w: int, layers: int, limit: int) -> int:
    """The widest equal hidden layers (at most 4096 units) whose weights stay within `limit`."""
    from made_viz.config import Config

    lo, hi = 1, 4096
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if Config(d=h * w, shape=(h, w), hidden=(mid,) * layers).num_weights <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def worst_architectures(limit: int, shapes=WORST_SHAPES) -> list[tuple[int, int, str]]:
    """(height, width, hidden layers text) for each of `shapes`, just under `limit` weights."""
    return [(h, w, ",".join([str(widest(h, w, n, limit))] * n)) for h, w, n in shapes]


def parse_shapes(text: str) -> tuple[tuple[int, int, int], ...]:
    """'8x8x1,8x8x8' -> ((8, 8, 1), (8, 8, 8)): height x width x number of hidden layers."""
    return tuple(tuple(int(v) for v in part.split("x")) for part in text.split(","))


def log(*a) -> None:
    print("[memory]", *a, file=sys.stderr, flush=True)


def rss_mb(sampler: MemorySampler) -> float:
    return sampler.measure()["streamlit_mb"]


async def idle_student(url: str, timeout: float) -> Tab:
    tab = Tab(url, timeout)
    await tab.connect()
    await tab.open("architecture")
    return tab


async def worst_student(url: str, i: int, args, out: dict) -> Tab:
    """The largest architecture the budget allows, its pages, a short training run, maybe a big upload."""
    h, w, hidden = args.architectures[i % len(args.architectures)]
    tab = Tab(url, args.timeout)
    await tab.connect()
    await tab.open("architecture")

    async def wait(sent_node):
        sent, node = sent_node
        await tab.wait_done(sent, node.fragment_id)

    # the layers first (on the default 8x8 image), then the image: each step stays under the budget
    await wait(await tab.set_value("Hidden layers", hidden))
    tab.put("Height", h)
    await wait(await tab.set_value("Width", w))
    caption = tab.caption()  # "D = 4096 · layers 4096 → 1220 → 4096": the network the session holds
    taken = caption_hidden(caption) == tuple(int(x) for x in hidden.split(",")) and f"D = {h * w} " in caption
    out.setdefault("architectures", {}).setdefault(f"{h}x{w} {hidden}", set()).add("taken" if taken else "refused")
    await tab.goto("Train")
    if args.train_s > 0 and tab.widget("Start", kinds=tuple(TRIGGERS)) is not None:
        await wait(await tab.click("Start"))
        if any("Training was not started" in e for e in tab.shown_errors()):  # the class budget is full
            out["start_refused"] = out.get("start_refused", 0) + 1
        await asyncio.sleep(args.train_s)
        if tab.widget("Stop", kinds=tuple(TRIGGERS)) is not None:
            await wait(await tab.click("Stop"))
    if args.upload_mb > 0:
        await wait(await tab.set_value("Source", "Upload"))
        up = await tab.upload("Your data file", f"big-{i}.bin", bytes(int(args.upload_mb * 2**20)))
        if up.sent is not None:  # the app refuses the random bytes; Streamlit keeps them while the widget has them
            await tab.wait_done(up.sent, up.node.fragment_id)
        out.setdefault("upload_status", []).append(up.status)
    return tab


async def _class(url: str, n: int, make, stagger: float) -> list[Tab]:
    async def one(i):
        await asyncio.sleep(i * stagger)
        return await make(i)

    return await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)


def phase(name: str, n: int, make, args) -> dict:
    if args.max_weights:
        os.environ[ENV_VAR] = str(args.max_weights)  # the server started next inherits it
    server = MadeVizServer(args.session_ttl, 1)
    sampler = MemorySampler(server.proc.pid, period=0.5)
    out: dict = {"sessions": n}
    try:
        time.sleep(2)
        out["rss_mb_warm_no_session"] = rss_mb(sampler)
        sampler.start()
        t0 = time.perf_counter()

        async def go():
            tabs = await _class(server.url, n, lambda i: make(server.url, i, out), args.stagger)
            await asyncio.sleep(args.settle_s)  # a quiet moment: what the sessions hold, not what a run builds
            now = sampler.measure()
            out["rss_mb_with_sessions"] = now["streamlit_mb"]
            out["workers_mb_with_sessions"] = now["helpers_mb"]  # the training worker pool
            out["total_mb_with_sessions"] = round(now["streamlit_mb"] + now["helpers_mb"], 1)
            # a student whose run timed out or whose websocket the server closed (a loaded machine) is listed
            out["student_errors"] = [f"{type(t).__name__}: {t}"[:200] for t in tabs if isinstance(t, BaseException)]
            tabs = [t for t in tabs if isinstance(t, Tab)]
            out["exceptions"] = [e for t in tabs for e in t.errors]
            await asyncio.gather(*(t.close() for t in tabs))

        run_async(go())
        out["wall_s"] = round(time.perf_counter() - t0, 1)
        out["rss_mb_peak"] = max(s["streamlit_mb"] for s in sampler.samples)
        out["helpers_mb_peak"] = max(s.get("helpers_mb", 0.0) for s in sampler.samples)  # e.g. a worker pool
        out["total_mb_peak"] = max(round(s["streamlit_mb"] + s.get("helpers_mb", 0.0), 1) for s in sampler.samples)
    finally:
        sampler.stop()
        server.stop()
    out["architectures"] = {k: sorted(v) for k, v in out.get("architectures", {}).items()}
    out["mb_per_session"] = round((out["rss_mb_with_sessions"] - out["rss_mb_warm_no_session"]) / n, 1)
    log(f"{name}: {json.dumps(out)}")
    return out


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--idle", type=int, default=30, help="idle sessions (default 30; 0 skips the phase)")
    ap.add_argument("--worst", type=int, default=30, help="worst-case sessions (default 30; 0 skips the phase)")
    ap.add_argument("--train-s", type=float, default=3.0, help="seconds each worst student trains (0: no training)")
    ap.add_argument(
        "--max-weights",
        type=int,
        default=0,
        help=f"the server's {ENV_VAR} (default: unset, i.e. {DEFAULT_MAX_WEIGHTS:,}); the worst architectures "
        "are the widest under it",
    )
    ap.add_argument(
        "--size",
        type=int,
        default=0,
        help="weights of each worst architecture (default: the per-student limit). Smaller ones let more students "
        "train under the class budget: e.g. --size 1000000 has 15 students training a 1 M-weight network",
    )
    ap.add_argument(
        "--shapes",
        default=None,
        help="HxWxLAYERS,... the worst architectures' shapes (default 64x64x1,8x8x8,28x28x2). Only 8x8 ones "
        "train (the Train page's default data is the 8x8 digits): 8x8x1,8x8x2,8x8x8 has every student train",
    )
    ap.add_argument("--upload-mb", type=float, default=0.0, help="each worst student also uploads this many MB")
    ap.add_argument("--stagger", type=float, default=0.2, help="seconds between two students' arrivals")
    ap.add_argument("--settle-s", type=float, default=5.0, help="quiet seconds before the 'with sessions' figure")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for one run")
    ap.add_argument("--session-ttl", type=int, default=120)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    shapes = parse_shapes(args.shapes) if args.shapes else WORST_SHAPES
    args.architectures = worst_architectures(args.size or args.max_weights or DEFAULT_MAX_WEIGHTS, shapes)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    report = {"settings": {k: v for k, v in vars(args).items()}}
    if args.idle:
        report["idle"] = phase("idle", args.idle, lambda url, i, out: idle_student(url, args.timeout), args)
    if args.worst:
        report["worst"] = phase("worst", args.worst, lambda url, i, out: worst_student(url, i, args, out), args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if "idle" in report:
        print(f"idle: {report['idle']['mb_per_session']} MB per idle session", file=sys.stderr)
    if "worst" in report:
        w = report["worst"]
        print(
            f"worst: {w['sessions']} sessions, RSS {w['rss_mb_with_sessions']} MB after, peak {w['rss_mb_peak']} MB; "
            f"with the training workers {w['total_mb_with_sessions']} MB after, peak {w['total_mb_peak']} MB; "
            f"architectures {w['architectures']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
