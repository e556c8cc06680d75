"""Browser tests: serve the real app with `streamlit run` and drive Debian's headless chromium through
pytest-playwright (Playwright's own browser download does not work offline, so its launch options point at
/usr/bin/chromium, or $MADE_VIZ_CHROMIUM). A failing test leaves a screenshot and a Playwright trace under
artifacts/playwright/<test>/ (open a trace with `playwright show-trace trace.zip`). The tests' own
screenshots at 1280x720 go to $MADE_VIZ_SCREENSHOTS (default: artifacts/screenshots)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("MADE_VIZ_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
CHROMIUM = os.environ.get("MADE_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-quic",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 720}
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'

pytestmark = pytest.mark.e2e
# Playwright's assertions retry for 5 s by default; a page run on a shared 2-core machine can take longer
expect.set_options(timeout=30_000)


def pytest_configure(config):
    """Artifacts for failures, for browser runs only (a unit-test run records nothing): a screenshot and
    a trace of every failing browser test, kept under artifacts/playwright. Explicit command-line values
    win; pytest-playwright's defaults ("off", "test-results") are replaced."""
    opt = config.option
    if getattr(opt, "screenshot", None) == "off":
        opt.screenshot = "only-on-failure"
    if getattr(opt, "tracing", None) == "off":
        opt.tracing = "retain-on-failure"
    if getattr(opt, "output", None) == "test-results":
        opt.output = str(ROOT / "artifacts" / "playwright")


# ------------------------------------------------------------------------------------------------
# the server

_PORT_LINE = re.compile(rb"URL: http://127\.0\.0\.1:(\d+)")


@contextlib.contextmanager
def serve(script: str | Path, cwd: Path = ROOT, env: dict | None = None):
    """`streamlit run script` on loopback; yields its URL, stops it afterwards. The port is the server's
    own choice (port 0 is not allowed by streamlit, so: a random port in a high range, and a retry on a
    clash), read back from the line it prints, never a port found free and then reused."""
    for _attempt in range(5):
        proc, url = _start(script, cwd, env)
        if url:
            break
    else:
        raise RuntimeError("streamlit did not start after 5 tries")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _start(script, cwd, env) -> tuple[subprocess.Popen, str | None]:
    """One try: a server on a random port; (proc, url) once healthy, (proc, None) if the port was taken."""
    import random

    port = random.randint(20_000, 60_000)
    full_env = dict(os.environ, MADE_VIZ_THREADS="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **(env or {}))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--server.fileWatcherType=none",
        ],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out = b""
    deadline = time.time() + 90
    os.set_blocking(proc.stdout.fileno(), False)
    while time.time() < deadline:
        out += proc.stdout.read() or b""
        if proc.poll() is not None:
            if b"already in use" in out or b"is not available" in out:
                return proc, None
            raise RuntimeError("streamlit exited: " + out.decode(errors="replace")[-2000:])
        m = _PORT_LINE.search(out)
        if m and _healthy(f"http://127.0.0.1:{m[1].decode()}"):
            _drain(proc)
            return proc, f"http://127.0.0.1:{m[1].decode()}"
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not start in 90 s: " + out.decode(errors="replace")[-2000:])


def _healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200
    except OSError:
        return False


def _drain(proc: subprocess.Popen) -> None:
    """Keep reading the server's output so that a full pipe never blocks it."""
    import threading

    def read():
        os.set_blocking(proc.stdout.fileno(), True)
        for _ in iter(proc.stdout.readline, b""):
            pass

    threading.Thread(target=read, daemon=True).start()


@pytest.fixture(scope="session")
def app_url():
    """Start `streamlit run app.py` on loopback for the whole browser-test session."""
    with serve(ROOT / "app.py") as url:
        yield url


# ------------------------------------------------------------------------------------------------
# the browser (pytest-playwright's fixtures, pointed at Debian's chromium)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not exe:
        pytest.fail(f"chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": exe, "args": CHROME_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """Every context (= a fresh Streamlit session) at 1280x720, the size of a classroom projector."""
    return {**browser_context_args, "viewport": VIEWPORT, "accept_downloads": True}


@pytest.fixture
def page(page):
    page.set_default_timeout(30_000)
    return page


@pytest.fixture(scope="session")
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\n[e2e] screenshots in {SHOTS}")
    return SHOTS


# ------------------------------------------------------------------------------------------------
# waiting for Streamlit


def wait_idle(pg, timeout: float = 120_000, started: float = 2_000) -> None:
    """Wait until Streamlit has finished the run that the last action caused: first for the run to
    start (up to `started` ms: an action that reruns nothing lets this pass), then for it to end, then
    for the app to stay idle a moment (a page may st.rerun itself and briefly look idle in between)."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    with contextlib.suppress(Exception):  # playwright's TimeoutError: the run was over before we looked
        pg.wait_for_selector(RUNNING, state="attached", timeout=started)
    _until_quiet(pg, timeout)
    pg.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout)


def _until_quiet(pg, timeout: float, quiet_ms: int = 400) -> None:
    end = time.monotonic() + timeout / 1000
    quiet = 0
    while quiet < quiet_ms:
        left = max(1.0, (end - time.monotonic()) * 1000)
        pg.wait_for_selector(IDLE, state="attached", timeout=left)
        pg.wait_for_timeout(100)
        quiet = quiet + 100 if pg.locator(IDLE).count() else 0


def goto(pg, url: str) -> None:
    pg.goto(url)
    wait_idle(pg)
