#!/usr/bin/env python
"""A classroom in a box: N students use one MADE Explorer server at the same time.

    python bench/load_test.py                      # 10 sessions, one `streamlit run app.py`
    python bench/load_test.py --sessions 30 --processes 3   # deploy/serve_class.sh 3 behind nginx
    python bench/load_test.py --compare            # 1 process, then 2, side by side
    python bench/load_test.py --url http://host:8501   # a server that is already running

Starts the real server on loopback (or uses --url), opens ONE headless Debian chromium with N
browser contexts (a context = a separate browser profile = its own Streamlit session) and
drives them concurrently with async Playwright. Each session:

1. opens the Architecture page (as from a teacher's link; later pages are reached through the
   sidebar's navigation, client-side, so the session stays the same);
2. types its own hidden-layer size into the sidebar "Hidden layers" box and presses Enter,
   `--changes` times (sizes 20+i, 120+i, ... are distinct per session); the latency of a change is
   the time from Enter until the sidebar caption "D = … · layers … → h → …" shows the new size
   AND Streamlit reports the run finished (stApp data-test-script-state = notRunning);
3. trains briefly on the Train page and 4. draws samples on the Sample page — both steps detect
   the pages' widgets and are reported as "skipped: page not built" when a page is not there yet;
5. checks isolation: once every session has made its changes, each page must show its own size
   in the sidebar and the URL, and none of the others'; after training, its own history; with
   several processes, every HTTP response a session gets (page, media, static) must come from
   one backend (nginx adds X-MadeViz-Backend), and the session state must survive navigation
   (which it would not if its websocket landed on another process). Back on the Architecture
   page, the sidebar's "Hidden layers" box must still show the session's size ("state lost").

Memory: RSS of the streamlit process(es) (and nginx) sampled every 0.5 s: the series, the idle
baseline after a warm-up session, with N sessions open, per session = (with N - baseline) / N,
and after all contexts are closed and the disconnected-session TTL has passed (Streamlit keeps a
closed tab's session for server.disconnectedSessionTTL seconds, 120 by default, so that a
reconnecting tab finds it; the script starts its own server with --session-ttl, default 10).
The whole class runs --cycles times (default 2) on the same server: if closed sessions were never
freed, the memory after each cycle would keep growing. Streamlit's own counters
(/_stcore/metrics: active sessions, connects, disconnects) are recorded at each stage.

Media: every /media/... response is counted; a 404 there is counted apart (`media_404`), not as
an error: the frontend prefetches a download button's file, and (most likely) when the page reruns
meanwhile, the file of the replaced button is already gone (the new button has a new URL). Seen only
under heavy CPU load.

Prints one JSON object (and a table on stderr; with --compare, 1 and 2 processes side by side).
Exit status 1 if a session saw an error, another session's state or lost its own, or the p95 of
the change latency exceeded --p95-target (default 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/load_test.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.serving import MemorySampler, Server, cpu_split, metrics, pct  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MADE_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-quic",
    "--disable-component-update",
    "--disable-sync",
]
STEP_TIMEOUT = 90_000  # ms
SKIPPED = "skipped: page not built"


# JS helpers evaluated in the page
JS_STATE = "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState || ''"
JS_CAPTION = """() => [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]')]
                   .map(e => e.innerText).filter(t => t.startsWith('D = ')).join(' | ')"""
JS_CAPTION_SHOWS = """([h]) => [...document.querySelectorAll(
                              '[data-testid="stSidebar"] [data-testid="stCaptionContainer"]')]
                          .some(e => e.innerText.includes(' → ' + h + ' → '))"""
JS_SHOWS_HIDDEN = """([h]) => {
  const caps = [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]')]
               .map(e => e.innerText);
  const st = document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState;
  return caps.some(c => c.includes(' → ' + h + ' → ')) && st === 'notRunning';
}"""
JS_MAIN = "document.querySelector('[data-testid=\"stMainBlockContainer\"]')?.innerText || ''"
JS_STEPPED = f"() => /step\\s*[1-9]/i.test({JS_MAIN})"
JS_NOT_RUNNING = f"() => !/\\brunning\\b/.test({JS_MAIN})"
JS_IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.dataset.testScriptState === 'notRunning'
         && !!document.querySelector('[data-testid="stMainBlockContainer"] h1');
}"""


