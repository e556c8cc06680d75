#!/usr/bin/env python
"""A classroom without browsers: N simulated students speak Streamlit's own websocket protocol.

    python bench/ws_load.py                        # 10 sessions, starts `streamlit run app.py`
    python bench/ws_load.py --sessions 30          # the classroom question: what does one process hold?
    python bench/ws_load.py --processes 3          # deploy/serve_class.sh 3 behind nginx
    python bench/ws_load.py --url http://host:8501 [--server-pid PID]   # a server that is already running
    python bench/ws_load.py --think 5 --jitter 5   # students who pause (default: everyone clicks at once)
    python bench/ws_load.py --epochs 500           # train for all of --train-seconds (the default 50 epochs may
                                                   # end first when few sessions share the cores)

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
   showing it); every session clicks at the same moment unless --think/--jitter;
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

Protocol notes (Streamlit 1.67, starlette server), for whoever maintains this:
- handshake: websocket to /_stcore/stream with subprotocol "streamlit"; the Sec-WebSocket-Protocol
  list's 2nd entry is an XSRF token and its 3rd an existing session id to resume. The XSRF token is
  only checked when an Origin header is sent, and only gates the auth cookie; without Origin (not a
  browser) none is needed. Nothing runs until the client sends its first rerun_script.
- first run: ClientState.page_name = the URL path ("architecture"), page_script_hash "". The first
  new_session names the main script; the `navigation` message then lists the pages (title,
  url_pathname, page_script_hash) and the page being run.
- page switch: rerun_script with page_script_hash = the target page, page_name "", query string ""
  (the frontend drops query params not bound to widgets), and only the widget states of elements
  drawn by the main script (here: none). Same websocket, same session, session_state kept.
- widget state: the frontend keeps the last value of every widget on screen (from the element:
  `value` when set_value, else its own, else `default`), sends ALL of them with every rerun, plus a
  trigger_value=True for a pressed button (once), and forgets widgets that are no longer drawn
  after a full run. A widget the client omits keeps its server-side value (old state).
- fragments: a run_every fragment makes the full run send `auto_rerun` {fragment_id, interval};
  the frontend then sends rerun_script {fragment_id, is_auto_rerun: true, all widget states} every
  interval (setInterval: whether or not the previous one finished; the server coalesces), until
  the next full run's new_session (which clears all timers) or a `stop_auto_rerun`. A widget inside
  a fragment (Delta.fragment_id) reruns only its fragment. Runs carry metadata.run
  {script_run_id, fragment_ids} on new_session and script_finished.
- end of a run: script_finished FINISHED_SUCCESSFULLY / FINISHED_FRAGMENT_RUN_SUCCESSFULLY;
  FINISHED_EARLY_FOR_RERUN means st.rerun (or a newer request) follows, so keep waiting.
  session_status_changed flickers to "not running" between such runs. A fragment run still going
  when the next auto-rerun request arrives is cut short the same way (FINISHED_EARLY_FOR_RERUN,
  after the elements drawn so far): reported as fragment_runs_cut_short.
- widgets this client does not model (file uploaders, charts with selections, tab containers,
  date/time inputs) are left out of the widget states it sends: the server keeps their values.
- message cache: large new_element deltas are `metadata.cacheable` with a `hash`; the client lists
  the hashes it holds in ClientState.cached_message_hashes and the server then sends a `ref_hash`
  message (with the real delta_path in its metadata) instead of the element. The client must keep
  the messages itself (there is no HTTP endpoint to fetch them); they age out after
  new_session.config.max_cached_message_age runs without use, as in the frontend.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_test import MemorySampler, Server, _cpu_s, _metrics, _pct, _tree  # noqa: E402

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
SIDEBAR = 1                 # RootContainer.SIDEBAR: delta_path[0]
TRIGGERS = {"button", "download_button", "menu_button", "link_button"}
HIDDEN_LABEL = "Hidden layers"
CAPTION_PREFIX = "D = "
NEW_LABELS = ("New seed", "New")
DEFAULT_TIMEOUT = 120.0


def log(*a) -> None:
    if not QUIET[0]:
        print("[ws-load]", *a, file=sys.stderr, flush=True)


QUIET = [False]


# ---------------------------------------------------------------------------------------------
# widget values, as the frontend keeps them

def _has(msg, name: str) -> bool:
    try:
        return msg.HasField(name)
    except ValueError:  # a plain proto3 scalar: always "there"
        return True


def _initial_state(kind: str, p, old: WidgetState | None) -> WidgetState | None:
    """The WidgetState the frontend holds for a widget element that just arrived; None = a widget
    this client does not model (the server then keeps its own value for it)."""
    if old is not None and not getattr(p, "set_value", False):
        return old  # the student's value wins until the app sets one (set_value)
    ws = WidgetState(id=p.id)
    sv = getattr(p, "set_value", False)
    if kind in ("text_input", "text_area", "color_picker"):
        if sv and _has(p, "value"):
            ws.string_value = p.value
        elif _has(p, "default"):
            ws.string_value = p.default
    elif kind == "number_input":
        v = p.value if sv and _has(p, "value") else (p.default if _has(p, "default") else None)
        if v is not None:
            if p.data_type == type(p).INT:
                ws.int_value = int(v)
            else:
                ws.double_value = float(v)
    elif kind in ("selectbox", "radio"):
        if sv and _has(p, "raw_value"):
            ws.string_value = p.raw_value
        elif _has(p, "default") and 0 <= p.default < len(p.options):
            ws.string_value = p.options[p.default]
    elif kind == "checkbox":
        ws.bool_value = p.value if sv else p.default
    elif kind == "slider":
        if p.type == type(p).SELECT_SLIDER:
            vals = list(p.raw_value) if sv else [p.options[int(i)] for i in p.default]
            ws.string_array_value.data.extend(vals)
        else:
            ws.double_array_value.data.extend(list(p.value) if sv else list(p.default))
    elif kind == "multiselect":
        vals = list(p.raw_values) if sv else [p.options[i] for i in p.default]
        ws.string_array_value.data.extend(vals)
    elif kind == "button_group":
        vals = list(p.raw_values) if sv else [p.options[i].content for i in p.default]
        ws.string_array_value.data.extend(vals)
    else:
        return None
    return ws


def _state_value(ws: WidgetState):
    which = ws.WhichOneof("value")
    if which is None:
        return None
    v = getattr(ws, which)
    return list(v.data) if hasattr(v, "data") else v


# ---------------------------------------------------------------------------------------------
# one browser tab

@dataclass
class Node:
    kind: str          # element type ("text_input", ...) or "block:<type>"
    proto: object
    run_id: str
    fragment_id: str
    script_hash: str
    path: tuple


@dataclass
class Run:
    run_id: str
    fragment_ids: tuple
    started: float
    finished: float | None = None
    status: int | None = None


@dataclass
class CacheEntry:
    raw: bytes
    run_count: int
    fragment_id: str | None


class Tab:
    """One browser tab: a websocket to the server and the frontend's state (elements on screen,
    widget values, cached messages, fragment auto-rerun timers, the query string)."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT, on_text=None, cookie: str | None = None):
        u = urlsplit(url)
        self.http = url.rstrip("/")
        scheme = "wss" if u.scheme == "https" else "ws"
        self.ws_url = f"{scheme}://{u.netloc}{u.path.rstrip('/')}/_stcore/stream"
        self.timeout = timeout
        self.on_text = on_text or (lambda where, text: None)
        self.cookie = cookie
        self.ws = None
        self.backend_ws: str | None = None
        self.nodes: dict[tuple, Node] = {}
        self.states: dict[str, WidgetState] = {}
        self.cache: dict[str, CacheEntry] = {}
        self.run_count = 0
        self.max_age = 2
        self.runs: dict[str, Run] = {}
        self.finishes: list[Run] = []
        self.pages: dict[str, object] = {}        # page_script_hash -> AppPage
        self.main_hash = ""
        self.page_hash = ""
        self.query = ""
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.auto_pending: dict[str, list[float]] = {}
        self.record_fragments = False
        self.fragment_runs: list[dict] = []
        self.auto_sent = 0
        self.captions: list[tuple[float, str]] = []   # sidebar "D = ..." captions, as they arrive
        self.progress_text = ""
        self.errors: list[str] = []
        self.error_alerts: list[str] = []
        self.bytes_in = self.msgs_in = self.cache_hits = 0
        self.closed = False
        self._tick = asyncio.Event()
        self._reader: asyncio.Task | None = None

    # --- connection ---------------------------------------------------------------------------
    async def connect(self) -> float:
        from websockets.asyncio.client import connect
        headers = {"Cookie": self.cookie} if self.cookie else None
        t0 = time.perf_counter()
        # no client pings (a browser sends none; under load they could time out and close the tab)
        self.ws = await connect(self.ws_url, subprotocols=["streamlit"], additional_headers=headers,
                                max_size=None, open_timeout=self.timeout, ping_interval=None, close_timeout=2)
        self.backend_ws = self.ws.response.headers.get("X-MadeViz-Backend")
        self._reader = asyncio.create_task(self._read())
        return time.perf_counter() - t0

    async def close(self) -> None:
        self.closed = True
        for _, task in self.timers.values():
            task.cancel()
        self.timers.clear()
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:  # noqa: BLE001
                pass
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self.closed = True

    def _notify(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed
        try:
            async for raw in self.ws:
                self.bytes_in += len(raw)
                self.msgs_in += 1
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                msg = self._resolve(msg, raw)
                if msg is not None:
                    self._handle(msg, time.perf_counter())
                self._notify()
        except ConnectionClosed as e:
            if not self.closed:
                self.errors.append(f"websocket closed by the server: {e}")
        except Exception as e:  # noqa: BLE001 - a bug here must show up as an error, not a hang
            self.errors.append(f"client error while reading: {type(e).__name__}: {e}")
        finally:
            self.closed = True
            self._notify()

    async def wait_until(self, pred, what: str, timeout: float | None = None):
        end = time.perf_counter() + (timeout or self.timeout)
        while True:
            r = pred()
            if r:
                return r
            if self.closed:
                raise ConnectionError(f"websocket closed while waiting for {what}")
            left = end - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no {what} within {timeout or self.timeout:.0f} s")
            ev = self._tick
            try:
                await asyncio.wait_for(ev.wait(), left)
            except asyncio.TimeoutError:
                pass

    # --- incoming ------------------------------------------------------------------------------
    def _resolve(self, msg: ForwardMsg, raw: bytes) -> ForwardMsg | None:
        """The frontend's ForwardMsg cache: keep cacheable messages, expand ref_hash references."""
        if msg.WhichOneof("type") == "ref_hash":
            entry = self.cache.get(msg.ref_hash)
            if entry is None:
                self.errors.append(f"cached ForwardMsg MISS (hash {msg.ref_hash})")
                return None
            entry.run_count = self.run_count
            full = ForwardMsg()
            full.ParseFromString(entry.raw)
            full.metadata.CopyFrom(msg.metadata)
            self.cache_hits += 1
            return full
        if msg.metadata.cacheable and msg.hash:
            if msg.hash in self.cache:
                self.cache[msg.hash].run_count = self.run_count
            else:
                frag = msg.delta.fragment_id if msg.WhichOneof("type") == "delta" else ""
                self.cache[msg.hash] = CacheEntry(raw, self.run_count, frag or None)
        return msg

    def _age_cache(self, fragment_ids: tuple) -> None:
        self.run_count += 1
        for h, e in list(self.cache.items()):
            if fragment_ids and (not e.fragment_id or e.fragment_id not in fragment_ids):
                continue
            if self.run_count - e.run_count > self.max_age:
                del self.cache[h]

    def _handle(self, msg: ForwardMsg, now: float) -> None:
        t = msg.WhichOneof("type")
        if t == "new_session":
            ns = msg.new_session
            run = Run(msg.metadata.run.script_run_id, tuple(msg.metadata.run.fragment_ids), now)
            self.runs[run.run_id] = run
            if not run.fragment_ids:
                self._cancel_timers()      # a full run: the frontend clears every auto-rerun timer
                self.main_hash = ns.main_script_hash
                self.max_age = ns.config.max_cached_message_age or self.max_age
                for p in ns.app_pages:
                    self.pages.setdefault(p.page_script_hash, p)
                if ns.page_script_hash != self.page_hash and ns.page_script_hash != self.main_hash:
                    self._clear_page()
                    self.page_hash = ns.page_script_hash
        elif t == "navigation":
            self.pages = {p.page_script_hash: p for p in msg.navigation.app_pages}
            if msg.navigation.page_script_hash and msg.navigation.page_script_hash != self.page_hash:
                if self.page_hash:
                    self._clear_page()
                self.page_hash = msg.navigation.page_script_hash
        elif t == "delta":
            self._delta(msg, now)
        elif t == "script_finished":
            self._finished(msg, now)
        elif t == "page_info_changed":
            self.query = msg.page_info_changed.query_string
            self.on_text("query string", self.query)
        elif t == "auto_rerun":
            fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid and interval > 0 and self.timers.get(fid, (None,))[0] != interval:
                self._cancel_timer(fid)
                self.timers[fid] = (interval, asyncio.create_task(self._auto_rerun(fid, interval)))
        elif t == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self._cancel_timer(fid)
        elif t == "session_event":
            ev = msg.session_event
            if ev.WhichOneof("type") == "script_compilation_exception":
                e = ev.script_compilation_exception
                self.errors.append(f"script compilation error: {e.type}: {e.message[:200]}")
        elif t == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")

    def _delta(self, msg: ForwardMsg, now: float) -> None:
        d = msg.delta
        path = tuple(msg.metadata.delta_path)
        run_id = msg.metadata.run.script_run_id if msg.metadata.HasField("run") else self._current_run_id()
        kind = d.WhichOneof("type")
        if kind == "add_block":
            self.nodes[path] = Node("block:" + str(d.add_block.WhichOneof("type")), d.add_block, run_id,
                                    d.fragment_id, msg.metadata.active_script_hash, path)
            return
        if kind != "new_element":
            return
        el = d.new_element
        et = el.WhichOneof("type")
        if et is None:
            return
        p = getattr(el, et)
        self.nodes[path] = Node(et, p, run_id, d.fragment_id, msg.metadata.active_script_hash, path)
        where = ("sidebar" if path and path[0] == SIDEBAR else "main") + f" {et}"
        if et == "exception":
            first = p.message.splitlines()[0][:200] if p.message else ""
            self.errors.append(f"exception on the page: {p.type}: {first}")
        elif et == "alert":
            self.on_text(where, p.body)
            if p.format == type(p).ERROR:
                self.error_alerts.append(p.body[:200])
        elif et in ("markdown", "heading", "text", "code"):
            body = getattr(p, "body", "") or getattr(p, "code_text", "")
            self.on_text(where, body)
            if et == "markdown" and path and path[0] == SIDEBAR and body.startswith(CAPTION_PREFIX):
                self.captions.append((now, body))
        elif et == "progress":
            self.progress_text = p.text
            self.on_text(where, p.text)
        if "id" in p.DESCRIPTOR.fields_by_name and p.id and et not in TRIGGERS:
            ws = _initial_state(et, p, self.states.get(p.id))
            if ws is not None:
                self.states[p.id] = ws
        if "label" in p.DESCRIPTOR.fields_by_name and p.label:
            self.on_text(where + " label", p.label)

    def _current_run_id(self) -> str:
        return next(reversed(self.runs)) if self.runs else ""

    def _finished(self, msg: ForwardMsg, now: float) -> None:
        run_id = msg.metadata.run.script_run_id if msg.metadata.HasField("run") else ""
        run = self.runs.get(run_id) or Run(run_id, tuple(msg.metadata.run.fragment_ids), now)
        run.finished, run.status = now, msg.script_finished
        self.finishes.append(run)
        if run.status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            self.errors.append("the script finished with a compile error")
        self._fragment_bookkeeping(run, now)
        if run.status == EARLY:
            return
        self._age_cache(run.fragment_ids)
        if run.status in FINISHED_OK and run_id:
            # the frontend's clearStaleNodes + removeInactiveWidgetState
            for path, n in list(self.nodes.items()):
                if n.run_id != run_id and (not run.fragment_ids or n.fragment_id in run.fragment_ids):
                    del self.nodes[path]
            active = {n.proto.id for n in self.nodes.values()
                      if "id" in n.proto.DESCRIPTOR.fields_by_name and n.proto.id}
            for wid in list(self.states):
                if wid not in active:
                    del self.states[wid]

    def _fragment_bookkeeping(self, run: Run, now: float) -> None:
        """Which auto-rerun requests a run answered (those sent before it started), and, while
        recording, how long each fragment run took and whether it ran to its end: a run that ends
        FINISHED_EARLY_FOR_RERUN was cut short (the next request was already waiting)."""
        if not run.fragment_ids:   # a full run reran every fragment: it answered their requests too
            if run.status != EARLY:
                for fid, pending in self.auto_pending.items():
                    self.auto_pending[fid] = [t for t in pending if t > run.started]
            return
        for fid in run.fragment_ids:
            pending = self.auto_pending.get(fid)
            if pending is None:
                continue
            served = [t for t in pending if t <= run.started]
            self.auto_pending[fid] = [t for t in pending if t > run.started]
            if self.record_fragments:
                self.fragment_runs.append({"fragment": fid, "run_s": now - run.started,
                                           "request_to_done_s": now - min(served) if served else None,
                                           "requests": len(served), "cut_short": run.status == EARLY})

    def _clear_page(self) -> None:
        """The frontend's clearPageElements: only what the main script drew survives a page switch."""
        for path, n in list(self.nodes.items()):
            if n.script_hash != self.main_hash:
                del self.nodes[path]

    def _cancel_timer(self, fid: str) -> None:
        entry = self.timers.pop(fid, None)
        if entry:
            entry[1].cancel()

    def _cancel_timers(self) -> None:
        for fid in list(self.timers):
            self._cancel_timer(fid)

    async def _auto_rerun(self, fid: str, interval: float) -> None:
        """setInterval(() => sendUpdateWidgetsMessage(fragmentId, isAutoRerun=true), interval)."""
        t0, k = time.perf_counter(), 1
        while not self.closed:
            await asyncio.sleep(max(0.0, t0 + k * interval - time.perf_counter()))
            k += 1
            if self.closed:
                return
            try:
                sent = await self.rerun(fragment_id=fid, auto=True)
            except Exception:  # noqa: BLE001 - the websocket is gone: the reader reports it
                return
            self.auto_pending.setdefault(fid, []).append(sent)
            if self.record_fragments:
                self.auto_sent += 1

    # --- outgoing ------------------------------------------------------------------------------
    async def rerun(self, *, fragment_id: str = "", page_hash: str | None = None, page_name: str = "",
                    triggers: tuple = (), auto: bool = False, widget_states: list | None = None,
                    query: str | None = None) -> float:
        bm = BackMsg()
        cs = bm.rerun_script
        cs.query_string = self.query if query is None else query
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        cs.page_name = page_name
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        states = list(self.states.values()) if widget_states is None else widget_states
        cs.widget_states.widgets.extend(states)
        for wid in triggers:
            cs.widget_states.widgets.append(WidgetState(id=wid, trigger_value=True))
        cs.cached_message_hashes.extend(self.cache.keys())
        ci = cs.context_info
        ci.timezone, ci.timezone_offset, ci.locale = "UTC", 0, "en-US"
        ci.url, ci.is_embedded, ci.color_scheme = self.http + "/", False, "light"
        sent = time.perf_counter()
        await self.ws.send(bm.SerializeToString())
        return sent

    async def wait_done(self, sent: float, fragment_id: str = "", what: str = "the end of the run") -> Run:
        """The run that answers a request sent at `sent`: the first run that started after it and
        finished for good (not early for a rerun); a fragment request is also answered by a full run."""
        def done():
            for r in self.finishes:
                if r.status == EARLY or r.started < sent:
                    continue
                if not fragment_id and not r.fragment_ids:
                    return r
                if fragment_id and (not r.fragment_ids or fragment_id in r.fragment_ids):
                    return r
            return None
        return await self.wait_until(done, what)

    # --- the page as the student sees it -------------------------------------------------------
    def widget(self, label: str, kinds: tuple | None = None, sidebar: bool | None = None) -> Node | None:
        found = [n for n in self.nodes.values()
                 if not n.kind.startswith("block:") and "label" in n.proto.DESCRIPTOR.fields_by_name
                 and n.proto.label == label and (kinds is None or n.kind in kinds)
                 and (sidebar is None or (n.path[:1] == (SIDEBAR,)) == sidebar)]
        return found[-1] if found else None

    def value(self, label: str):
        n = self.widget(label)
        if n is None:
            return None
        ws = self.states.get(n.proto.id)
        return _state_value(ws) if ws is not None else None

    def sidebar_values(self) -> dict[str, object]:
        out = {}
        for n in self.nodes.values():
            if n.path[:1] == (SIDEBAR,) and not n.kind.startswith("block:") and n.kind not in TRIGGERS \
                    and "label" in n.proto.DESCRIPTOR.fields_by_name and n.proto.id in self.states:
                out[n.proto.label] = _state_value(self.states[n.proto.id])
        return out

    def caption(self) -> str:
        cs = [n.proto.body for n in self.nodes.values()
              if n.kind == "markdown" and n.path[:1] == (SIDEBAR,) and n.proto.body.startswith(CAPTION_PREFIX)]
        return cs[-1] if cs else ""

    def page_title(self) -> str:
        p = self.pages.get(self.page_hash)
        return p.page_name if p is not None else "?"

    def page_hash_for(self, name: str) -> str | None:
        for h, p in self.pages.items():
            if name.lower() in (p.page_name.lower(), p.url_pathname.lower()):
                return h
        return None

    async def open(self, page_name: str) -> Run:
        """A fresh tab on http://host/<page_name> (a teacher's link)."""
        sent = await self.rerun(page_hash="", page_name=page_name, widget_states=[], query="")
        run = await self.wait_done(sent, what=f"the first run of /{page_name}")
        run.latency = run.finished - sent
        return run

    async def goto(self, title: str) -> Run:
        """Client-side navigation (the sidebar's page links): same websocket, same session."""
        h = self.page_hash_for(title)
        if h is None:
            raise LookupError(f"no page {title!r} in the navigation ({[p.page_name for p in self.pages.values()]})")
        self._cancel_timers()
        self._clear_page()
        kept = [ws for wid, ws in self.states.items()
                if any(n.proto.id == wid for n in self.nodes.values() if "id" in n.proto.DESCRIPTOR.fields_by_name)]
        sent = await self.rerun(page_hash=h, widget_states=kept, query="")
        run = await self.wait_done(sent, what=f"the {title} page")
        run.latency = run.finished - sent
        return run

    async def set_value(self, label: str, value) -> tuple[float, Node]:
        n = self.widget(label)
        if n is None:
            raise LookupError(f"no widget labelled {label!r} on the {self.page_title()} page")
        ws = WidgetState(id=n.proto.id)
        if isinstance(value, bool):
            ws.bool_value = value
        elif isinstance(value, int):
            ws.int_value = value
        elif isinstance(value, float):
            ws.double_value = value
        else:
            ws.string_value = str(value)
        self.states[n.proto.id] = ws
        return await self.rerun(fragment_id=n.fragment_id), n

    async def click(self, label: str) -> tuple[float, Node]:
        n = self.widget(label, kinds=tuple(TRIGGERS))
        if n is None:
            raise LookupError(f"no button {label!r} on the {self.page_title()} page")
        return await self.rerun(fragment_id=n.fragment_id, triggers=(n.proto.id,)), n


# ---------------------------------------------------------------------------------------------
# one student

SIZE_PATTERNS = [re.compile(r"(?<=→ )(\d+)(?= →)"),                        # sidebar caption
                 re.compile(r"(?<![-\w])hidden[ =](\d+(?:(?:-|,|%2C|, )\d+)*)(?!\w)")]  # "hidden 30", "hidden=30"


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
            self.defaults = set(caption_hidden(text))   # the default architecture, before any change
        foreign = (self.everyone - set(self.sizes)) - (self.defaults or set())
        bad = sizes_in(text) & foreign
        if bad and len(self.leaks) < 20:
            self.leaks.append(f"{self.where}: {where} shows another session's hidden size {sorted(bad)}: "
                              f"{text[:160]!r}")

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


def _get_root(url: str, timeout: float) -> tuple[str | None, str | None]:
    """GET / like a browser: the cookies (nginx's madeviz_route) and the backend that answered."""
    with urllib.request.urlopen(url.rstrip("/") + "/", timeout=timeout) as r:
        r.read()
        cookies = [c.split(";", 1)[0].strip() for c in r.headers.get_all("Set-Cookie") or []]
        return ("; ".join(cookies) or None), r.headers.get("X-MadeViz-Backend")


async def run_student(s: Student, url: str, args, gates: list[Gate]) -> None:
    passed = 0
    tab = None
    try:
        s.where = "connect"
        cookie, s.backend = await asyncio.to_thread(_get_root, url, args.timeout)
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
            pause = (args.think if j else 0.0) + random.uniform(0, args.jitter)
            if pause:
                await asyncio.sleep(pause)
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

        # 3. train
        await _train(s, tab, args)
        # 4. sample
        await _sample(s, tab)
        # 5. back on the architecture page: the session's state survived the page switches
        s.where = "back on Architecture"
        run = await tab.goto("Architecture")
        s.add("page_switch", run.latency)
        s.check_own("back on Architecture after Train and Sample", s.own)
    except Exception as e:  # noqa: BLE001 - record and go on: the other sessions still run
        s.errors.append(f"{s.where}: {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
    finally:
        for g in gates[passed:]:
            g.leave()
        if tab is not None:
            s.errors += tab.errors
            tab.errors = []


async def _train(s: Student, tab: Tab, args) -> None:
    s.where = "train: open the page"
    run = await tab.goto("Train")
    s.add("page_switch", run.latency)
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
    s.train = {"status": "ok", "steps": int(steps.group(1)) if steps else None,
               "fragment_requests": tab.auto_sent, "fragment_runs": len(frs),
               "fragment_runs_cut_short": sum(r["cut_short"] for r in frs),
               "fragment_run_s": [r["run_s"] for r in frs],
               "fragment_request_to_done_s": [r["request_to_done_s"] for r in frs
                                              if r["request_to_done_s"] is not None]}
    s.check_own("on the Train page after training", s.own)


async def _sample(s: Student, tab: Tab) -> None:
    s.where = "sample: open the page"
    run = await tab.goto("Sample")
    s.add("page_switch", run.latency)
    label = next((x for x in NEW_LABELS if tab.widget(x, kinds=tuple(TRIGGERS))), None)
    if label is None:
        s.sample = {"status": "no New button"}
        s.errors.append(f"sample page: no 'New seed'/'New' button (buttons: {_buttons(tab)})")
        return
    s.where = f"sample: {label}"
    sent, n = await tab.click(label)
    run = await tab.wait_done(sent, n.fragment_id, f"the run after {label}")
    s.buttons.setdefault(label, []).append(run.finished - sent)
    s.sample = {"status": "ok", "seconds": round(run.finished - sent, 3)}
    s.check_own("on the Sample page", s.own)


def _buttons(tab: Tab) -> list[str]:
    return sorted({n.proto.label for n in tab.nodes.values() if n.kind in TRIGGERS})


async def warm_up(url: str, timeout: float) -> None:
    """One session visits every page, so imports and caches are not billed to the class."""
    tab = Tab(url, timeout)
    await tab.connect()
    try:
        await tab.open("architecture")
        for title in ("Train", "Sample", "Home"):
            try:
                await tab.goto(title)
            except Exception:  # noqa: BLE001 - a missing page is not the warm-up's business
                pass
    finally:
        await tab.close()


# ---------------------------------------------------------------------------------------------
# the class

def _stats(values: list[float]) -> dict:
    v = [x for x in values if x is not None]
    return {"p50": _pct(v, .5), "p95": _pct(v, .95), "max": _pct(v, 1.0), "n": len(v)}


def _machine_busy_s() -> float:
    """CPU seconds all processes of the machine have used since boot (from /proc/stat)."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in parts[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


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
            await args.on_open()   # all N sessions still connected: memory and counters
    finally:
        await asyncio.gather(*[s.tab.close() for s in students if s.tab is not None])
    return students, wall


def _run_async(coro):
    """asyncio.run, also from a thread that already runs an event loop (e.g. under pytest with
    Playwright's sync API loaded): then in a worker thread with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def run(args) -> dict:
    """Start (or use) a server, run the class once, return the report (a dict)."""
    QUIET[0] = args.json
    server = None if args.url else Server(args.processes, args.session_ttl, args.threads)
    url = args.url or server.url
    pid = server.proc.pid if server else args.server_pid
    backends = [url] if args.processes == 1 or not server else \
        [f"http://127.0.0.1:{server.backend_base + i}" for i in range(args.processes)]
    sampler = MemorySampler(pid)
    sampler.start()
    res: dict = {"url": url, "sessions": args.sessions, "processes": args.processes,
                 "load_average_before": [round(x, 2) for x in os.getloadavg()]}

    def server_cpu() -> float:
        return sum(_cpu_s(p) for p in _tree(pid)) if pid else 0.0

    try:
        if args.warmup:
            log(f"warm-up on {len(backends)} backend(s)")
            for b in backends:
                _run_async(warm_up(b, args.timeout))
        if pid:
            sampler.phase = "idle baseline"
            res["rss_baseline_mb"] = sampler.level(1.5)
        sampler.phase = "class"
        c0, m0, s0 = server_cpu(), _machine_busy_s(), _self_cpu_s()

        async def on_open() -> None:
            res["streamlit_with_sessions"] = await asyncio.to_thread(_metrics, backends)
            if pid:
                sampler.phase = "sessions open"
                res["rss_with_sessions_mb"] = await asyncio.to_thread(sampler.level, 1.5)
        args.on_open = on_open
        log(f"{args.sessions} sessions on {url} ({args.processes} process(es)), {args.changes} change(s) each")
        students, wall = _run_async(_class(url, args))
        c1, m1, s1 = server_cpu(), _machine_busy_s(), _self_cpu_s()
        res["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        res["wall_s"] = round(wall, 2)
        client_cpu = s1 - s0
        res["client"] = {"cpu_s": round(client_cpu, 1),
                         "mb_received": round(sum(s.tab.bytes_in for s in students if s.tab) / 1e6, 2),
                         "messages_received": sum(s.tab.msgs_in for s in students if s.tab),
                         "cache_hits": sum(s.tab.cache_hits for s in students if s.tab)}
        if pid:
            cpu = c1 - c0
            res["server"] = {"cpu_s": round(cpu, 1),
                             "cpu_share_of_machine": round(cpu / (wall * (os.cpu_count() or 1)), 2),
                             "rss_baseline_mb": res.pop("rss_baseline_mb", None),
                             "rss_peak_mb": max((x["streamlit_mb"] for x in sampler.samples
                                                 if x["phase"] != "idle baseline"), default=None),
                             "rss_with_sessions_mb": res.pop("rss_with_sessions_mb", None)}
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
            "page_load": _stats(cat("page_load")),
            "change": _stats(cat("change")),
            "change_to_caption": _stats(cat("change_to_caption")),
            "page_switch": _stats(cat("page_switch")),
            "button": _stats([x for v in buttons.values() for x in v]),
            "button_by_label": {k: _stats(v) for k, v in sorted(buttons.items())},
            "fragment_run": _stats(fr),
            "fragment_request_to_done": _stats(fw),
            "connect": _stats(cat("connect")),
        },
        "train": {
            "status": sorted({s.train.get("status", "not reached") for s in students}),
            "fragment_requests": req, "fragment_runs": runs, "fragment_runs_cut_short": cut,
            "fragment_runs_per_s_per_session":
                round(runs / (len(trained) * args.train_seconds), 2) if trained else None,
            "steps": _stats([t["steps"] for t in trained if t["steps"] is not None]),
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
    out["ok"] = (not out["errors"] and not out["isolation_violations"] and not out["state_lost"]
                 and p95 is not None and p95 <= args.p95_target)
    return out


def table(r: dict) -> str:
    L = r["latency_s"]

    def row(name, st):
        return f"{name:34}{str(st['p50']):>9}{str(st['p95']):>9}{str(st['max']):>9}{st['n']:>6}"
    lines = [f"{r['sessions']} sessions, {r['processes']} process(es), wall {r.get('wall_s')} s",
             f"{'latency (s)':34}{'p50':>9}{'p95':>9}{'max':>9}{'n':>6}",
             row("first page load (Architecture)", L["page_load"]),
             row("change on Architecture", L["change"]),
             row("  change -> sidebar caption", L["change_to_caption"]),
             row("page switch", L["page_switch"]),
             row("button press (all)", L["button"])]
    lines += [row(f"  {k}", v) for k, v in L["button_by_label"].items()]
    lines += [row("fragment run (train tick)", L["fragment_run"]),
              row("  auto-rerun request -> done", L["fragment_request_to_done"])]
    t = r["train"]
    lines.append(f"train: {t['fragment_runs']} fragment runs ({t['fragment_runs_cut_short']} cut short by the next "
                 f"request) for {t['fragment_requests']} auto-rerun requests ({t['fragment_runs_per_s_per_session']}/s "
                 f"per session); steps reached p50 {t['steps']['p50']}")
    lines.append(f"errors {len(r['errors'])} · isolation violations {len(r['isolation_violations'])} · "
                 f"state lost {len(r['state_lost'])} · error alerts {len(r['error_alerts'])}")
    sv = r.get("server", {})
    if "cpu_s" in sv:
        lines.append(f"server: CPU {sv['cpu_s']} s ({sv['cpu_share_of_machine']:.0%} of the machine's cores), "
                     f"RSS baseline {sv['rss_baseline_mb']} MB, peak {sv['rss_peak_mb']} MB, with sessions "
                     f"{sv['rss_with_sessions_mb']} MB ({sv.get('rss_per_session_mb')} MB/session)")
        lines.append(f"other processes used {r.get('other_processes_cpu_s')} CPU s meanwhile")
    c = r["client"]
    lines.append(f"this client: CPU {c['cpu_s']} s, received {c['mb_received']} MB in {c['messages_received']} "
                 f"messages ({c['cache_hits']} from its message cache)")
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
    ap.add_argument("--think", type=float, default=0.0, help="seconds between a session's changes (default 0)")
    ap.add_argument("--jitter", type=float, default=0.0, help="plus a random 0..J seconds before each change")
    ap.add_argument("--train-seconds", type=float, default=3.0, help="how long each session trains (default 3)")
    ap.add_argument("--epochs", type=int, default=None, help="type this into the Train page's Epochs box before "
                    "Start (default: the page's own value; training may then end before --train-seconds)")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for one run")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false", help="skip the warm-up session")
    ap.add_argument("--session-ttl", type=int, default=10, help="server.disconnectedSessionTTL of the started server")
    ap.add_argument("--threads", type=int, default=1, help="MADE_VIZ_THREADS of the started server")
    ap.add_argument("--p95-target", type=float, default=2.0, help="change latency p95 limit (default 2 s)")
    ap.add_argument("--json", action="store_true", help="JSON only (no table, no progress lines on stderr)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    if min(args.sessions, args.processes, args.changes) < 1:
        ap.error("--sessions, --processes and --changes must be >= 1")
    if args.sessions > 98:
        ap.error("at most 98 sessions (their hidden sizes must stay distinct)")
    args.on_open = None
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    r = run(args)
    report = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
              "settings": {k: v for k, v in vars(args).items() if k not in ("out", "on_open")}, **r}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if not args.json:
        print(table(r), file=sys.stderr)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
