#!/usr/bin/env python
"""Which student actions leave the app process bigger? Not part of the tests.

    python -m bench.memory_actions                               # every soak action, 10 students
    python -m bench.memory_actions --kinds page sample reload    # some of them
    python -m bench.memory_actions --students 10 --repeat 4 --ttl 20

Starts one warm app process (`python -m made_viz`, its training workers not counted), opens --students
simulated students (bench/soak_student.py, over Streamlit's websocket protocol, no browser) on the
Architecture page, then, kind by kind, has every student do that action --repeat times at once (the
soak's actions: "hidden", "page", "train", "sample", "reload", "upload", the bad ones...) and prints the
app process's resident memory (RSS) after each kind, then after --ttl + 10 s of idling (a reloaded tab's
old session lives for server.disconnectedSessionTTL, --ttl here). A kind that leaves many MB per
student-action behind is where a class's memory goes (bench/soak.py measures the whole class).
Prints one JSON object on stdout (a table on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))
import psutil  # noqa: E402

from bench.serving import free_port  # noqa: E402
from bench.soak import parse_args as soak_args  # noqa: E402
from bench.soak_student import SoakStudent  # noqa: E402

KINDS = ["hidden", "size", "page", "train", "sample", "reload", "upload", "bad_upload", "huge_layers"]
KINDS += ["stop_start_burst", "tiny_image", "junk_url", "bad_hidden", "odd_hidden"]


def start_server(port: int, ttl: int) -> subprocess.Popen:
    env = dict(os.environ, MADE_VIZ_ADDRESS="127.0.0.1", MADE_VIZ_SESSION_TTL=str(ttl))
    log = open(f"/tmp/memory-actions-{port}.log", "w")  # noqa: SIM115 - the server's whole life
    proc = subprocess.Popen(
        [sys.executable, "-m", "made_viz", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited; see /tmp/memory-actions-{port}.log") from None
            time.sleep(1)
    proc.terminate()
    raise RuntimeError("the server did not answer within 300 s")


async def measure(url: str, pid: int, args) -> dict:
    proc = psutil.Process(pid)

    def rss() -> float:
        return round(proc.memory_info().rss / 2**20, 1)

    sargs = soak_args(["--students", str(args.students), "--think", "0.1"])
    everyone = {i: {200 + i, 300 + i} for i in range(args.students)}
    students = [SoakStudent(i, everyone, random.Random(args.seed * 1000 + i), sargs) for i in range(args.students)]
    for s in students:
        s.url = url
        await s.open_tab("architecture", "")
    rows = [{"after": "opening the Architecture page", "rss_mb": rss()}]
    for kind in args.kinds:

        async def act(s: SoakStudent, kind=kind) -> None:
            s.where = kind
            try:
                if s.tab is None or s.tab.closed:
                    await s.recover()
                await getattr(s, "do_" + kind)()
            except Exception as e:  # noqa: BLE001 - counted; the student goes on
                s.errors.append(f"{kind}: {type(e).__name__}: {e}")

        for _ in range(args.repeat):
            await asyncio.gather(*(act(s) for s in students))
        before = rows[-1]["rss_mb"]
        now = rss()
        per = (now - before) / (args.students * args.repeat)
        rows.append({"after": kind, "rss_mb": now, "mb_per_action": round(per, 2)})
    await asyncio.sleep(args.ttl + 10)
    rows.append({"after": f"{args.ttl + 10} s idle (old sessions dropped)", "rss_mb": rss()})
    for s in students:
        if s.tab is not None:
            await s.tab.close()
    return {"rows": rows, "errors": [e for s in students for e in s.errors][:20]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=4, help="times each student does each kind (default 4)")
    ap.add_argument("--kinds", nargs="+", default=KINDS, choices=KINDS)
    ap.add_argument("--ttl", type=int, default=20, help="server.disconnectedSessionTTL of the server (default 20 s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    port = free_port()
    server = start_server(port, args.ttl)
    try:
        report = asyncio.run(measure(f"http://127.0.0.1:{port}", server.pid, args))
    finally:
        server.terminate()
        server.wait(timeout=30)
    report.update(students=args.students, repeat=args.repeat, ttl=args.ttl, load_average=os.getloadavg())
    for r in report["rows"]:
        per = f"  ({r['mb_per_action']:+.2f} MB per student-action)" if "mb_per_action" in r else ""
        print(f"after {r['after']:<40} {r['rss_mb']:>8.1f} MB{per}", file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