async def settled(page, quiet_ms: int = 500, timeout_ms: int = STEP_TIMEOUT) -> None:
    """Wait until Streamlit has been idle for `quiet_ms` in a row (a page may st.rerun itself, and
    between two runs it is briefly idle) and the page has its title."""
    await page.wait_for_function(JS_IDLE, timeout=timeout_ms)
    quiet, end = 0, time.monotonic() + timeout_ms / 1000
    while quiet < quiet_ms:
        if time.monotonic() > end:
            raise TimeoutError(f"the page did not settle within {timeout_ms} ms")
        await page.wait_for_timeout(100)
        quiet = quiet + 100 if await page.evaluate(JS_IDLE) else 0


async def present(locator, timeout_ms: int = 15_000) -> bool:
    """True once `locator` is visible; False if it does not appear within `timeout_ms`."""
    try:
        await locator.first.wait_for(state="visible", timeout=timeout_ms)
        return True
    except Exception:  # noqa: BLE001 - playwright's TimeoutError
        return False


# ---------------------------------------------------------------------------------------------
# nginx's session affinity


def affinity_check(url: str, clients: int = 40, requests: int = 5) -> dict:
    """Without a browser: a client's first request (no cookie) and every later one (with the
    cookie nginx set) must reach the same backend; clients must spread over the backends."""
    per_backend: dict[str, int] = {}
    moved = 0
    for _ in range(clients):
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        seen = []
        for path in ["/", "/_stcore/health", "/_stcore/host-config", "/architecture", "/"][:requests]:
            with opener.open(url + path, timeout=10) as r:
                seen.append(r.headers.get("X-MadeViz-Backend", "?"))
        if len(set(seen)) != 1:
            moved += 1
        per_backend[seen[0]] = per_backend.get(seen[0], 0) + 1
    return {
        "clients": clients,
        "requests_each": requests,
        "clients_that_changed_backend": moved,
        "first_backend_counts": per_backend,
    }


# ---------------------------------------------------------------------------------------------
# one student


@dataclass
class Student:
    index: int
    sizes: list[int]
    cycle: int = 1
    latencies: list[float] = field(default_factory=list)
    caption_latencies: list[float] = field(default_factory=list)
    load_s: float | None = None
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    media_404: int = 0
    where: str = "open"
    backends: set = field(default_factory=set)
    media: int = 0
    train: dict = field(default_factory=dict)
    sample: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"cycle {self.cycle} session {self.index}"

    @property
    def own(self) -> int:
        return self.sizes[-1]


async def _nav(page, title: str) -> bool:
    """Client-side navigation through the sidebar (a full page load would start a new session)."""
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title)  # text also holds the icon's name
    if await link.count() == 0:
        return False
    await link.first.click()
    path = "/" if title == "Home" else f"/{title.lower()}"
    await page.wait_for_function(f"() => location.pathname.endsWith('{path}')", timeout=STEP_TIMEOUT)
    await page.wait_for_timeout(150)
    await settled(page)
    return True


async def _page_text(page) -> str:
    return await page.locator('[data-testid="stMainBlockContainer"]').inner_text()


async def _placeholder(page) -> bool:
    return "This page is being built" in await _page_text(page)


async def _check_own_state(page, s: Student, everyone: list[int], where: str, widgets: bool = False) -> None:
    """The sidebar caption and the URL show this session's hidden size and no other session's."""
    caption = await page.evaluate(JS_CAPTION)
    url = page.url
    if f" → {s.own} → " not in caption:
        s.leaks.append(f"{where}: sidebar shows {caption!r}, expected hidden {s.own}")
    if not re.search(rf"[?&]hidden={s.own}(&|$)", url):
        s.leaks.append(f"{where}: URL {url} does not carry hidden={s.own}")
    for other in everyone:
        if other != s.own and (f" → {other} → " in caption or re.search(rf"[?&]hidden={other}(&|$)", url)):
            s.leaks.append(f"{where}: shows another session's hidden size {other}")
    if widgets:
        box = page.get_by_role("textbox", name="Hidden layers")
        value = await box.input_value() if await box.count() else None
        if value != str(s.own):
            s.lost.append(
                f"{where}: the sidebar's Hidden layers box shows {value!r} while the session's "
                f"architecture has hidden {s.own} (widget values lost on a page switch)"
            )


