"""deploy/serve_class.sh with stand-in app processes: which command it starts, how long it waits for them,
that it starts a dead one again, and that nginx also routes to backends on other hosts (MADE_VIZ_BACKENDS,
here on the loopback addresses 127.0.0.2 and 127.0.0.3). The real app behind the same script is tested in
tests/e2e/test_multihost.py; these run in seconds.

The stand-in: $PYTHON is a wrapper that, for `-m ...` (an app process), runs a tiny HTTP server that records
its command line, waits FAKE_WARM_S seconds (the warm-up), then answers /_stcore/health and / with its port;
anything else (the script's health checks) goes to the real python.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "serve_class.sh"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is not installed")

FAKE_BACKEND = r"""
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
port = int(args[args.index("--port") + 1]) if "--port" in args else int(os.environ["FAKE_PORT"])
host = os.environ.get("FAKE_HOST", "127.0.0.1")
with open(os.path.join(os.environ["FAKE_LOG"], "starts.jsonl"), "a") as f:
    f.write(json.dumps({"argv": args, "pid": os.getpid(), "port": port,
                        "ttl": os.environ.get("MADE_VIZ_SESSION_TTL")}) + "\n")
time.sleep(float(os.environ.get("FAKE_WARM_S", "0")))

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok" if self.path == "/_stcore/health" else f"backend {host}:{port}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

ThreadingHTTPServer((host, port), H).serve_forever()
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_run(n: int) -> int:
    """A first port such that it and the next n ports are free."""
    while True:
        base = free_port()
        if base + n < 65535 and all(_free(base + i) for i in range(n + 1)):
            return base


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.fixture
def fake(tmp_path):
    """A fake $PYTHON (see the module docstring) and the folder its backends log their starts to."""
    (tmp_path / "fake_backend.py").write_text(FAKE_BACKEND)
    wrapper = tmp_path / "python"
    wrapper.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$1" = "-m" ]; then exec "{sys.executable}" "{tmp_path}/fake_backend.py" "$@"; fi\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return tmp_path


class Class:
    """serve_class.sh in a process group of its own; stop() ends that group and nothing else."""

    def __init__(self, fake: Path, n: int, env: dict):
        self.port = free_port()
        self.base = free_run(n)
        self.log = open(fake / "serve.log", "w+")
        full = dict(
            os.environ,
            PYTHON=str(fake / "python"),
            FAKE_LOG=str(fake),
            MADE_VIZ_ADDRESS="127.0.0.1",
            MADE_VIZ_BACKEND_PORT=str(self.base),
            **env,
        )
        self.proc = subprocess.Popen(
            ["bash", str(SCRIPT), str(n), str(self.port)],
            env=full,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self, timeout: float = 30) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if "READY" in self.text():
                return time.monotonic() - t0
            assert self.proc.poll() is None, self.text()
            time.sleep(0.1)
        raise AssertionError(f"no READY within {timeout} s: {self.text()}")

    def prefix(self) -> Path:
        return Path(next(ln.split()[1] for ln in self.text().splitlines() if ln.startswith("READY ")))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


def starts(fake: Path) -> list[dict]:
    path = fake / "starts.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


def get(url: str, cookie: str | None = None) -> tuple[str, str | None, str | None]:
    """Body, the backend nginx names, and the route cookie it sets."""
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        set_cookie = r.headers.get("Set-Cookie")
        return r.read().decode(), r.headers.get("X-MadeViz-Backend"), set_cookie


def test_each_process_is_the_warm_launcher_and_students_get_in_only_when_all_are_warm(fake):
    c = Class(fake, 2, {"FAKE_WARM_S": "2", "MADE_VIZ_SESSION_TTL": "45"})
    try:
        waited = c.wait_ready()
        runs = starts(fake)
        assert sorted(r["argv"] for r in runs) == [["-m", "made_viz", "--port", str(c.base + i)] for i in range(2)]
        assert {r["ttl"] for r in runs} == {"45"}
        assert waited >= 2  # nginx came up after the warm-ups, not before
        body, backend, _ = get(f"http://127.0.0.1:{c.port}/")
        assert body == f"backend {backend}" and backend in {f"127.0.0.1:{c.base + i}" for i in range(2)}
    finally:
        c.stop()


def test_a_warm_up_longer_than_the_old_60_s_limit_is_waited_for_and_the_limit_is_the_operators(fake):
    c = Class(fake, 1, {"FAKE_WARM_S": "600", "MADE_VIZ_START_TIMEOUT": "3"})
    try:
        assert c.proc.wait(30) == 1
        assert "did not answer its health check within 3 s (MADE_VIZ_START_TIMEOUT)" in c.text()
    finally:
        c.stop()
    assert "MADE_VIZ_START_TIMEOUT seconds to wait" in SCRIPT.read_text() and "(default 300" in SCRIPT.read_text()


