#!/usr/bin/env python
"""A soak run: a class of simulated students wanders around the app for minutes, a third of their
actions bad, against 2 streamlit processes behind nginx (deploy/serve_class.sh). Not part of the tests.

    python -m bench.soak                                 # 30 students, 10 minutes, 2 processes
    nice -n 10 python -m bench.soak --students 10 --minutes 2
    python -m bench.soak --kill-one                      # SIGKILL one streamlit process half-way through
    python -m bench.soak --url http://host:8500          # a class server that is already running

Each student is one Streamlit session spoken to over the websocket (bench/st_client.py, no browser).
It picks random actions: good ones (its own hidden sizes, odd but valid texts such as "210," or "２１０",
a new image size, the pages, training with Start and Stop, sampling, reloading its tab from its URL, a good
upload) and, with probability --bad (default 1/3), bad ones: the bad-input catalogue's sidebar entries
(tests/app/test_bad_inputs.py, and "-3", "0x10", ...), a --paste-mb document pasted into Hidden layers, a
1x1 image, junk links (tracking tags, wrong values, duplicated keys), Stop/Start bursts, huge layers
(8 x 4096), bad uploads (a wrong-sized .npy, a photo, a text file, an empty file, a file over the
server's limit). Uploads go the way the browser sends them (bench/st_client.py: Tab.upload).

After every action the student checks what it sees:
- exceptions: any exception element shown to the student (and, afterwards, tracebacks in the
  processes' logs) (target 0);
- state lost: the sidebar (caption and boxes) must show the architecture the student last chose, a
  rejected entry must keep the previous one, a reload must bring back the architecture in its URL; a
  bad upload gets a message naming the file (or HTTP 413 and no change for one over the limit) and leaves
  no message once the student is back on the built-in data (target 0);
- another's data: each student's hidden sizes are its own numbers (200+i, 300+i); any other student's
  number in any text it receives is a leak (target 0).
Reported: those lists, the latency of each kind of action (p50/p95/max), peak RSS of each process.

--kill-one: half-way, one streamlit process gets SIGKILL. Students on the other must see nothing; the
students of the dead one lose their websocket (the browser shows Streamlit's "connection error"),
reload their tab from its URL, and are checked to get their architecture back. Reported per group.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/soak.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.serving import MemorySampler, Server, stats, streamlit_processes  # noqa: E402
from bench.soak_student import SoakStudent  # noqa: E402
from bench.st_client import run_async, warm_up  # noqa: E402


def log(*a) -> None:
    print("[soak]", *a, file=sys.stderr, flush=True)


async def _class(url: str, args, server: Server | None, report: dict) -> list[SoakStudent]:
    n = args.students
    everyone = {i: {200 + i, 300 + i} for i in range(n)}
    students = [SoakStudent(i, everyone, random.Random(args.seed * 1000 + i), args) for i in range(n)]
    deadline = time.monotonic() + args.minutes * 60
    tasks = [asyncio.create_task(s.live(url, deadline, stagger=i * args.stagger)) for i, s in enumerate(students)]
    if args.kill_one and server is not None:
        tasks.append(asyncio.create_task(_kill_one(server, students, args.minutes * 30, report)))
    await asyncio.gather(*tasks)
    return students


async def _kill_one(server: Server, students: list[SoakStudent], after_s: float, report: dict) -> None:
    """Half-way through: SIGKILL the streamlit process that serves the first student's session."""
    await asyncio.sleep(after_s)
    procs = {f"127.0.0.1:{_port(p)}": p for p in streamlit_processes(server.proc.pid)}
    target = next((s.backend for s in students if s.backend in procs), None) or next(iter(procs), None)
    if target is None:
        report["kill"] = {"error": "no streamlit process found to kill"}
        return
    proc = procs[target]
    t = time.monotonic()
    for s in students:
        s.killed_at = t
    os.kill(proc.pid, signal.SIGKILL)
    log(f"killed the streamlit process on {target} (pid {proc.pid})")
    report["kill"] = {"backend": target, "pid": proc.pid, "at_s_into_run": round(after_s, 1)}


