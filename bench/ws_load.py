#!/usr/bin/env python
"""A classroom without browsers: N simulated students speak Streamlit's own websocket protocol.

    python bench/ws_load.py                        # 10 sessions, starts `streamlit run app.py`
    python bench/ws_load.py --sessions 30          # the classroom question: what does one process hold?
    python bench/ws_load.py --processes 3          # deploy/serve_class.sh 3 behind nginx
    python bench/ws_load.py --url http://host:8501 [--server-pid PID]   # a server that is already running
    python bench/ws_load.py --think 2 --jitter 6   # students who pause 2-8 s before every action
                                                    # (default: everyone clicks at once)
    python bench/ws_load.py --epochs 500           # train for all of --train-seconds (the default 50 epochs may
                                                   # end first when few sessions share the cores)
    python bench/ws_load.py --sessions 30 --cold   # the very first burst on a freshly started server: no
                                                   # warm-up session; open Architecture and change it, then stop
    python bench/ws_load.py --sessions 30 --cold --server made-viz   # the same on `python -m made_viz app`
                                                   # (the launcher that warms the process before it listens)

What it measures: the SERVER. Each simulated student is one websocket to /_stcore/stream that sends
the BackMsg protobufs the browser's frontend would send (rerun_script with a ClientState: the page,
the widget states, a fragment id for fragment reruns, the hashes of the messages it has cached) and
reads the ForwardMsg protobufs the server sends back (new_session, deltas, script_finished, ...).
No browser runs, so on a small machine the figures are the server's own: bench/load_test.py drives
headless chromium and its 10 browsers use several times the server's CPU on the same cores.

What it does NOT measure: rendering (React, plotly.js drawing the figures) and the browser's own
fetches (static JS/CSS, /media files, fonts) — those happen on the students' machines or are cached
by their browsers. A latency here is "from the click reaching the server to the last message of
the run arriving", on loopback; a student also waits for their browser to draw it. For what a
student sees in a real browser, compare with bench/load_test.py (fewer sessions, or --browser-nice).

Each session (a "tab", with the frontend's state kept the way the frontend keeps it):

1. GETs "/" (for nginx's madeviz_route cookie with --processes; also what a browser does first),
   opens the websocket and asks for the Architecture page the way a teacher's link does
   (rerun_script with page_name "architecture" and no page hash); the widgets are then found in
   the deltas by LABEL (each widget element carries `id` and `label`), never by hard-coded ids;
2. types its own "Hidden layers" size (30+i, 130+i, 230+i, ... : distinct per session and never the
   default 128), `--changes` times, and times send -> script_finished (and -> the sidebar caption
   showing it); every session clicks at the same moment unless --think/--jitter (then each session
   pauses think + 0..jitter seconds before every action of steps 2-5, page switches and buttons too:
   a class that thinks, not one that clicks together);
3. switches to Train the way the sidebar navigation does (rerun with that page's script hash, same
   session), presses Start, then sends the fragment auto-reruns the frontend would send (every
   `run_every` seconds, as announced by the server's auto_rerun message) for --train-seconds,
   timing each fragment run; presses Stop;
4. switches to Sample and presses "New seed" (or "New");
5. checks isolation: every text the session receives (sidebar caption, page texts, the query
   string the app writes) must name only its own hidden size, never another session's; once all
   sessions have changed, and again back on Architecture after Train and Sample, the sidebar's
   caption and "Hidden layers" box must show its own size (else "state lost").

Errors: any `exception` element in the deltas, a compile error, page_not_found, a cached-message
miss, a timeout or a closed websocket. App-drawn st.error boxes are listed apart (error_alerts).
Server: CPU seconds (from /proc, the server's process tree) during the class, RSS (idle baseline
after a warm-up session, peak, with N sessions open), Streamlit's own session counters; the load
average and the CPU that other processes of the machine used meanwhile (so a busy machine shows).

Prints one JSON object on stdout and a short table on stderr (--json: JSON only; --out FILE: also
write it there). Exit status 1 if a session saw an error, another session's state or lost its own,
or the p95 of the change latency exceeded --p95-target (default 2 s).

The protocol itself (BackMsg/ForwardMsg, widget states, the message cache, fragments) is spoken by
bench/st_client.py; process CPU and memory come from bench/serving.py (psutil).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/ws_load.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.serving import (  # noqa: E402
    ROOT,
    MemorySampler,
    Server,
    free_port,
    machine_busy_s,
    metrics,
    self_cpu_s,
    stats,
    tree_cpu_s,
)
from bench.st_client import CAPTION_PREFIX, DEFAULT_TIMEOUT, TRIGGERS, Tab, get_root, run_async, warm_up  # noqa: E402

HIDDEN_LABEL = "Hidden layers"
NEW_LABELS = ("New seed", "New")


def log(*a) -> None:
    if not QUIET[0]:
        print("[ws-load]", *a, file=sys.stderr, flush=True)


QUIET = [False]


# ---------------------------------------------------------------------------------------------
# one student

SIZE_PATTERNS = [
    re.compile(r"(?<=→ )(\d+)(?= →)"),  # sidebar caption
    re.compile(r"(?<![-\w])hidden[ =](\d+(?:(?:-|,|%2C|, )\d+)*)(?!\w)"),
]  # "hidden 30", "hidden=30"


def sizes_in(text: str) -> set[int]:
    out: set[int] = set()
    for pat in SIZE_PATTERNS:
        for m in pat.finditer(text):
            out |= {int(x) for x in re.findall(r"\d+", m.group(1).replace("%2C", ","))}
    return out


def caption_hidden(caption: str) -> list[int]:
    return [int(x) for x in SIZE_PATTERNS[0].findall(caption)]


@dataclass
class Student:
    index: int
    sizes: list[int]
    everyone: set[int] = field(default_factory=set)
    defaults: set[int] | None = None
    where: str = "start"
    latencies: dict[str, list[float]] = field(default_factory=dict)
    buttons: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    train: dict = field(default_factory=dict)
    sample: dict = field(default_factory=dict)
    backend: str | None = None
    tab: Tab | None = None

    @property
    def own(self) -> int:
        return self.sizes[-1]

    @property
    def label(self) -> str:
        return f"session {self.index} (hidden {self.own})"

    def add(self, what: str, seconds: float) -> None:
        self.latencies.setdefault(what, []).append(seconds)

    def on_text(self, where: str, text: str) -> None:
        if not text:
            return
        if self.defaults is None and where == "sidebar markdown" and text.startswith(CAPTION_PREFIX):
            self.defaults = set(caption_hidden(text))  # the default architecture, before any change
        foreign = (self.everyone - set(self.sizes)) - (self.defaults or set())
        bad = sizes_in(text) & foreign
        if bad and len(self.leaks) < 20:
            self.leaks.append(
                f"{self.where}: {where} shows another session's hidden size {sorted(bad)}: {text[:160]!r}"
            )

    def check_own(self, where: str, expect: int, box: bool = True) -> None:
        """The sidebar shows this session's architecture (caption, and the Hidden layers box)."""
        tab = self.tab
        cap = tab.caption()
        if caption_hidden(cap) != [expect]:
            self.lost.append(f"{where}: the sidebar caption is {cap!r}, expected hidden {expect}")
        if box:
            v = tab.value(HIDDEN_LABEL)
            if v != str(expect):
                self.lost.append(f"{where}: the Hidden layers box holds {v!r}, expected {str(expect)!r}")
        m = re.search(r"(?:^|&)hidden=([^&]*)", tab.query or "")
        if m and m.group(1) != str(expect):
            self.lost.append(f"{where}: the URL query is {tab.query!r}, expected hidden={expect}")