def test_a_process_that_dies_is_started_again_on_its_port(fake):
    c = Class(fake, 2, {})
    try:
        c.wait_ready()
        victim = next(r for r in starts(fake) if r["port"] == c.base)
        os.kill(victim["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len([r for r in starts(fake) if r["port"] == c.base]) < 2:
            time.sleep(0.2)
        again = [r for r in starts(fake) if r["port"] == c.base]
        assert len(again) == 2 and again[1]["argv"] == ["-m", "made_viz", "--port", str(c.base)]
        assert f"app process on port {c.base} exited" in (c.prefix() / "restarts.log").read_text()
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{c.base}/_stcore/health")[0] == "ok":
                    break
            except OSError:
                time.sleep(0.2)
        assert get(f"http://127.0.0.1:{c.base}/_stcore/health")[0] == "ok"
        assert c.proc.poll() is None  # the other process and nginx went on
    finally:
        c.stop()


def browse(url: str, jar: dict[str, str]) -> str | None:
    """One request of a browser with cookie jar `jar` (updated from every Set-Cookie, as a browser does);
    the backend that answered."""
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        for line in r.headers.get_all("Set-Cookie") or []:
            name, _, value = line.split(";")[0].partition("=")
            jar[name.strip()] = value.strip()
        r.read()
        tried = r.headers.get("X-MadeViz-Backend")  # "A, B" when nginx had to try another after A
        return tried.split(",")[-1].strip() if tried else None


def test_a_browser_moved_off_a_dead_process_stays_where_its_new_session_is(fake):
    """The process a browser is on dies: its student reloads and nginx serves the page (and so the new
    session) from another process. When the supervisor has started the dead one again, that browser's later
    requests (uploads, images, a websocket reconnect) must still go to the process that holds its session;
    before, they went back to the restarted process by the cookie's hash (soak, --kill-one: a good upload got
    HTTP 400)."""
    c = Class(fake, 2, {})
    try:
        c.wait_ready()
        url = f"http://127.0.0.1:{c.port}/"
        jar: dict[str, str] = {}
        first = browse(url, jar)
        assert {browse(url, jar) for _ in range(5)} == {first}
        victim = next(r for r in starts(fake) if f"127.0.0.1:{r['port']}" == first)
        os.kill(victim["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 20
        moved = first
        while moved == first and time.monotonic() < deadline:  # the reload, while the process is down
            try:
                moved = browse(url, jar)
            except urllib.error.HTTPError:
                time.sleep(0.1)
        assert moved != first, f"the browser's requests still went to {first} after its process was killed"
        while len([r for r in starts(fake) if r["port"] == victim["port"]]) < 2 or not _answers(first):
            assert time.monotonic() < deadline, "the dead process was not started again within 20 s"
            time.sleep(0.2)
        assert {browse(url, jar) for _ in range(10)} == {moved}
        fresh: dict[str, str] = {}  # new browsers still spread over both processes
        assert {browse(url, dict(fresh)) for _ in range(40)} == {first, moved}
    finally:
        c.stop()


def _answers(backend: str) -> bool:
    try:
        return get(f"http://{backend}/_stcore/health")[0] == "ok"
    except OSError:
        return False


def start_host(fake: Path, host: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, FAKE_LOG=str(fake), FAKE_HOST=host, FAKE_PORT=str(port))
    return subprocess.Popen([sys.executable, str(fake / "fake_backend.py")], env=env, start_new_session=True)


def test_nginx_routes_to_backends_on_other_hosts_and_keeps_each_browser_on_one(fake):
    port = free_port()
    hosts = [start_host(fake, h, port) for h in ("127.0.0.2", "127.0.0.3")]
    c = Class(fake, 0, {"MADE_VIZ_BACKENDS": f"127.0.0.2:{port} 127.0.0.3:{port}"})
    try:
        c.wait_ready()
        conf = (c.prefix() / "nginx.conf").read_text()
        assert f"server 127.0.0.2:{port} max_fails=0;" in conf and f"server 127.0.0.3:{port} max_fails=0;" in conf
        assert "127.0.0.1:" not in conf.split("upstream madeviz")[1].split("}")[0]  # N = 0: no local process
        seen = {}
        for _ in range(40):  # new browsers spread over both hosts
            body, backend, cookie = get(f"http://127.0.0.1:{c.port}/")
            assert body == f"backend {backend}"
            seen.setdefault(backend, cookie.split(";")[0])
        assert set(seen) == {f"127.0.0.2:{port}", f"127.0.0.3:{port}"}
        for backend, cookie in seen.items():  # a browser with its cookie always comes back to its host
            assert {get(f"http://127.0.0.1:{c.port}/", cookie)[1] for _ in range(10)} == {backend}
    finally:
        c.stop()
        for h in hosts:
            h.kill()
            h.wait(5)


@pytest.mark.parametrize(
    "n, env, message",
    [
        ("0", {}, "N must be at least 1 (or list MADE_VIZ_BACKENDS)"),
        ("1", {"MADE_VIZ_BACKENDS": "10.0.0.2"}, "MADE_VIZ_BACKENDS entries must be host:port, got '10.0.0.2'"),
        ("1", {"MADE_VIZ_START_TIMEOUT": "soon"}, "MADE_VIZ_START_TIMEOUT must be a whole number of seconds"),
    ],
)
def test_bad_settings_stop_the_script_with_one_sentence(n, env, message):
    # NGINX points nowhere: a script that let a bad setting through stops there, and starts no server
    env = dict(os.environ, NGINX="/nonexistent/nginx", PYTHON="/nonexistent/python", **env)
    r = subprocess.run(["bash", str(SCRIPT), n, "8500"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and message in r.stderr