async def _change_architecture(page, s: Student) -> None:
    box = page.get_by_role("textbox", name="Hidden layers")
    for h in s.sizes:
        await box.fill(str(h))
        t0 = time.perf_counter()
        await box.press("Enter")
        await page.wait_for_function(JS_CAPTION_SHOWS, arg=[h], timeout=STEP_TIMEOUT)
        s.caption_latencies.append(time.perf_counter() - t0)
        await page.wait_for_function(JS_SHOWS_HIDDEN, arg=[h], timeout=STEP_TIMEOUT)
        s.latencies.append(time.perf_counter() - t0)


def _button(page, pattern: str):
    """A button of the main area whose textContent matches; it may start with a material icon's name
    ("play_arrowStart"), so anchor patterns at the end only."""
    return page.locator('[data-testid="stMainBlockContainer"] button:not([role="tab"])').filter(
        has_text=re.compile(pattern, re.I)
    )


async def _train(page, s: Student, seconds: float) -> None:
    s.where = "train: open the page"
    if not await _nav(page, "Train") or await _placeholder(page):
        s.train = {"status": SKIPPED}
        return
    start = _button(page, r"Start$")
    if not await present(start, 60_000):
        s.train = {"status": "no Start button"}
        text = (await _page_text(page)).replace("\n", " ")
        s.errors.append("train page: no Start button within 60 s; the page shows: " + text[:200])
        return
    s.where = "train: start"
    t0 = time.perf_counter()
    # progress: the page reports "step N of M" with N >= 1. A click that lands while the page is
    # being redrawn can be lost: try again (the browser, not the server, dropped it)
    if not await _click_until(page, start, JS_STEPPED, "the Start click never started training"):
        s.errors.append("train: no progress after clicking Start three times")
        return
    first = time.perf_counter() - t0
    await page.wait_for_timeout(int(seconds * 1000))
    s.where = "train: stop"
    if not await _click_until(page, _button(page, r"Stop$"), JS_NOT_RUNNING, "", optional=True):
        s.errors.append("train: still running after clicking Stop three times")
        return
    s.where = "train: evaluation after stop"
    await settled(page)
    # the finished run (its history, evaluation, checkpoint) is described with this session's architecture
    described = await present(
        page.locator('[data-testid="stMainBlockContainer"]').get_by_text(re.compile(rf"hidden {s.own}\b")), 20_000
    )
    text = await _page_text(page)
    steps = re.search(r"step\s*(\d+)\s*of\s*(\d+)", text, re.I)
    nll = re.search(r"One mask[^\n]*\n+\s*([0-9.]+)\s*nats", text)
    s.train = {
        "status": "ok",
        "first_progress_s": round(first, 3),
        "steps": int(steps.group(1)) if steps else None,
        "test_nll_1": float(nll.group(1)) if nll else None,
    }
    _check_mentions(s, text, described, "train page")


async def _click_until(page, button, js_done: str, what: str, optional: bool = False, tries: int = 3) -> bool:
    """Click `button` until `js_done` holds (at most `tries` clicks, 20 s each)."""
    for _ in range(tries):
        if await page.evaluate(js_done):
            return True
        if not await present(button, 5_000):
            if optional:
                return await page.evaluate(js_done)
            continue
        try:
            await button.first.click(timeout=10_000)
            await page.wait_for_function(js_done, timeout=20_000)
            return True
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try again
            continue
    return await page.evaluate(js_done)


def _check_mentions(s: Student, text: str, described: bool, where: str) -> None:
    # "hidden 120" as the pages describe a model; not "--hidden 128" of a command line
    others = sorted({int(h) for h in re.findall(r"(?<!-)hidden (\d+)\b", text)} - {s.own})
    if others:
        s.leaks.append(f"{where}: shows another session's architecture (hidden {others})")
    elif not described:
        s.notes.append(f"{where} does not name the model's hidden size: checked through the sidebar only")


async def _sample(page, s: Student) -> None:
    s.where = "sample: open the page"
    if not await _nav(page, "Sample") or await _placeholder(page):
        s.sample = {"status": SKIPPED}
        return
    text = await _page_text(page)
    if "No model to sample from" in text:
        s.sample = {"status": "no model"}
        if s.train.get("status") == "ok":
            s.errors.append("sample page: no model although this session trained one")
        return
    described = await present(
        page.locator('[data-testid="stMainBlockContainer"]').get_by_text(re.compile(rf"hidden {s.own}\b")), 5_000
    )
    _check_mentions(s, await _page_text(page), described, "sample page")
    new = _button(page, r"^\s*New( seed)?\s*$")
    if not await present(new, 60_000):
        s.sample = {"status": "no New button"}
        s.errors.append("sample page: no 'New'/'New seed' button within 60 s")
        return
    s.where = "sample: new samples"
    t0 = time.perf_counter()
    await new.first.click()
    await page.wait_for_timeout(150)
    await settled(page)
    charts = await page.locator('[data-testid="stMainBlockContainer"] .js-plotly-plot').count()
    s.sample = {"status": "ok", "seconds": round(time.perf_counter() - t0, 3), "charts": charts}


