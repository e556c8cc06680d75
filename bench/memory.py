#!/usr/bin/env python
"""Memory of one app process (the warm launcher, `python -m made_viz`) under a class: per idle session, and
with sessions that do the worst the per-session budget allows. Not part of the tests.

    nice -n 10 python -m bench.memory                        # 30 idle sessions, then 30 worst ones
    nice -n 10 python -m bench.memory --idle 10 --worst 10   # smaller, on a loaded machine
    python -m bench.memory --worst 30 --upload-mb 45         # the worst students also upload a 45 MB file

Two fresh servers, one after the other, each measured by its resident memory (RSS, psutil):
1. idle: after the warm-up, N students open the Architecture page (the default preset) and stay; the
   figure is (RSS with N sessions - RSS before) / N, the memory one idle session costs (issue 17: <= 20 MB).
2. worst: M students each set the largest architectures the budget (MADE_VIZ_MAX_WEIGHTS) lets through,
   cycling over WORST (a 64x64 image with 1,200 hidden units, 8 layers of 1,000 on 8x8, two of 2,000 on
   28x28; each just under 10 M weights), look at the Architecture page, go to Train, train a few seconds
   and stop (model, optimiser state and curves stay in the session), optionally upload a big file
   (--upload-mb, random bytes: Streamlit keeps the file, the app refuses it), and stay connected. Reported:
   the RSS after all of them and the peak during (issue 12: under ~1.5 GB whatever they type).
Each student's own view is checked: an exception on its page is listed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/memory.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.serving import MemorySampler  # noqa: E402
from bench.soak_student import caption_hidden  # noqa: E402
from bench.st_client import TRIGGERS, Tab, run_async  # noqa: E402
from bench.ws_load import MadeVizServer  # noqa: E402

# (height, width, hidden layers): each just under the default budget of 10,000,000 weights x masks
WORST = (
    (64, 64, "1200"),
    (8, 8, ",".join(["1000"] * 8)),
    (28, 28, "2000, 2000"),
)


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
    h, w, hidden = WORST[i % len(WORST)]
    tab = Tab(url, args.timeout)
    await tab.connect()
    await tab.open("architecture")

    async def wait(sent_node):
        sent, node = sent_node
        await tab.wait_done(sent, node.fragment_id)

    tab.put("Height", h)
    await wait(await tab.set_value("Width", w))
    await wait(await tab.set_value("Hidden layers", hidden))
    taken = caption_hidden(tab.caption()) == tuple(int(x) for x in hidden.split(","))
    out.setdefault("architectures", {}).setdefault(f"{h}x{w} {hidden}", set()).add("taken" if taken else "refused")
    await tab.goto("Train")
    if tab.widget("Start", kinds=tuple(TRIGGERS)) is not None:
        await wait(await tab.click("Start"))
        await asyncio.sleep(args.train_s)
        if tab.widget("Stop", kinds=tuple(TRIGGERS)) is not None:
            await wait(await tab.click("Stop"))
    if args.upload_mb > 0:
        await wait(await tab.set_value("Source", "Upload"))
        up = await tab.upload("Your data file", f"big-{i}.bin", bytes(int(args.upload_mb * 2**20)))
        if up.sent is not None:
            await tab.wait_done(up.sent, up.node.fragment_id)
        out.setdefault("upload_status", []).append(up.status)
    return tab


async def _class(url: str, n: int, make, stagger: float) -> list[Tab]:
    async def one(i):
        await asyncio.sleep(i * stagger)
        return await make(i)

    return await asyncio.gather(*(one(i) for i in range(n)))


def phase(name: str, n: int, make, args) -> dict:
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
            out["rss_mb_with_sessions"] = rss_mb(sampler)
            out["exceptions"] = [e for t in tabs for e in t.errors]
            await asyncio.gather(*(t.close() for t in tabs))

        run_async(go())
        out["wall_s"] = round(time.perf_counter() - t0, 1)
        out["rss_mb_peak"] = max(s["streamlit_mb"] for s in sampler.samples)
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
    ap.add_argument("--train-s", type=float, default=3.0, help="seconds each worst student trains")
    ap.add_argument("--upload-mb", type=float, default=0.0, help="each worst student also uploads this many MB")
    ap.add_argument("--stagger", type=float, default=0.2, help="seconds between two students' arrivals")
    ap.add_argument("--settle-s", type=float, default=5.0, help="quiet seconds before the 'with sessions' figure")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for one run")
    ap.add_argument("--session-ttl", type=int, default=120)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = {"settings": vars(args)}
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
            f"worst: {w['sessions']} sessions, RSS {w['rss_mb_with_sessions']} MB after, peak {w['rss_mb_peak']} MB",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