class Gate:
    """A barrier that a failed session can leave, so that the others do not wait for it forever."""

    def __init__(self, n: int):
        self.n, self.arrived, self.ev = n, 0, asyncio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived >= self.n:
            self.ev.set()
        await self.ev.wait()

    def leave(self) -> None:
        self.n -= 1
        if self.arrived >= self.n:
            self.ev.set()


async def run_student(s: Student, url: str, args, gates: list[Gate]) -> None:
    passed = 0
    tab = None
    try:
        s.where = "connect"
        cookie, s.backend = await asyncio.to_thread(get_root, url, args.timeout)
        tab = s.tab = Tab(url, args.timeout, s.on_text, cookie)
        s.add("connect", await tab.connect())
        if s.backend and tab.backend_ws and tab.backend_ws != s.backend:
            s.leaks.append(f"the page came from {s.backend} but the websocket went to {tab.backend_ws}")

        # 1. the teacher's link
        s.where = "architecture: open"
        run = await tab.open("architecture")
        s.add("page_load", run.latency)
        if tab.widget(HIDDEN_LABEL) is None:
            raise LookupError(f"no {HIDDEN_LABEL!r} box on the {tab.page_title()} page")
        await gates[0].wait()
        passed = 1

        # 2. the architecture changes: everyone at once unless --think/--jitter
        for j, h in enumerate(s.sizes):
            await think(args, first=j == 0)
            s.where = f"architecture: change {j + 1} to hidden {h}"
            before = tab.sidebar_values()
            sent, _ = await tab.set_value(HIDDEN_LABEL, str(h))
            run = await tab.wait_done(sent, what=f"the run after typing {h}")
            s.add("change", run.finished - sent)
            shown = [t for t, body in tab.captions if t >= sent and caption_hidden(body) == [h]]
            if shown:
                s.add("change_to_caption", shown[0] - sent)
            s.check_own(s.where, h)
            after = tab.sidebar_values()
            for k, v in before.items():
                if k != HIDDEN_LABEL and k in after and after[k] != v:
                    s.lost.append(f"{s.where}: sidebar {k!r} changed from {v!r} to {after[k]!r}")
            for k in set(before) - set(after):
                s.lost.append(f"{s.where}: sidebar widget {k!r} disappeared")
        await gates[1].wait()
        passed = 2
        s.where = "after every session changed its architecture"
        s.check_own(s.where, s.own)
        if args.architecture_only:  # the burst --cold measures; Train and Sample have their own runs
            return

        # 3. train
        await _train(s, tab, args)
        # 4. sample
        await _sample(s, tab, args)
        # 5. back on the architecture page: the session's state survived the page switches
        await think(args)
        s.where = "back on Architecture"
        run = await tab.goto("Architecture")
        s.add("page_switch", run.latency)
        s.add("page_switch_to_Architecture", run.latency)
        s.check_own("back on Architecture after Train and Sample", s.own)
    except Exception as e:  # noqa: BLE001 - record and go on: the other sessions still run
        s.errors.append(f"{s.where}: {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
    finally:
        for g in gates[passed:]:
            g.leave()
        if tab is not None:
            s.errors += tab.errors
            tab.errors = []


async def think(args, first: bool = False) -> None:
    """A student's pause before an action (--think, plus 0..--jitter s); none by default: a burst.
    The first action after a gate skips --think (the teacher just said "now")."""
    pause = (0.0 if first else args.think) + random.uniform(0, args.jitter)
    if pause:
        await asyncio.sleep(pause)


async def _train(s: Student, tab: Tab, args) -> None:
    await think(args, first=True)
    s.where = "train: open the page"
    run = await tab.goto("Train")
    s.add("page_switch", run.latency)
    s.add("page_switch_to_Train", run.latency)
    s.check_own("on the Train page", s.own)
    if tab.widget("Start", kinds=tuple(TRIGGERS)) is None:
        s.train = {"status": "no Start button"}
        s.errors.append(f"train page: no Start button (buttons: {_buttons(tab)})")
        return
    if args.epochs:
        s.where = f"train: set Epochs to {args.epochs}"
        if tab.widget("Epochs", kinds=("number_input",)) is None:
            s.notes.append("the Train page has no 'Epochs' box: --epochs ignored")
        else:
            sent, n = await tab.set_value("Epochs", int(args.epochs))
            await tab.wait_done(sent, n.fragment_id, "the run after setting Epochs")
            if tab.value("Epochs") != int(args.epochs):
                s.lost.append(f"train: the Epochs box holds {tab.value('Epochs')!r} after typing {args.epochs}")
    await think(args)
    s.where = "train: Start"
    sent, n = await tab.click("Start")
    run = await tab.wait_done(sent, n.fragment_id, "the run after Start")
    s.buttons.setdefault("Start", []).append(run.finished - sent)
    if not tab.timers:
        s.notes.append("the Train page announced no auto-rerun fragment after Start")
    tab.record_fragments = True
    await asyncio.sleep(args.train_seconds)
    tab.record_fragments = False
    steps = re.search(r"step\s*(\d+)\s*of\s*(\d+)", tab.progress_text or "")
    s.where = "train: Stop"
    stop = tab.widget("Stop", kinds=tuple(TRIGGERS))
    if stop is None:
        s.notes.append("training had finished before Stop (no Stop button): see --epochs")
    else:
        sent, n = await tab.click("Stop")
        run = await tab.wait_done(sent, n.fragment_id, "the run after Stop")
        s.buttons.setdefault("Stop", []).append(run.finished - sent)
    frs = tab.fragment_runs
    s.train = {
        "status": "ok",
        "steps": int(steps.group(1)) if steps else None,
        "fragment_requests": tab.auto_sent,
        "fragment_runs": len(frs),
        "fragment_runs_cut_short": sum(r["cut_short"] for r in frs),
        "fragment_run_s": [r["run_s"] for r in frs],
        "fragment_request_to_done_s": [r["request_to_done_s"] for r in frs if r["request_to_done_s"] is not None],
    }
    s.check_own("on the Train page after training", s.own)


async def _sample(s: Student, tab: Tab, args) -> None:
    await think(args)
    s.where = "sample: open the page"
    run = await tab.goto("Sample")
    s.add("page_switch", run.latency)
    s.add("page_switch_to_Sample", run.latency)
    label = next((x for x in NEW_LABELS if tab.widget(x, kinds=tuple(TRIGGERS))), None)
    if label is None:
        s.sample = {"status": "no New button"}
        s.errors.append(f"sample page: no 'New seed'/'New' button (buttons: {_buttons(tab)})")
        return
    await think(args)
    s.where = f"sample: {label}"
    sent, n = await tab.click(label)
    run = await tab.wait_done(sent, n.fragment_id, f"the run after {label}")
    s.buttons.setdefault(label, []).append(run.finished - sent)
    s.sample = {"status": "ok", "seconds": round(run.finished - sent, 3)}
    s.check_own("on the Sample page", s.own)


def _buttons(tab: Tab) -> list[str]:
    return sorted({n.proto.label for n in tab.nodes.values() if n.kind in TRIGGERS})


# ---------------------------------------------------------------------------------------------
# the class


def sizes_for(i: int, changes: int) -> list[int]:
    """Session i's hidden sizes: 30+i, 130+i, ...: distinct for up to 98 sessions, never 128 (the
    default) nor 129, so that no session's size is also the default every session starts with."""
    return [30 + i + 100 * j for j in range(changes)]


async def _class(url: str, args) -> tuple[list[Student], float]:
    n = args.sessions
    students = [Student(i, sizes_for(i, args.changes)) for i in range(n)]
    everyone = {h for s in students for h in s.sizes}
    for s in students:
        s.everyone = everyone
    gates = [Gate(n), Gate(n)]
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*[run_student(s, url, args, gates) for s in students])
        wall = time.perf_counter() - t0
        if args.on_open:
            await args.on_open()  # all N sessions still connected: memory and counters
    finally:
        await asyncio.gather(*[s.tab.close() for s in students if s.tab is not None])
    return students, wall


