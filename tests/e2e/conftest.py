"""Browser tests: serve the real app with `streamlit run` and drive Debian's headless chromium
through Playwright (its own browser download does not work offline). Screenshots at 1280x720 go
to $MADE_VIZ_SCREENSHOTS (default: artifacts/screenshots); the session prints the folder."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("MADE_VIZ_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
CHROMIUM = os.environ.get("MADE_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
               "--disable-quic", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(script: str | Path, cwd: Path = ROOT):
    """`streamlit run script` on a free loopback port; yields its URL, stops it afterwards."""
    port = _free_port()
    env = dict(os.environ, MADE_VIZ_THREADS="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1", "--server.fileWatcherType=none"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_url():
    """Start `streamlit run app.py` on loopback for the whole browser-test session."""
    with serve(ROOT / "app.py") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (= a fresh Streamlit session) at 1280x720."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\n[e2e] screenshots in {SHOTS}")
    return SHOTS


def wait_idle(pg, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished the current run (no 'Running...' status widget)."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    pg.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout)
    pg.wait_for_timeout(300)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    pg.wait_for_timeout(200)


def goto(pg, url: str) -> None:
    pg.goto(url)
    wait_idle(pg)
