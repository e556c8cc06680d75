"""Serve the app for a benchmark and watch its processes: one `streamlit run app.py`, or
deploy/serve_class.sh (several behind nginx); their CPU seconds and resident memory (through psutil, so
the figures come out the same on Linux and macOS); Streamlit's own session counters.

Shared by bench/load_test.py (real browsers), bench/ws_load.py (simulated students) and bench/soak.py.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nobody listens on right now (the server started on it may still lose a race: callers retry)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants that are alive now."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_s(proc: psutil.Process) -> float:
    """User + system CPU seconds of a live process (and of its children that it has reaped)."""
    try:
        t = proc.cpu_times()
        return t.user + t.system + t.children_user + t.children_system
    except psutil.Error:
        return 0.0


def rss_mb(proc: psutil.Process) -> float:
    try:
        return proc.memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def tree_cpu_s(pid: int | None) -> float:
    return sum(cpu_s(p) for p in tree(pid)) if pid else 0.0


def machine_busy_s() -> float:
    """CPU seconds all processes of the machine have used since boot (everything but idle and iowait)."""
    t = psutil.cpu_times()
    return sum(v for k, v in t._asdict().items() if k not in ("idle", "iowait", "guest", "guest_nice"))


def self_cpu_s() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


def is_app(cmd: str) -> bool:
    """An app process: `streamlit run app.py` or the warm launcher `python -m made_viz` (serve_class.sh's),
    not a helper process it starts (`python -m made_viz.<module>`, e.g. a training worker)."""
    return "streamlit" in cmd or re.search(r"-m made_viz(\s|$)", cmd) is not None


def is_helper(cmd: str) -> bool:
    """A helper process an app process started (`python -m made_viz.<module>`), counted apart."""
    return re.search(r"-m made_viz\.\w", cmd) is not None


def streamlit_processes(root_pid: int | None) -> list[psutil.Process]:
    """The app processes under root_pid (itself, or the ones serve_class.sh started)."""
    return [p for p in tree(root_pid) if is_app(cmdline(p))] if root_pid else []


def cpu_split(server_pid: int | None) -> dict:
    """CPU seconds so far of the server's processes and of this script's other children (browsers,
    playwright's driver): on one machine they compete for the same cores."""
    server = {p.pid for p in tree(server_pid)} if server_pid else set()
    clients = [p for p in tree(os.getpid()) if p.pid not in server and p.pid != os.getpid()]
    return {
        "server_cpu_s": round(sum(cpu_s(p) for p in tree(server_pid)) if server_pid else 0.0, 1),
        "browser_cpu_s": round(sum(cpu_s(p) for p in clients), 1),
    }


def renice_children(server_pid: int | None, level: int) -> None:
    """Lower the CPU priority of this script's child processes other than the server (chromium sets its
    renderers' priorities itself, so `nice chromium` is not enough: re-applied every sample)."""
    server = {p.pid for p in tree(server_pid)} if server_pid else set()
    for p in tree(os.getpid()):
        if p.pid == os.getpid() or p.pid in server:
            continue
        try:
            if p.nice() < level:
                p.nice(level)
        except psutil.Error:
            pass


class MemorySampler(threading.Thread):
    """RSS (MB) of the server's streamlit processes (in total and each by pid) and of nginx, every
    `period` seconds. `renice` > 0 also keeps this script's other children at that CPU priority."""

    def __init__(self, root_pid: int | None, period: float = 0.5, renice: int = 0):
        super().__init__(daemon=True)
        self.root_pid, self.period, self.renice, self.t0 = root_pid, period, renice, time.time()
        self.samples: list[dict] = []
        self.peak_by_pid: dict[int, float] = {}
        self.phase = "start"
        self._stop = threading.Event()

    def measure(self) -> dict:
        st = ng = helpers = 0.0
        n = 0
        for p in tree(self.root_pid) if self.root_pid else []:
            cmd = cmdline(p)
            if is_app(cmd):
                mb = rss_mb(p)
                st += mb
                n += 1
                self.peak_by_pid[p.pid] = max(self.peak_by_pid.get(p.pid, 0.0), round(mb, 1))
            elif is_helper(cmd):
                helpers += rss_mb(p)
            elif "nginx" in cmd:
                ng += rss_mb(p)
        return {
            "t": round(time.time() - self.t0, 2),
            "phase": self.phase,
            "streamlit_mb": round(st, 1),
            "nginx_mb": round(ng, 1),
            "helpers_mb": round(helpers, 1),
            "processes": n,
        }

    def run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.measure())
            if self.renice > 0:
                renice_children(self.root_pid, self.renice)
            self._stop.wait(self.period)

    def stop(self) -> None:
        self._stop.set()

    def level(self, seconds: float = 2.0) -> float:
        """Median streamlit RSS over the next `seconds` (a quiet moment)."""
        vals = []
        end = time.time() + seconds
        while time.time() < end:
            vals.append(self.measure()["streamlit_mb"])
            time.sleep(self.period)
        return round(statistics.median(vals), 1)


class Server:
    """`streamlit run app.py` (processes=1) or deploy/serve_class.sh P PORT (processes>=2), in a process
    group of its own (stop() ends that group and nothing else). Its output goes to `log_path`."""

    def __init__(
        self,
        processes: int,
        session_ttl: int,
        threads: int,
        extra_env: dict | None = None,
        tries: int = 3,
        script: Path | None = None,
    ):
        self.processes = processes
        self.script = Path(script or ROOT / "deploy" / "serve_class.sh")
        env = dict(
            os.environ,
            MADE_VIZ_THREADS=str(threads),
            STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
            MADE_VIZ_ADDRESS="127.0.0.1",
            MADE_VIZ_SESSION_TTL=str(session_ttl),
            **(extra_env or {}),
        )
        self.log_path = f"/tmp/madeviz-load-{os.getpid()}-{processes}.log"
        for attempt in range(tries):  # a port found free can be taken before the server binds it
            try:
                self._start(processes, session_ttl, env)
                return
            except RuntimeError:
                if attempt == tries - 1:
                    raise

    def _start(self, processes: int, session_ttl: int, env: dict) -> None:
        self.port = free_port()
        self.backend_base = self.port
        if processes == 1:
            cmd = [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless=true",
                f"--server.port={self.port}",
                "--server.address=127.0.0.1",
                "--server.fileWatcherType=none",
                f"--server.disconnectedSessionTTL={session_ttl}",
            ]
        else:
            base = free_port()
            while any(port_taken(base + i) for i in range(processes + 1)) or base <= self.port <= base + processes:
                base = free_port()
            env = dict(env, MADE_VIZ_BACKEND_PORT=str(base), PYTHON=sys.executable)
            self.backend_base = base
            cmd = ["bash", str(self.script), str(processes), str(self.port)]
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + (120 if processes == 1 else 400)  # serve_class.sh: N warm-ups at once
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=1).status == 200:
                    if processes == 1 or self._all_backends_up():
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_tail()}")

    @property
    def backends(self) -> list[str]:
        """The URL of each streamlit process (the one URL itself for a single process)."""
        if self.processes == 1:
            return [self.url]
        return [f"http://127.0.0.1:{self.backend_base + i}" for i in range(self.processes)]

    def _all_backends_up(self) -> bool:
        self.log.seek(0)
        return "READY" in self.log.read()

    def prefix(self) -> Path | None:
        """serve_class.sh's folder of logs (its READY line names it)."""
        self.log.seek(0)
        m = re.search(r"^READY (\S+)", self.log.read(), re.M)
        return Path(m.group(1)) if m else None

    def log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this script started, nothing else
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def metrics(urls: list[str]) -> dict:
    """Streamlit's own counters (/_stcore/metrics), summed over the backends."""
    out = {"active_sessions": 0, "connects": 0, "disconnects": 0}
    for u in urls:
        try:
            text = (
                urllib.request.urlopen(
                    u + "/_stcore/metrics?families=active_sessions&families=session_events", timeout=10
                )
                .read()
                .decode()
            )
        except OSError:
            return {"error": f"no metrics from {u}"}
        for key, pat in (
            ("active_sessions", r"^active_sessions (\d+)"),
            ("connects", r'^session_events_total\{type="connect"\} (\d+)'),
            ("disconnects", r'^session_events_total\{type="disconnect"\} (\d+)'),
        ):
            m = re.search(pat, text, re.M)
            out[key] += int(m.group(1)) if m else 0
    return out


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of the values, linearly interpolated; None for no values."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return round(v[lo] + (v[hi] - v[lo]) * (k - lo), 3)


def stats(values: list[float]) -> dict:
    v = [x for x in values if x is not None]
    return {"p50": pct(v, 0.5), "p95": pct(v, 0.95), "max": pct(v, 1.0), "n": len(v)}
