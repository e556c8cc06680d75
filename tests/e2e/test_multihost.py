"""Beyond one machine: deploy/serve_class.sh in front of app processes on other hosts (MADE_VIZ_BACKENDS),
with two real app processes bound to the loopback addresses 127.0.0.2 and 127.0.0.3 (on the same port, as
two hosts would be) standing in for two hosts. Through nginx, new browsers spread over both hosts, and each
browser's page, websocket and session stay on the host its cookie names."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
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


TRIES = 5  # random ports tried before giving up (a clash with another job's port is retried, never foreseen)
TAKEN = ("already in use", "is not available")  # what streamlit and nginx say when their port is taken


class PortTaken(Exception):
    """The random port was in use: try another."""


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


def start_hosts(logs: Path, env: dict, attempt: int) -> tuple[list[subprocess.Popen], int]:
    """The two stand-in hosts on one random port P (127.0.0.2:P and 127.0.0.3:P), healthy; PortTaken (both
    stopped) if either address had P taken."""
    port = random.randint(20_000, 60_000)
    # `made-viz app --class` binds every address of a real host; here each stand-in binds its own address
    hosts = {
        h: start(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.address={h}",
             f"--server.port={port}", "--server.fileWatcherType=none"],
            env,
            logs / f"{h}-{attempt}.log",
        )
        for h in HOSTS
    }  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        for h, proc in hosts.items():
            while not healthy(f"http://{h}:{port}"):
                if proc.poll() is not None:
                    text = (logs / f"{h}-{attempt}.log").read_text()
                    raise PortTaken(text) if any(t in text for t in TAKEN) else AssertionError(text[-3000:])
                assert time.monotonic() < deadline, f"the app on {h}:{port} did not answer in 300 s"
                time.sleep(0.2)
    except BaseException:
        for proc in hosts.values():
            stop(proc)
        raise
    return list(hosts.values()), port


def start_front(logs: Path, env: dict, backends: list[str], attempt: int) -> tuple[subprocess.Popen, int]:
    """deploy/serve_class.sh (nginx alone, in front of `backends`) on a random port, ready; PortTaken (stopped)
    if nginx found its port taken."""
    front = random.randint(20_000, 60_000)
    log = logs / f"serve_class-{attempt}.log"
    nginx = start(
        ["bash", str(ROOT / "deploy" / "serve_class.sh"), "0", str(front)],
        dict(env, MADE_VIZ_ADDRESS="127.0.0.1", MADE_VIZ_BACKENDS=" ".join(backends)),
        log,
    )
    deadline = time.monotonic() + 300
    while "READY" not in log.read_text():
        if nginx.poll() is not None:
            text = log.read_text()
            errors = re.search(r"logs kept in (\S+)", text)
            if errors and (Path(errors[1]) / "error.log").exists():
                text += (Path(errors[1]) / "error.log").read_text()
            raise PortTaken(text) if any(t in text for t in TAKEN) else AssertionError(text[-3000:])
        if time.monotonic() > deadline:
            stop(nginx)
            raise AssertionError("serve_class.sh did not get ready in 300 s")
        time.sleep(0.2)
    return nginx, front


def retry_on_taken_port(start_once):
    """start_once(attempt) with a new random port until its port was free (at most TRIES times)."""
    for attempt in range(TRIES):
        try:
            return start_once(attempt)
        except PortTaken:
            continue
    raise AssertionError(f"no free port in {TRIES} random tries")


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    """Two 'hosts' (an app process on 127.0.0.2:P and one on 127.0.0.3:P) and nginx in front of them. Every port
    is the server's own random pick, retried on a clash: never a port found free, released and then reused."""
    if not os.access(NGINX, os.X_OK):
        pytest.skip("nginx is not installed")
    logs = tmp_path_factory.mktemp("multihost")
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", MADE_VIZ_THREADS="1")
    hosts, port = retry_on_taken_port(lambda attempt: start_hosts(logs, env, attempt))
    backends = [f"{h}:{port}" for h in HOSTS]
    try:
        nginx, front = retry_on_taken_port(lambda attempt: start_front(logs, env, backends, attempt))
        try:
            yield {"url": f"http://127.0.0.1:{front}", "backends": backends}
        finally:
            stop(nginx)
    finally:
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
