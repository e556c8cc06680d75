"""Beyond one machine: deploy/serve_class.sh in front of app processes on other hosts (MADE_VIZ_BACKENDS),
with two real app processes bound to the loopback addresses 127.0.0.2 and 127.0.0.3 (on the same port, as
two hosts would be) standing in for two hosts. Through nginx, new browsers spread over both hosts, and each
browser's page, websocket and session stay on the host its cookie names."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.st_client import Tab, get_root, run_async

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ("127.0.0.2", "127.0.0.3")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port_on_all(hosts) -> int:
    """A port free on every one of the hosts' addresses."""
    while True:
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        try:
            for h in hosts[1:]:
                with socket.socket() as s:
                    s.bind((h, port))
            return port
        except OSError:
            continue


def healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200
    except OSError:
        return False


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this test started, nothing else
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """Two 'hosts' (an app process on 127.0.0.2:P and one on 127.0.0.3:P) and nginx in front of them."""
    if not os.access(NGINX, os.X_OK):
        pytest.skip("nginx is not installed")
    logs = tmp_path_factory.mktemp("multihost")
    port = free_port_on_all(HOSTS)
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", MADE_VIZ_THREADS="1")
    # `made-viz app --class` binds every address of a real host; here each stand-in binds its own address
    hosts = [
        start(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.address={h}",
             f"--server.port={port}", "--server.fileWatcherType=none"],
            env,
            logs / f"{h}.log",
        )
        for h in HOSTS
    ]  # fmt: skip
    front = free_port_on_all(("127.0.0.1",))
    nginx = start(
        ["bash", str(ROOT / "deploy" / "serve_class.sh"), "0", str(front)],
        dict(env, MADE_VIZ_ADDRESS="127.0.0.1", MADE_VIZ_BACKENDS=" ".join(f"{h}:{port}" for h in HOSTS)),
        logs / "serve_class.log",
    )
    try:
        deadline = time.monotonic() + 300
        while "READY" not in (logs / "serve_class.log").read_text():
            assert nginx.poll() is None, (logs / "serve_class.log").read_text()
            assert time.monotonic() < deadline, "serve_class.sh did not get ready in 300 s"
            time.sleep(0.5)
        yield {"url": f"http://127.0.0.1:{front}", "backends": [f"{h}:{port}" for h in HOSTS]}
    finally:
        stop(nginx)
        for h in hosts:
            stop(h)


def browsers_per_host(url: str, backends: list[str]) -> dict[str, str]:
    """New browsers (GET / without a cookie) until one has landed on each host: host -> its cookie."""
    found: dict[str, str] = {}
    for _ in range(60):
        cookie, backend = get_root(url, 30)
        assert backend in backends
        found.setdefault(backend, cookie)
        if len(found) == len(backends):
            return found
    raise AssertionError(f"60 new browsers all landed on {sorted(found)}")


def active_sessions(backend: str) -> int:
    text = urllib.request.urlopen(f"http://{backend}/_stcore/metrics?families=active_sessions", timeout=10).read()
    return int(re.search(rb"^active_sessions (\d+)", text, re.M).group(1))


async def a_lesson(url: str, cookie: str, hidden: str) -> tuple[str | None, str, list[str]]:
    """One student: the websocket with the browser's cookie, the Architecture page, their own hidden layers."""
    tab = Tab(url, 120, cookie=cookie)
    await tab.connect()
    try:
        await tab.open("architecture")
        sent, node = await tab.set_value("Hidden layers", hidden)
        await tab.wait_done(sent, node.fragment_id)
        return tab.backend_ws, tab.caption(), tab.errors
    finally:
        await tab.close()


def test_new_browsers_spread_over_both_hosts_and_each_websocket_stays_on_its_browsers_host(school):
    url, backends = school["url"], school["backends"]
    cookies = browsers_per_host(url, backends)
    for i, (backend, cookie) in enumerate(sorted(cookies.items())):
        for _ in range(5):  # the page's requests come back to the same host
            assert get_root_with(url, cookie) == backend
        hidden = f"{210 + i}, {310 + i}"
        ws_backend, caption, errors = run_async(a_lesson(url, cookie, hidden))
        assert ws_backend == backend, f"the websocket went to {ws_backend}, the browser's page to {backend}"
        assert f"→ {210 + i} → {310 + i} →" in caption and errors == []


def test_a_session_lives_on_one_host_only(school):
    url, backends = school["url"], school["backends"]
    cookies = browsers_per_host(url, backends)
    backend, cookie = sorted(cookies.items())[0]
    other = next(b for b in backends if b != backend)
    before = {b: active_sessions(b) for b in backends}

    async def open_and_count():
        tab = Tab(url, 120, cookie=cookie)
        await tab.connect()
        try:
            await tab.open("architecture")
            return {b: active_sessions(b) for b in backends}
        finally:
            await tab.close()

    during = run_async(open_and_count())
    assert during[backend] == before[backend] + 1 and during[other] == before[other]


def get_root_with(url: str, cookie: str) -> str | None:
    req = urllib.request.Request(url + "/", headers={"Cookie": cookie})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        return r.headers.get("X-MadeViz-Backend")