def _port(proc) -> str:
    m = re.search(r"--(?:server\.)?port[= ](\d+)", " ".join(proc.cmdline()))
    return m.group(1) if m else "?"


def _log_exceptions(server: Server | None) -> dict:
    """Tracebacks in the streamlit processes' logs (serve_class.sh keeps one log per process)."""
    if server is None:
        return {"note": "a server started elsewhere: its logs were not read"}
    prefix = server.prefix()
    files = sorted(prefix.glob("streamlit-*.log")) if prefix else [Path(server.log_path)]
    out = {}
    for f in files:
        text = f.read_text(errors="replace")
        blocks = text.split("Traceback (most recent call last):")[1:]
        last = [
            next((ln for ln in b.strip().splitlines()[::-1] if ln and not ln.startswith(" ")), "?")[:200]
            for b in blocks
        ]
        out[f.name] = {"tracebacks": len(blocks), "kinds": sorted(set(last))}
    return out


def summarise(students: list[SoakStudent], report: dict) -> dict:
    kinds = sorted({k for s in students for k in s.latencies})
    out = {
        "actions": sum(s.actions for s in students),
        "bad_actions": sum(s.bad_actions for s in students),
        "latency_s": {k: stats([x for s in students for x in s.latencies.get(k, [])]) for k in kinds},
        "exceptions_shown": [f"{s.label}: {e}" for s in students for e in s.exceptions],
        "state_lost": [f"{s.label}: {e}" for s in students for e in s.lost],
        "saw_another_students_data": [f"{s.label}: {e}" for s in students for e in s.leaks],
        "client_errors": [f"{s.label}: {e}" for s in students for e in s.errors],
        "notes": sorted({n for s in students for n in s.notes}),
        "sessions_per_backend": {},
    }
    for s in students:
        out["sessions_per_backend"][s.backend or "?"] = out["sessions_per_backend"].get(s.backend or "?", 0) + 1
    if "kill" in report and "backend" in report["kill"]:
        dead = report["kill"]["backend"]
        hit = [s for s in students if s.backend_at_kill == dead]
        spared = [s for s in students if s.backend_at_kill not in (None, dead)]
        out["kill"] = {
            "students_on_the_killed_process": len(hit),
            "of_them_saw_the_connection_close": sum(s.disconnected for s in hit),
            "of_them_reloaded_with_their_architecture_back": sum(s.restored_after_kill is True for s in hit),
            "of_them_reload_failed": [f"{s.label}: {s.reload_error}" for s in hit if s.reload_error],
            "reload_after_kill_s": stats([s.reload_s for s in hit if s.reload_s is not None]),
            "students_on_the_other_process": len(spared),
            "of_them_saw_something": [f"{s.label}: {e}" for s in spared for e in s.after_kill_trouble],
        }
    return out


def run(args) -> dict:
    server = None if args.url else Server(args.processes, args.session_ttl, 1, script=args.serve_script)
    url = args.url or server.url
    sampler = MemorySampler(server.proc.pid if server else None, period=1.0)
    sampler.start()
    report: dict = {"url": url, "students": args.students, "minutes": args.minutes, "processes": args.processes}
    try:
        for b in server.backends if server else [url]:
            run_async(warm_up(b, args.timeout))  # imports and caches are not billed to the class
        t0 = time.perf_counter()
        log(
            f"{args.students} students for {args.minutes} min on {url} ({args.processes} process(es))"
            + (", killing one half-way" if args.kill_one else "")
        )
        students = run_async(_class(url, args, server, report))
        report["wall_s"] = round(time.perf_counter() - t0, 1)
        report.update(summarise(students, report))
        report["peak_rss_mb_per_process"] = {str(k): v for k, v in sampler.peak_by_pid.items()}
        report["peak_rss_mb_all_streamlit"] = max((x["streamlit_mb"] for x in sampler.samples), default=None)
    finally:
        sampler.stop()
        if server:
            server.stop()
    report["server_log_exceptions"] = _log_exceptions(server)
    kill = report.get("kill", {})
    report["ok"] = not (
        report["exceptions_shown"]
        or report["state_lost"]
        or report["saw_another_students_data"]
        or any(v.get("tracebacks") for v in report["server_log_exceptions"].values() if isinstance(v, dict))
        or kill.get("of_them_reload_failed")
        or kill.get("of_them_saw_something")
        or kill.get("of_them_reloaded_with_their_architecture_back") != kill.get("students_on_the_killed_process")
    )
    return report