async def _student(
    browser,
    url: str,
    s: Student,
    everyone: list[int],
    barrier: asyncio.Barrier,
    train_seconds: float,
    shots: Path | None,
) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await ctx.new_page()
    page.set_default_timeout(STEP_TIMEOUT)
    s.page, s.ctx = page, ctx  # kept open until the idle-memory measurement

    def on_response(resp):
        b = resp.headers.get("x-madeviz-backend")
        if b:
            s.backends.add(b)
        if "/media/" in resp.url:
            s.media += 1
            if resp.status == 404:  # see the module doc: a stale prefetch after a rerun
                s.media_404 += 1
            elif resp.status >= 400:
                s.errors.append(f"media {resp.url} -> {resp.status}")

    page.on("response", on_response)
    page.on("pageerror", lambda e: s.errors.append(f"page error: {e}"))
    waited = False
    try:
        # the teacher's link opens the Architecture page (its first run draws the sidebar from the URL)
        t0 = time.perf_counter()
        await page.goto(url + "/architecture")
        await page.wait_for_function(JS_IDLE, timeout=STEP_TIMEOUT)
        s.load_s = time.perf_counter() - t0
        await settled(page)
        arch_page = "Architecture"
        if not await present(page.get_by_role("textbox", name="Hidden layers"), 60_000):
            arch_page = "Home"  # the Architecture page does not draw the sidebar (yet)
            s.notes.append("the Architecture page has no sidebar: architecture changed on Home")
            if shots:
                await page.screenshot(path=str(shots / f"load_session_{s.index:02d}_no_sidebar.png"))
            await page.goto(url + "/")
            await settled(page)
        s.where = "architecture"
        await _change_architecture(page, s)
        s.where = "isolation"
        await barrier.wait()
        waited = True
        await _check_own_state(page, s, everyone, "after every session changed its architecture", widgets=True)
        s.where = "train"
        await _train(page, s, train_seconds)
        s.where = "sample"
        await _sample(page, s)
        s.where = "final check"
        if shots:
            await page.screenshot(path=str(shots / f"load_session_{s.index:02d}_sample.png"))
        await _nav(page, arch_page)
        await _check_own_state(page, s, everyone, f"back on {arch_page} after train and sample", widgets=True)
        exc = await page.locator('[data-testid="stException"]').count()
        if exc:
            s.errors.append(f"{exc} exception box(es) on the page")
        if shots:
            await page.screenshot(path=str(shots / f"load_session_{s.index:02d}.png"))
    except Exception as e:  # noqa: BLE001 - record and go on: the other sessions still run
        s.errors.append(f"{s.where}: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
        if shots:
            try:
                await page.screenshot(path=str(shots / f"load_session_{s.index:02d}_error.png"))
            except Exception:  # noqa: BLE001
                pass
        if not waited:  # every session must reach the barrier once, or the others wait forever
            await barrier.wait()


# ---------------------------------------------------------------------------------------------
# one run


async def _warm_up(browser, url: str) -> None:
    """One session visits every page, so imports and caches are not billed to the class."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await ctx.new_page()
    await page.goto(url + "/")
    await page.wait_for_function(JS_IDLE, timeout=STEP_TIMEOUT)
    for title in ("Architecture", "Train", "Sample", "Home"):
        try:
            await _nav(page, title)
        except Exception:  # noqa: BLE001 - a slow page in the warm-up is not an error
            pass
    await ctx.close()


async def _cycle(
    url: str, n: int, changes: int, train_seconds: float, shots: Path | None, warm: list[str], on_idle, cycle: int = 1
) -> tuple[list[Student], float]:
    """N students at once in one browser; `on_idle()` is awaited while all N are still open."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        if warm:  # every backend directly (behind nginx a browser reaches only one of them)
            await asyncio.gather(*[_warm_up(browser, u) for u in warm])
            await on_idle("baseline")
        students = [Student(i, [20 + i + 100 * j for j in range(changes)], cycle) for i in range(n)]
        everyone = [s.own for s in students]
        barrier = asyncio.Barrier(n)
        t0 = time.perf_counter()
        await asyncio.gather(*[_student(browser, url, s, everyone, barrier, train_seconds, shots) for s in students])
        wall = time.perf_counter() - t0
        await on_idle("sessions open")
        for s in students:
            await s.ctx.close()
        await browser.close()
    return students, wall


def _summary(students: list[Student], processes: int) -> dict:
    lat = [x for s in students for x in s.latencies]
    cap = [x for s in students for x in s.caption_latencies]
    loads = [s.load_s for s in students if s.load_s]
    out = {
        "change_to_page_idle_s": {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "max": pct(lat, 1.0), "n": len(lat)},
        "change_to_caption_s": {"p50": pct(cap, 0.5), "p95": pct(cap, 0.95), "max": pct(cap, 1.0), "n": len(cap)},
        "page_load_s": {"p50": pct(loads, 0.5), "p95": pct(loads, 0.95)},
        "errors": [f"{s.label}: {e}" for s in students for e in s.errors],
        "isolation_violations": [f"{s.label}: {e}" for s in students for e in s.leaks],
        "state_lost": [f"{s.label}: {e}" for s in students for e in s.lost],
        "notes": sorted({e for s in students for e in s.notes}),
        "train": _summarise([s.train for s in students], "first_progress_s"),
        "sample": _summarise([s.sample for s in students], "seconds"),
        "media_responses": sum(s.media for s in students),
        "media_404": sum(s.media_404 for s in students),
    }
    if processes > 1:
        per: dict[str, int] = {}
        for s in students:
            if len(s.backends) != 1:
                out["isolation_violations"].append(f"{s.label}: responses from {sorted(s.backends)}")
            for b in s.backends:
                per[b] = per.get(b, 0) + 1
        out["sessions_per_backend"] = per
    return out


def _summarise(steps: list[dict], key: str) -> dict:
    statuses = sorted({d.get("status", "not reached") for d in steps})
    vals = [d[key] for d in steps if key in d]
    res = {"status": statuses[0] if len(statuses) == 1 else statuses}
    if vals:
        res[f"{key}_p50"], res[f"{key}_p95"] = pct(vals, 0.5), pct(vals, 0.95)
    return res


def run_once(args, processes: int) -> dict:
    server = None if args.url else Server(processes, args.session_ttl, args.threads)
    url = args.url or server.url
    backends = [url] if processes == 1 else [f"http://127.0.0.1:{server.backend_base + i}" for i in range(processes)]
    sampler = MemorySampler(server.proc.pid if server else None, renice=args.browser_nice)
    sampler.start()
    n = args.sessions
    result: dict = {
        "url": url,
        "sessions": n,
        "processes": processes,
        "cycles": [],
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        if processes > 1:
            result["affinity_without_browser"] = affinity_check(url)
        shots = None
        if args.screenshots:
            shots = Path(args.screenshots) / f"p{processes}"
            shots.mkdir(parents=True, exist_ok=True)
        everyone: list[Student] = []
        for c in range(args.cycles):
            cyc: dict = {}

            async def on_idle(what: str, cyc=cyc) -> None:
                if not server:
                    return
                sampler.phase = "idle baseline" if what == "baseline" else f"{n} sessions open, idle"
                await asyncio.sleep(args.settle)
                level = await asyncio.to_thread(sampler.level)
                cyc["rss_baseline_mb" if what == "baseline" else "rss_with_sessions_mb"] = level
                cyc["streamlit_" + ("baseline" if what == "baseline" else "with_sessions")] = metrics(backends)
                cyc["cpu_" + ("baseline" if what == "baseline" else "with_sessions")] = cpu_split(server.proc.pid)
                sampler.phase = f"cycle {c + 1}: {n} sessions active" if what == "baseline" else "closing"  # noqa: B023

            sampler.phase = f"cycle {c + 1}: {n} sessions active"
            print(f"[load]   cycle {c + 1} of {args.cycles}", file=sys.stderr, flush=True)
            cshots = None
            if shots:
                cshots = shots / f"cycle{c + 1}"
                cshots.mkdir(exist_ok=True)
            students, wall = asyncio.run(
                _cycle(url, n, args.changes, args.train_seconds, cshots, backends if c == 0 else [], on_idle, c + 1)
            )
            everyone += students
            cyc["wall_s"] = round(wall, 2)
            if server:
                # closed tabs stay in memory for the disconnected-session TTL; after it, one more
                # connect/disconnect lets Streamlit evict them (its TTL cache expires lazily)
                sampler.phase = "contexts closed, waiting for the session TTL"
                time.sleep(args.session_ttl + 2)
                asyncio.run(_poke(url))
                time.sleep(args.settle)
                sampler.phase = "after the TTL"
                cyc["rss_after_close_and_ttl_mb"] = sampler.level()
                cyc["streamlit_after_ttl"] = metrics(backends)
            result["cycles"].append(cyc)
        result.update(_summary(everyone, processes))
        result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        if server:
            first = result["cycles"][0]
            base = first["rss_baseline_mb"]
            result["rss_baseline_mb"] = base
            result["rss_with_sessions_mb"] = first["rss_with_sessions_mb"]
            result["rss_per_session_mb"] = round((first["rss_with_sessions_mb"] - base) / n, 2)
            result["rss_peak_mb"] = max(x["streamlit_mb"] for x in sampler.samples)
            result["rss_after_close_and_ttl_mb"] = [c["rss_after_close_and_ttl_mb"] for c in result["cycles"]]
            result["session_ttl_s"] = args.session_ttl
            result["nginx_mb"] = max((x["nginx_mb"] for x in sampler.samples), default=None)
            result["memory_series"] = [[x["t"], x["streamlit_mb"], x["phase"]] for x in sampler.samples]
    finally:
        sampler.stop()
        if server:
            server.stop()
    return result


async def _poke(url: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        pg = await b.new_page()
        await pg.goto(url + "/")
        await pg.wait_for_function(JS_IDLE, timeout=STEP_TIMEOUT)
        await b.close()


async def _page_costs(url: str, server_pid: int, changes: int = 5) -> dict:
    """One session alone: latency and CPU (server, browser) of one architecture change per page."""
    from playwright.async_api import async_playwright

    out = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        page = await (await browser.new_context(viewport={"width": 1280, "height": 720})).new_page()
        for title, path in (
            ("Home", "/"),
            ("Architecture", "/architecture"),
            ("Train", "/train"),
            ("Sample", "/sample"),
        ):
            await page.goto(url + path)
            await settled(page)
            await page.wait_for_timeout(1000)
            s = Student(0, [30 + 10 * j for j in range(changes)])
            c0 = cpu_split(server_pid)
            await _change_architecture(page, s)
            c1 = cpu_split(server_pid)
            out[title] = {
                "latency_s_p50": pct(s.latencies, 0.5),
                "latency_s_max": pct(s.latencies, 1.0),
                "server_cpu_s_per_change": round((c1["server_cpu_s"] - c0["server_cpu_s"]) / changes, 3),
                "browser_cpu_s_per_change": round((c1["browser_cpu_s"] - c0["browser_cpu_s"]) / changes, 3),
            }
        await browser.close()
    return out


def _ok(r: dict, target: float) -> bool:
    p95 = r["change_to_page_idle_s"]["p95"]
    return (
        not r["errors"] and not r["isolation_violations"] and not r["state_lost"] and p95 is not None and p95 <= target
    )


def _cpu_cycle1(r: dict) -> str:
    c = r["cycles"][0]
    a, b = c.get("cpu_baseline"), c.get("cpu_with_sessions")
    if not a or not b:
        return "-"
    return f"{b['server_cpu_s'] - a['server_cpu_s']:.0f} / {b['browser_cpu_s'] - a['browser_cpu_s']:.0f}"


def _table(results: dict[int, dict]) -> str:
    rows = [
        (
            "change → page idle p50 / p95 (s)",
            lambda r: f"{r['change_to_page_idle_s']['p50']} / {r['change_to_page_idle_s']['p95']}",
        ),
        (
            "change → caption p50 / p95 (s)",
            lambda r: f"{r['change_to_caption_s']['p50']} / {r['change_to_caption_s']['p95']}",
        ),
        ("page load p50 (s)", lambda r: r["page_load_s"]["p50"]),
        ("train: Start → first step p95 (s)", lambda r: r["train"].get("first_progress_s_p95", r["train"]["status"])),
        ("sample: New → drawn p95 (s)", lambda r: r["sample"].get("seconds_p95", r["sample"]["status"])),
        ("errors", lambda r: len(r["errors"])),
        ("isolation violations", lambda r: len(r["isolation_violations"])),
        ("state lost (sidebar widgets)", lambda r: len(r["state_lost"])),
        ("media responses / stale 404", lambda r: f"{r['media_responses']} / {r['media_404']}"),
        ("RSS baseline (MB)", lambda r: r.get("rss_baseline_mb")),
        ("RSS with N sessions (MB)", lambda r: r.get("rss_with_sessions_mb")),
        ("RSS per session (MB)", lambda r: r.get("rss_per_session_mb")),
        ("RSS peak (MB)", lambda r: r.get("rss_peak_mb")),
        ("RSS after close + TTL, per cycle (MB)", lambda r: r.get("rss_after_close_and_ttl_mb")),
        (
            "sessions open / after TTL",
            lambda r: (
                f"{r['cycles'][0].get('streamlit_with_sessions', {}).get('active_sessions')}"
                f" / {r['cycles'][-1].get('streamlit_after_ttl', {}).get('active_sessions')}"
            ),
        ),
        ("wall time per cycle (s)", lambda r: [c["wall_s"] for c in r["cycles"]]),
        ("CPU s server / browsers (cycle 1)", lambda r: _cpu_cycle1(r)),
        ("load average before (1/5/15 min)", lambda r: r["load_average_before"]),
    ]
    keys = sorted(results)
    head = f"{'':36}" + "".join(f"{str(k) + ' process' + ('es' if k > 1 else ''):>22}" for k in keys)
    lines = [head] + [f"{name:36}" + "".join(f"{str(fn(results[k])):>22}" for k in keys) for name, fn in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=10, help="concurrent browser sessions (default 10)")
    ap.add_argument("--processes", type=int, default=1, help="streamlit processes (>= 2: behind nginx)")
    ap.add_argument("--compare", action="store_true", help="run with 1 and with 2 processes, side by side")
    ap.add_argument("--url", default=None, help="use a running server instead of starting one (no memory figures)")
    ap.add_argument("--changes", type=int, default=3, help="architecture changes per session (default 3)")
    ap.add_argument("--train-seconds", type=float, default=3.0, help="how long each session trains")
    ap.add_argument(
        "--cycles",
        type=int,
        default=2,
        help="repeat the class this many times on the same server "
        "(memory after each: abandoned sessions must be freed, not accumulate)",
    )
    ap.add_argument("--session-ttl", type=int, default=10, help="server.disconnectedSessionTTL of the started server")
    ap.add_argument("--threads", type=int, default=1, help="MADE_VIZ_THREADS of the started server")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before a memory reading")
    ap.add_argument("--p95-target", type=float, default=2.0)
    ap.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        help="lower the browsers' CPU priority to this nice "
        "level (1-19) so that the server gets the cores first: the browsers stand in for the "
        "students' own machines",
    )
    ap.add_argument(
        "--page-costs",
        action="store_true",
        help="only measure one session alone: latency and "
        "server/browser CPU seconds of one architecture change on each page",
    )
    ap.add_argument("--screenshots", default=None, help="folder for one screenshot per session")
    ap.add_argument("--series", action="store_true", help="include the 0.5 s memory series in the JSON")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    if min(args.sessions, args.processes, args.changes, args.cycles) < 1:
        ap.error("--sessions, --processes, --changes and --cycles must be >= 1")
    if args.url and args.compare:
        ap.error("--compare starts its own servers; drop --url")

    if args.page_costs:
        server = None if args.url else Server(1, args.session_ttl, args.threads)
        try:
            costs = asyncio.run(_page_costs(args.url or server.url, server.proc.pid if server else None))
        finally:
            if server:
                server.stop()
        print(json.dumps({"page_costs": costs, "load_average": [round(x, 2) for x in os.getloadavg()]}, indent=2))
        return 0
    plan = [1, 2] if args.compare else [args.processes]
    results = {}
    for p in plan:
        print(f"[load] {args.sessions} sessions, {p} process(es)...", file=sys.stderr, flush=True)
        results[p] = run_once(args, p)
        if not args.series:
            results[p].pop("memory_series", None)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {k: v for k, v in vars(args).items() if k not in ("out",)},
        "results": {str(k): v for k, v in results.items()},
        "ok": all(_ok(r, args.p95_target) for r in results.values()),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(_table(results), file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
