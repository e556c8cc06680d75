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
from playwright.sync_api import TimeoutError as PlaywrightTimeout
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

# a server's start (imports, no page run yet) takes seconds when quiet; a machine shared by many jobs can take
# minutes, and a fixture that gives up fails every browser test of the session
START_TIMEOUT = 300
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
    deadline = time.time() + START_TIMEOUT
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
    raise RuntimeError(f"streamlit did not start in {START_TIMEOUT} s: " + out.decode(errors="replace")[-2000:])


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
def app_url(browser, browser_context_args):
    """Start `streamlit run app.py` on loopback for the whole browser-test session, and visit its entry point
    once: that first run pays the cold start (imports, empty caches) and registers the app's pages (a fresh
    server whose very first request is a page URL can stay in Streamlit's old "pages/ directory" mode), so
    that every test may open any page's URL directly, in any order."""
    with serve(ROOT / "app.py") as url:
        context = browser.new_context(**browser_context_args)
        try:
            count_runs(context)
            first = context.new_page()
            first.set_default_timeout(START_TIMEOUT * 1000)
            goto(first, url, timeout=START_TIMEOUT * 1000)
        finally:
            context.close()
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
def context(context):
    """pytest-playwright's context, counting the app's script runs in every page from its first document on
    (wait_idle relies on the count)."""
    count_runs(context)
    return context


@pytest.fixture
def new_context(new_context):
    """pytest-playwright's context factory, each context counting the app's script runs (see `context`)."""

    def make(**kwargs):
        ctx = new_context(**kwargs)
        count_runs(ctx)
        return ctx

    return make


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

# Counts the app's finished script runs inside the page: the server's script_finished messages (ForwardMsg field 6,
# a varint status) read off Streamlit's websocket from the document's start. So wait_idle knows whether the run
# an action caused has happened, even one over before the test looked. (stApp's data-test-script-state cannot
# tell: React may draw a fast run's "running" and "notRunning" in one render, and the attribute never changes.)
RUN_COUNTER = """(() => {
  if (window.__madeRuns !== undefined) return;
  window.__madeRuns = 0;  // script runs finished (whole page or fragment) in this document
  window.__madeSeen = 0;  // runs the test has already waited for
  const EARLY_FOR_RERUN = 2;  // a run cut short by the next one: that one's own end counts
  const count = bytes => {
    const b = new Uint8Array(bytes);
    let i = 0;
    const varint = () => {
      let v = 0, scale = 1, x;
      do { x = b[i++]; v += (x & 0x7f) * scale; scale *= 128; } while (x & 0x80 && i < b.length);
      return v;
    };
    while (i < b.length) {
      const key = varint(), field = Math.floor(key / 8), wire = key % 8;
      if (field === 6 && wire === 0) {
        if (varint() !== EARLY_FOR_RERUN) window.__madeRuns++;
        return;
      }
      if (wire === 0) varint();
      else if (wire === 2) { const n = varint(); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else return;
    }
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => {
        if (e.data instanceof ArrayBuffer) count(e.data);
        else if (e.data instanceof Blob) e.data.arrayBuffer().then(count);
      });
    }
  };
})()"""


# ms a page run may take: waits end as soon as the run does, so a long limit costs a passing test nothing, and a
# page run on a shared 2-core machine under a load of 20 was seen to take over two minutes
RUN_TIMEOUT = 300_000


def count_runs(context) -> None:
    """Count the app's script runs in every page of `context`, from each document's start. Every context
    whose pages wait_idle waits on needs it (the page, context and new_context fixtures do it)."""
    if not getattr(context, "_made_counts_runs", False):
        context.add_init_script(RUN_COUNTER)
        context._made_counts_runs = True


def wait_idle(pg, timeout: float = RUN_TIMEOUT, started: float | None = None) -> None:
    """Wait until Streamlit has finished the run that the last action caused: for a run to have finished since
    the last wait_idle (counted in the page, so a run over before this looked counts too), then for the app
    to be idle and stay idle a moment (no run ends meanwhile: a page may st.rerun itself).

    `started`: None (the default) when the action surely reruns the page: wait up to `timeout` for its run
    and fail if none comes. A number of ms for an action that may rerun nothing (a widget that refuses its
    value in the browser): wait that long for a run, then only for quiet."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    if pg.evaluate("() => window.__madeRuns === undefined"):
        raise RuntimeError("wait_idle: this page does not count script runs; call count_runs(context) first")
    new_run = "() => window.__madeRuns > window.__madeSeen"
    if started is None:
        try:
            pg.wait_for_function(new_run, timeout=timeout)
        except PlaywrightTimeout:
            raise AssertionError(f"the action caused no script run in {timeout / 1000:.0f} s") from None
    else:
        with contextlib.suppress(PlaywrightTimeout):
            pg.wait_for_function(new_run, timeout=started)
    _until_quiet(pg, timeout)
    pg.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout)


def _until_quiet(pg, timeout: float, quiet_ms: int = 300) -> None:
    """Idle, and no run ended during the next `quiet_ms` (a page's st.rerun, or a run_every fragment, may run
    again); then every run so far counts as seen."""
    end = time.monotonic() + timeout / 1000
    while True:
        left = max(1_000.0, (end - time.monotonic()) * 1000)
        pg.wait_for_selector(IDLE, state="attached", timeout=left)
        runs = pg.evaluate("() => window.__madeRuns")
        pg.wait_for_timeout(quiet_ms)
        if pg.evaluate("() => window.__madeRuns") == runs and pg.locator(IDLE).count():
            break
        if time.monotonic() > end:
            raise AssertionError(f"the app did not stay idle for {quiet_ms} ms within {timeout / 1000:.0f} s")
    pg.evaluate("() => { window.__madeSeen = window.__madeRuns; }")


def whole_label(label: str) -> re.Pattern:
    """Text that holds `label` as whole words, case and all: a figure's "▶ Play" for "Play", and not its
    "⟲ Replay" (Playwright's plain has_text ignores case and matches inside words)."""
    return re.compile(rf"(^|\s){re.escape(label)}(\s|$)")


def goto(pg, url: str, timeout: float = RUN_TIMEOUT) -> None:
    """Open `url` and wait for its first run (a new document: its run count starts at 0)."""
    pg.goto(url, timeout=timeout)
    wait_idle(pg, timeout)