class MadeVizServer(Server):
    """One `python -m made_viz app` process (the installed app's launcher, which warms the process before it
    listens) instead of `streamlit run app.py`; same process group, log and health wait as Server."""

    def __init__(self, session_ttl: int, threads: int):
        super().__init__(1, session_ttl, threads)  # MADE_VIZ_SESSION_TTL (set by Server) reaches the launcher

    def _start(self, processes: int, session_ttl: int, env: dict) -> None:
        self.port = self.backend_base = free_port()
        self.log_path = f"/tmp/madeviz-load-{os.getpid()}-made-viz.log"
        self.log = open(self.log_path, "w+")
        cmd = [sys.executable, "-m", "made_viz", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 300  # the warm-up runs every page once before the server listens
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            self.log.seek(0)
            if "MADE Explorer is ready" in self.log.read():
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_tail()}")


def start_server(args) -> Server:
    """The server the class uses: `streamlit run app.py` (or serve_class.sh), or the made-viz launcher."""
    if args.server == "made-viz":
        return MadeVizServer(args.session_ttl, args.threads)
    return Server(args.processes, args.session_ttl, args.threads)


def run(args) -> dict:
    """Start (or use) a server, run the class once, return the report (a dict)."""
    QUIET[0] = args.json
    server = None if args.url else start_server(args)
    t_started = time.perf_counter()
    url = args.url or server.url
    pid = server.proc.pid if server else args.server_pid
    backends = server.backends if server else [url]
    sampler = MemorySampler(pid)
    sampler.start()
    res: dict = {
        "url": url,
        "sessions": args.sessions,
        "processes": args.processes,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }

    def server_cpu() -> float:
        return tree_cpu_s(pid)

    try:
        if args.warmup:
            log(f"warm-up on {len(backends)} backend(s)")
            for b in backends:
                run_async(warm_up(b, args.timeout))
        if pid:
            sampler.phase = "idle baseline"
            res["rss_baseline_mb"] = sampler.level(1.5)
        sampler.phase = "class"
        c0, m0, s0 = server_cpu(), machine_busy_s(), self_cpu_s()

        async def on_open() -> None:
            res["streamlit_with_sessions"] = await asyncio.to_thread(metrics, backends)
            if pid:
                sampler.phase = "sessions open"
                res["rss_with_sessions_mb"] = await asyncio.to_thread(sampler.level, 1.5)

        args.on_open = on_open
        log(f"{args.sessions} sessions on {url} ({args.processes} process(es)), {args.changes} change(s) each")
        t0_class = time.perf_counter()
        students, wall = run_async(_class(url, args))
        c1, m1, s1 = server_cpu(), machine_busy_s(), self_cpu_s()
        res["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        res["wall_s"] = round(wall, 2)
        if server:
            res["class_started_s_after_server_ready"] = round(t0_class - t_started, 2)
        client_cpu = s1 - s0
        res["client"] = {
            "cpu_s": round(client_cpu, 1),
            "mb_received": round(sum(s.tab.bytes_in for s in students if s.tab) / 1e6, 2),
            "messages_received": sum(s.tab.msgs_in for s in students if s.tab),
            "cache_hits": sum(s.tab.cache_hits for s in students if s.tab),
        }
        if pid:
            cpu = c1 - c0
            res["server"] = {
                "cpu_s": round(cpu, 1),
                "cpu_share_of_machine": round(cpu / (wall * (os.cpu_count() or 1)), 2),
                "rss_baseline_mb": res.pop("rss_baseline_mb", None),
                "rss_peak_mb": max(
                    (x["streamlit_mb"] for x in sampler.samples if x["phase"] != "idle baseline"), default=None
                ),
                "rss_with_sessions_mb": res.pop("rss_with_sessions_mb", None),
            }
            sv = res["server"]
            if sv["rss_baseline_mb"] is not None and sv["rss_with_sessions_mb"] is not None:
                grown = sv["rss_with_sessions_mb"] - sv["rss_baseline_mb"]
                sv["rss_per_session_mb"] = round(grown / args.sessions, 2)
            res["other_processes_cpu_s"] = round(max(0.0, (m1 - m0) - cpu - client_cpu), 1)
        else:
            res["server"] = {"note": "no server pid (--url without --server-pid): no CPU or memory figures"}
        res.update(summarise(students, args))
    finally:
        sampler.stop()
        if server:
            server.stop()
    return res


def summarise(students: list[Student], args) -> dict:
    def cat(key: str) -> list[float]:
        return [x for s in students for x in s.latencies.get(key, [])]

    buttons: dict[str, list[float]] = {}
    for s in students:
        for k, v in s.buttons.items():
            buttons.setdefault(k, []).extend(v)
    trained = [s.train for s in students if s.train.get("status") == "ok"]
    fr = [x for t in trained for x in t["fragment_run_s"]]
    fw = [x for t in trained for x in t["fragment_request_to_done_s"]]
    req, runs = sum(t["fragment_requests"] for t in trained), sum(t["fragment_runs"] for t in trained)
    cut = sum(t["fragment_runs_cut_short"] for t in trained)
    out = {
        "latency_s": {
            "page_load": stats(cat("page_load")),
            "change": stats(cat("change")),
            "change_to_caption": stats(cat("change_to_caption")),
            "page_switch": stats(cat("page_switch")),
            "page_switch_by_page": {p: stats(cat("page_switch_to_" + p)) for p in ("Train", "Sample", "Architecture")},
            "button": stats([x for v in buttons.values() for x in v]),
            "button_by_label": {k: stats(v) for k, v in sorted(buttons.items())},
            "fragment_run": stats(fr),
            "fragment_request_to_done": stats(fw),
            "connect": stats(cat("connect")),
        },
        "train": {
            "status": sorted({s.train.get("status", "not reached") for s in students}),
            "fragment_requests": req,
            "fragment_runs": runs,
            "fragment_runs_cut_short": cut,
            "fragment_runs_per_s_per_session": round(runs / (len(trained) * args.train_seconds), 2)
            if trained
            else None,
            "steps": stats([t["steps"] for t in trained if t["steps"] is not None]),
        },
        "sample": {"status": sorted({s.sample.get("status", "not reached") for s in students})},
        "errors": [f"{s.label}: {e}" for s in students for e in s.errors],
        "isolation_violations": [f"{s.label}: {e}" for s in students for e in s.leaks],
        "state_lost": [f"{s.label}: {e}" for s in students for e in s.lost],
        "error_alerts": sorted({f"{a}" for s in students if s.tab for a in s.tab.error_alerts}),
        "notes": sorted({e for s in students for e in s.notes}),
        "own_size_seen": {s.label: s.tab is not None and caption_hidden(s.tab.caption()) == [s.own] for s in students},
    }
    per: dict[str, int] = {}
    for s in students:
        if s.backend:
            per[s.backend] = per.get(s.backend, 0) + 1
    if per:
        out["sessions_per_backend"] = per
    p95 = out["latency_s"]["change"]["p95"]
    if args.cold:  # the first page load is the cold burst's own figure
        p95 = max(p95 or 0.0, out["latency_s"]["page_load"]["p95"] or float("inf"))
    out["ok"] = (
        not out["errors"]
        and not out["isolation_violations"]
        and not out["state_lost"]
        and p95 is not None
        and p95 <= args.p95_target
    )
    return out


def table(r: dict) -> str:
    L = r["latency_s"]

    def row(name, st):
        return f"{name:34}{str(st['p50']):>9}{str(st['p95']):>9}{str(st['max']):>9}{st['n']:>6}"

    lines = [
        f"{r['sessions']} sessions, {r['processes']} process(es), wall {r.get('wall_s')} s",
        f"{'latency (s)':34}{'p50':>9}{'p95':>9}{'max':>9}{'n':>6}",
        row("first page load (Architecture)", L["page_load"]),
        row("change on Architecture", L["change"]),
        row("  change -> sidebar caption", L["change_to_caption"]),
        row("page switch", L["page_switch"]),
    ]
    lines += [row(f"  to {k}", v) for k, v in L.get("page_switch_by_page", {}).items() if v["n"]]
    lines += [
        row("button press (all)", L["button"]),
    ]
    lines += [row(f"  {k}", v) for k, v in L["button_by_label"].items()]
    lines += [
        row("fragment run (train tick)", L["fragment_run"]),
        row("  auto-rerun request -> done", L["fragment_request_to_done"]),
    ]
    t = r["train"]
    lines.append(
        f"train: {t['fragment_runs']} fragment runs ({t['fragment_runs_cut_short']} cut short by the next "
        f"request) for {t['fragment_requests']} auto-rerun requests ({t['fragment_runs_per_s_per_session']}/s "
        f"per session); steps reached p50 {t['steps']['p50']}"
    )
    lines.append(
        f"errors {len(r['errors'])} · isolation violations {len(r['isolation_violations'])} · "
        f"state lost {len(r['state_lost'])} · error alerts {len(r['error_alerts'])}"
    )
    sv = r.get("server", {})
    if "cpu_s" in sv:
        lines.append(
            f"server: CPU {sv['cpu_s']} s ({sv['cpu_share_of_machine']:.0%} of the machine's cores), "
            f"RSS baseline {sv['rss_baseline_mb']} MB, peak {sv['rss_peak_mb']} MB, with sessions "
            f"{sv['rss_with_sessions_mb']} MB ({sv.get('rss_per_session_mb')} MB/session)"
        )
        lines.append(f"other processes used {r.get('other_processes_cpu_s')} CPU s meanwhile")
    c = r["client"]
    lines.append(
        f"this client: CPU {c['cpu_s']} s, received {c['mb_received']} MB in {c['messages_received']} "
        f"messages ({c['cache_hits']} from its message cache)"
    )
    lines.append(f"load average before {r['load_average_before']} after {r.get('load_average_after')}")
    lines.append("OK" if r["ok"] else "NOT OK")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=10, help="simulated students (default 10)")
    ap.add_argument("--processes", type=int, default=1, help="streamlit processes (>= 2: behind nginx)")
    ap.add_argument("--url", default=None, help="use a running server instead of starting one")
    ap.add_argument("--server-pid", type=int, default=None, help="with --url: the server's pid, for CPU and memory")
    ap.add_argument("--changes", type=int, default=3, help="architecture changes per session (default 3)")
    ap.add_argument("--think", type=float, default=0.0, help="seconds a session pauses before each action (default 0)")
    ap.add_argument("--jitter", type=float, default=0.0, help="plus a random 0..J seconds before each action")
    ap.add_argument("--train-seconds", type=float, default=3.0, help="how long each session trains (default 3)")
    ap.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="type this into the Train page's Epochs box before "
        "Start (default: the page's own value; training may then end before --train-seconds)",
    )
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for one run")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false", help="skip the warm-up session")
    ap.add_argument(
        "--cold",
        action="store_true",
        help=(
            "the first burst on a freshly started server: no warm-up session, every session opens Architecture "
            "and changes it at once, then the class ends (no Train/Sample); p95 target on the page load too"
        ),
    )
    ap.add_argument(
        "--architecture-only",
        action="store_true",
        help=(
            "end the class after the Architecture burst (implied by --cold; without it: the same burst on a "
            "server warmed by the warm-up session)"
        ),
    )
    ap.add_argument(
        "--server",
        choices=("streamlit", "made-viz"),
        default="streamlit",
        help=(
            "how the started server runs: `streamlit run app.py` (default) or `python -m made_viz app`, which "
            "warms the process before it listens (one process only)"
        ),
    )
    ap.add_argument("--session-ttl", type=int, default=10, help="server.disconnectedSessionTTL of the started server")
    ap.add_argument("--threads", type=int, default=1, help="MADE_VIZ_THREADS of the started server")
    ap.add_argument("--p95-target", type=float, default=2.0, help="change latency p95 limit (default 2 s)")
    ap.add_argument("--json", action="store_true", help="JSON only (no table, no progress lines on stderr)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    if min(args.sessions, args.processes, args.changes) < 1:
        ap.error("--sessions, --processes and --changes must be >= 1")
    if args.cold and args.url:
        ap.error("--cold starts its own fresh server (a running one at --url may be warm already)")
    if args.server == "made-viz" and (args.processes != 1 or args.url):
        ap.error("--server made-viz starts one process (no --processes, no --url)")
    if args.cold:
        args.warmup, args.architecture_only = False, True
    if args.sessions > 98:
        ap.error("at most 98 sessions (their hidden sizes must stay distinct)")
    args.on_open = None
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    r = run(args)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "on_open")},
        **r,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if not args.json:
        print(table(r), file=sys.stderr)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
