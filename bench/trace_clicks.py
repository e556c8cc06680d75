#!/usr/bin/env python
"""What a click that traces a unit costs the server: clicks in a real browser, server reruns counted.

    python -m bench.trace_clicks                      # 8x8 pixels, two hidden layers of 32: every unit clicked
    python -m bench.trace_clicks --clicks 40 --query "d=16&shape=4x4&hidden=24,24" --url http://127.0.0.1:8501

Starts `streamlit run app.py` on loopback (or uses --url), opens the Architecture page in headless Debian
chromium (Playwright) with the network of --query (a link's parameters; networks of at most 3,000 edges are
drawn in the browser, bigger ones by the server, where a click is a rerun by design) and clicks units of
the in-browser network view one after another: each click traces the unit (what reaches it, what it
reaches), a click on the traced unit clears it. Counted:
  * websocket messages the browser sent to the server while clicking (a rerun request is one);
  * the page's own count of the Network tab's server runs (the hidden `network-runs` counter), before and
    after;
  * per click, the time until the browser shows the trace (the view's `data-traced` attribute changes).
Then, as a control, one click on the "Classic figure" toggle, which does rerun: both counters must see it.
Prints JSON; the issue's target is 0 server reruns per trace click.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.serving import Server  # noqa: E402

CHROMIUM = os.environ.get("MADE_VIZ_CHROMIUM", "/usr/bin/chromium")
VIEW, UNIT = ".nv", ".nv .unit"
QUERY = "d=64&shape=8x8&hidden=32,32"  # 2,600 edges: the in-browser view


def measure(url: str, query: str, clicks: int, settle_ms: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        sent: list = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
        page.goto(f"{url}/architecture?{query}", wait_until="domcontentloaded")
        page.wait_for_selector(UNIT, timeout=120_000)
        page.wait_for_timeout(settle_ms)  # the page's own runs are over
        runs = page.get_by_test_id("network-runs")
        before = int(runs.get_attribute("data-runs"))
        units = page.locator(UNIT).evaluate_all("els => els.map(e => [e.dataset.l, e.dataset.k])")
        sent.clear()
        took, traced = [], page.locator(VIEW)
        for i in range(clicks):
            layer, unit = units[i % len(units)]
            was = traced.get_attribute("data-traced")
            t0 = time.perf_counter()
            page.locator(f'{UNIT}[data-l="{layer}"][data-k="{unit}"]').click()
            expect(traced).not_to_have_attribute("data-traced", was or "", timeout=10_000)
            took.append(time.perf_counter() - t0)
        page.wait_for_timeout(settle_ms)  # a rerun, had one been asked for, would have run by now
        after = int(runs.get_attribute("data-runs"))
        # the counters can see a rerun: a widget that asks for one (the "Classic figure" toggle) is counted
        quiet = len(sent)
        page.get_by_text("Classic figure").click()
        expect(runs).not_to_have_attribute("data-runs", str(after), timeout=60_000)
        control = {"messages": len(sent) - quiet, "server_runs": int(runs.get_attribute("data-runs")) - after}
        browser.close()
    ms = sorted(1000 * t for t in took)
    return {
        "network": query,
        "clicks": clicks,
        "units_in_view": len(units),
        "messages_sent_to_server": quiet,
        "server_runs_of_the_network_tab": after - before,
        "click_to_trace_ms": {"p50": round(statistics.median(ms), 1), "p95": round(ms[int(0.95 * (len(ms) - 1))], 1)},
        "control_a_toggle_that_reruns": control,
        "target_met": quiet == 0 and after == before and control["messages"] > 0 and control["server_runs"] > 0,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=None, help="default: every unit of the view once")
    ap.add_argument("--query", default=QUERY, help=f"the network, as a link's parameters (default {QUERY})")
    ap.add_argument("--url", default=None, help="a running server instead of starting one")
    ap.add_argument("--settle-ms", type=int, default=1500, help="quiet time before and after the clicks")
    args = ap.parse_args(argv)
    server = None if args.url else Server(processes=1, session_ttl=10, threads=1)
    try:
        url = args.url or server.url
        clicks = args.clicks
        if clicks is None:  # every unit once: count them first (one short visit)
            clicks = measure(url, args.query, 1, 200)["units_in_view"]
        out = measure(url, args.query, clicks, args.settle_ms)
    finally:
        if server is not None:
            server.stop()
    print(json.dumps(out, indent=2))
    return 0 if out["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