def table(r: dict) -> str:
    lines = [
        f"{r['students']} students, {r['minutes']} min, {r['processes']} process(es): {r['actions']} actions "
        f"({r['bad_actions']} bad), wall {r['wall_s']} s",
        f"{'latency (s)':28}{'p50':>8}{'p95':>8}{'max':>8}{'n':>6}",
    ]
    for k, v in r["latency_s"].items():
        lines.append(f"{k:28}{str(v['p50']):>8}{str(v['p95']):>8}{str(v['max']):>8}{v['n']:>6}")
    logs = r["server_log_exceptions"]
    tb = sum(v.get("tracebacks", 0) for v in logs.values() if isinstance(v, dict))
    lines.append(
        f"exceptions shown {len(r['exceptions_shown'])} · tracebacks in server logs {tb} · state lost "
        f"{len(r['state_lost'])} · saw another's data {len(r['saw_another_students_data'])} · "
        f"client errors {len(r['client_errors'])}"
    )
    lines.append(f"peak RSS per process (MB): {r['peak_rss_mb_per_process']}")
    if "kill" in r:
        lines.append(f"kill one: {json.dumps(r['kill'])}")
    lines.append("OK" if r["ok"] else "NOT OK")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=30, help="simulated students (default 30)")
    ap.add_argument("--minutes", type=float, default=10.0, help="how long they work (default 10)")
    ap.add_argument("--bad", type=float, default=1 / 3, help="share of bad actions (default 1/3)")
    ap.add_argument("--processes", type=int, default=2, help="streamlit processes behind nginx (default 2)")
    ap.add_argument("--url", default=None, help="use a running server instead of starting one")
    ap.add_argument("--kill-one", action="store_true", help="SIGKILL one streamlit process half-way")
    ap.add_argument("--think", type=float, default=2.0, help="mean seconds a student pauses between actions")
    ap.add_argument("--stagger", type=float, default=0.5, help="seconds between two students' arrivals")
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for one run")
    ap.add_argument("--session-ttl", type=int, default=120, help="server.disconnectedSessionTTL (default 120)")
    ap.add_argument(
        "--huge-layers",
        default=",".join(["4096"] * 8),
        help="what the huge-layers action types (default 8 x 4096; on a server without a memory "
        "budget each such session holds GBs: use e.g. 4096,4096 on a shared machine)",
    )
    ap.add_argument(
        "--paste-mb", type=float, default=10.0, help="size of the text the paste action types (default 10 MB)"
    )
    ap.add_argument(
        "--huge-upload-mb",
        type=float,
        default=60.0,
        help="size of the file over the upload limit (default 60 MB; the limit is 50 MB, nginx's 51)",
    )
    ap.add_argument("--serve-script", default=None, help="another serve_class.sh to start (default: deploy's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="JSON only on stdout (no table on stderr)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    if args.students < 1 or args.students > 99 or args.minutes <= 0:
        ap.error("--students must be 1..99 (their hidden sizes stay distinct) and --minutes > 0")
    if args.kill_one and (args.url or args.processes < 2):
        ap.error("--kill-one needs 2 or more processes started by this script (no --url)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    r = run(args)
    text = json.dumps({"settings": vars(args), **r}, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if not args.json:
        print(table(r), file=sys.stderr)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
