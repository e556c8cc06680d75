"""A Streamlit client without a browser: one `Tab` speaks Streamlit's own websocket protocol.

It sends the BackMsg protobufs the browser's frontend would send (rerun_script with a ClientState: the
page, the widget states, a fragment id for fragment reruns, the hashes of the messages it has cached)
and reads the ForwardMsg protobufs the server sends back (new_session, deltas, script_finished, ...),
keeping the frontend's state the way the frontend keeps it: the elements on screen, the widgets'
values, the message cache, the fragments' auto-rerun timers and the query string. Widgets are found
by their LABEL in the deltas, never by hard-coded ids, so a page can change without breaking a client.

Used by bench/ws_load.py (the load generator) and bench/soak.py (random students for minutes).

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
- widgets this client does not model (charts with selections, tab containers, date/time inputs) are
  left out of the widget states it sends: the server keeps their values.
- file uploads (`Tab.upload`, as the frontend's FileUploadClient does it): a BackMsg file_urls_request
  {request_id, file_names, session_id (new_session.initialize.session_id)} is answered by a ForwardMsg
  file_urls_response {response_id, file_urls: [{file_id, upload_url, delete_url}]}; the file then goes
  by HTTP PUT, multipart form with one field "file", to upload_url (/_stcore/upload_file/<session>/<file>)
  with the header X-Xsrftoken equal to the _streamlit_xsrf cookie (set by /_stcore/health; checked when
  XSRF protection is on, the default). 204 = stored; 413 = larger than server.maxUploadSize (nginx's
  client_max_body_size refuses it before Streamlit does) and the frontend shows the error on the widget
  without a rerun. Only after a 204 the widget's value, file_uploader_state_value {uploaded_file_info:
  [{name, size, file_id, file_urls}]}, is sent with a rerun (the widget's fragment's, if inside one); an
  empty FileUploaderState clears it (the x on the file).
- message cache: large new_element deltas are `metadata.cacheable` with a `hash`; the client lists
  the hashes it holds in ClientState.cached_message_hashes and the server then sends a `ref_hash`
  message (with the real delta_path in its metadata) instead of the element. The client must keep
  the messages itself (there is no HTTP endpoint to fetch them); they age out after
  new_session.config.max_cached_message_age runs without use, as in the frontend.
"""

from __future__ import annotations

import asyncio
import http.client
import time
import urllib.request
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState, FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from bench.st_widgets import initial_state, state_value

EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
SIDEBAR = 1  # RootContainer.SIDEBAR: delta_path[0]
TRIGGERS = {"button", "download_button", "menu_button", "link_button"}
XSRF_COOKIE = "_streamlit_xsrf"
CAPTION_PREFIX = "D = "  # the sidebar caption that names the session's architecture
DEFAULT_TIMEOUT = 120.0

# ---------------------------------------------------------------------------------------------
# one browser tab


@dataclass
class Node:
    kind: str  # element type ("text_input", ...) or "block:<type>"
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
        self.pages: dict[str, object] = {}  # page_script_hash -> AppPage
        self.main_hash = ""
        self.page_hash = ""
        self.query = ""
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.auto_pending: dict[str, list[float]] = {}
        self.record_fragments = False
        self.fragment_runs: list[dict] = []
        self.auto_sent = 0
        self.captions: list[tuple[float, str]] = []  # sidebar "D = ..." captions, as they arrive
        self.progress_text = ""
        self.errors: list[str] = []
        self.error_alerts: list[str] = []
        self.bytes_in = self.msgs_in = self.cache_hits = 0
        self.session_id = ""  # new_session.initialize.session_id: names the session in upload URLs
        self.file_urls: dict[str, object] = {}  # file_urls_response by response_id
        self.closed = False
        self.close_code: int | None = None  # the server's close code when it closed the socket (1009: too big)
        self._tick = asyncio.Event()
        self._reader: asyncio.Task | None = None

    # --- connection ---------------------------------------------------------------------------
    async def connect(self, resume: str = "") -> float:
        """Open the websocket; `resume` names a session to reconnect to, the way Streamlit's frontend
        does after a dropped socket (the third Sec-WebSocket-Protocol entry; the second is the XSRF token,
        not checked for a client that sends no Origin)."""
        from websockets.asyncio.client import connect

        headers = {"Cookie": self.cookie} if self.cookie else None
        t0 = time.perf_counter()
        # no client pings (a browser sends none; under load they could time out and close the tab)
        self.ws = await connect(
            self.ws_url,
            subprotocols=["streamlit", "none", resume] if resume else ["streamlit"],
            additional_headers=headers,
            max_size=None,
            open_timeout=self.timeout,
            ping_interval=None,
            close_timeout=2,
        )
        self.backend_ws = self.ws.response.headers.get("X-MadeViz-Backend")
        self.closed, self.close_code = False, None
        self._reader = asyncio.create_task(self._read())
        return time.perf_counter() - t0

    async def reconnect(self, widget_states: list | None = None, query: str | None = None) -> Run:
        """The server closed the socket: reconnect to the same session (its state is kept on the server)
        and rerun the page, as the browser does; `widget_states` replaces the frontend's (e.g. without a
        value the server refused to read)."""
        if self.ws is not None and not self.closed:
            await self.close()  # still open (the server answered): drop it as a reload would
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self._cancel_timers()
        if widget_states is not None:
            self.states = {ws.id: ws for ws in widget_states}
        await self.connect(resume=self.session_id)
        sent = await self.rerun(query=query)
        run = await self.wait_done(sent, what="the run after reconnecting")
        run.latency = run.finished - sent
        return run

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
            self.close_code = e.rcvd.code if e.rcvd is not None else None
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
            if ns.HasField("initialize") and ns.initialize.session_id:
                self.session_id = ns.initialize.session_id
            if not run.fragment_ids:
                self._cancel_timers()  # a full run: the frontend clears every auto-rerun timer
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
        elif t == "file_urls_response":
            self.file_urls[msg.file_urls_response.response_id] = msg.file_urls_response
        elif t == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")

    def _delta(self, msg: ForwardMsg, now: float) -> None:
        d = msg.delta
        path = tuple(msg.metadata.delta_path)
        run_id = msg.metadata.run.script_run_id if msg.metadata.HasField("run") else self._current_run_id()
        kind = d.WhichOneof("type")
        if kind == "add_block":
            self.nodes[path] = Node(
                "block:" + str(d.add_block.WhichOneof("type")),
                d.add_block,
                run_id,
                d.fragment_id,
                msg.metadata.active_script_hash,
                path,
            )
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
            ws = initial_state(et, p, self.states.get(p.id))
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
            active = {
                n.proto.id for n in self.nodes.values() if "id" in n.proto.DESCRIPTOR.fields_by_name and n.proto.id
            }
            for wid in list(self.states):
                if wid not in active:
                    del self.states[wid]

    def _fragment_bookkeeping(self, run: Run, now: float) -> None:
        """Which auto-rerun requests a run answered (those sent before it started), and, while
        recording, how long each fragment run took and whether it ran to its end: a run that ends
        FINISHED_EARLY_FOR_RERUN was cut short (the next request was already waiting)."""
        if not run.fragment_ids:  # a full run reran every fragment: it answered their requests too
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
                self.fragment_runs.append(
                    {
                        "fragment": fid,
                        "run_s": now - run.started,
                        "request_to_done_s": now - min(served) if served else None,
                        "requests": len(served),
                        "cut_short": run.status == EARLY,
                    }
                )

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
    async def rerun(
        self,
        *,
        fragment_id: str = "",
        page_hash: str | None = None,
        page_name: str = "",
        triggers: tuple = (),
        auto: bool = False,
        widget_states: list | None = None,
        query: str | None = None,
    ) -> float:
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
        found = [
            n
            for n in self.nodes.values()
            if not n.kind.startswith("block:")
            and "label" in n.proto.DESCRIPTOR.fields_by_name
            and n.proto.label == label
            and (kinds is None or n.kind in kinds)
            and (sidebar is None or (n.path[:1] == (SIDEBAR,)) == sidebar)
        ]
        return found[-1] if found else None

    def value(self, label: str):
        n = self.widget(label)
        if n is None:
            return None
        ws = self.states.get(n.proto.id)
        return state_value(ws) if ws is not None else None

    def sidebar_values(self) -> dict[str, object]:
        out = {}
        for n in self.nodes.values():
            if (
                n.path[:1] == (SIDEBAR,)
                and not n.kind.startswith("block:")
                and n.kind not in TRIGGERS
                and "label" in n.proto.DESCRIPTOR.fields_by_name
                and n.proto.id in self.states
            ):
                out[n.proto.label] = state_value(self.states[n.proto.id])
        return out

    def caption(self) -> str:
        cs = [
            n.proto.body
            for n in self.nodes.values()
            if n.kind == "markdown" and n.path[:1] == (SIDEBAR,) and n.proto.body.startswith(CAPTION_PREFIX)
        ]
        return cs[-1] if cs else ""

    def shown_errors(self) -> list[str]:
        """The st.error boxes on screen now (full text), in the order they were drawn."""
        return [
            n.proto.body for n in self.nodes.values() if n.kind == "alert" and n.proto.format == type(n.proto).ERROR
        ]

    def page_title(self) -> str:
        p = self.pages.get(self.page_hash)
        return p.page_name if p is not None else "?"

    def page_hash_for(self, name: str) -> str | None:
        for h, p in self.pages.items():
            if name.lower() in (p.page_name.lower(), p.url_pathname.lower()):
                return h
        return None

    async def open(self, page_name: str, query: str = "") -> Run:
        """A fresh tab on http://host/<page_name>?<query> (a teacher's link)."""
        self.query = query
        sent = await self.rerun(page_hash="", page_name=page_name, widget_states=[], query=query)
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
        kept = [
            ws
            for wid, ws in self.states.items()
            if any(n.proto.id == wid for n in self.nodes.values() if "id" in n.proto.DESCRIPTOR.fields_by_name)
        ]
        sent = await self.rerun(page_hash=h, widget_states=kept, query="")
        run = await self.wait_done(sent, what=f"the {title} page")
        run.latency = run.finished - sent
        return run

    def put(self, label: str, value) -> Node:
        """Change a widget's value in the frontend's state without sending it (see set_value)."""
        n = self.widget(label)
        if n is None:
            raise LookupError(f"no widget labelled {label!r} on the {self.page_title()} page")
        if getattr(n.proto, "disabled", False):  # a student cannot type into it either
            raise PermissionError(f"the widget {label!r} is disabled on the {self.page_title()} page")
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
        return n

    async def set_value(self, label: str, value) -> tuple[float, Node]:
        """Type a value and press Enter: the rerun the frontend sends (a fragment's own, if inside one)."""
        n = self.put(label, value)
        return await self.rerun(fragment_id=n.fragment_id), n

    async def click(self, label: str) -> tuple[float, Node]:
        n = self.widget(label, kinds=tuple(TRIGGERS))
        if n is None:
            raise LookupError(f"no button {label!r} on the {self.page_title()} page")
        return await self.rerun(fragment_id=n.fragment_id, triggers=(n.proto.id,)), n

    # --- file uploads (see the protocol notes at the top) ----------------------------------------
    async def upload(self, label: str, name: str, data: bytes, content_type: str = "application/octet-stream"):
        """Drop a file on the uploader labelled `label`: ask for its URL, PUT it, and, only if the server
        stored it, send the widget's new value with a rerun. Returns an `Upload` (status 204 and the time
        the rerun was sent, or the refusal's status and no rerun, as the frontend does)."""
        n = self.widget(label, kinds=("file_uploader",))
        if n is None:
            raise LookupError(f"no file uploader {label!r} on the {self.page_title()} page")
        if n.proto.disabled:
            raise PermissionError(f"the widget {label!r} is disabled on the {self.page_title()} page")
        urls = await self.upload_urls([name])
        await asyncio.to_thread(self._ensure_xsrf)
        status = await asyncio.to_thread(self._put, urls[0].upload_url, name, data, content_type)
        if status != 204:
            return Upload(status, urls[0].file_id, None, n)
        ws = WidgetState(id=n.proto.id)
        info = UploadedFileInfo(name=name, size=len(data), file_id=urls[0].file_id)
        info.file_urls.CopyFrom(FileURLs(**{k: getattr(urls[0], k) for k in ("file_id", "upload_url", "delete_url")}))
        ws.file_uploader_state_value.uploaded_file_info.append(info)
        self.states[n.proto.id] = ws
        return Upload(status, urls[0].file_id, await self.rerun(fragment_id=n.fragment_id), n)

    async def clear_upload(self, label: str) -> tuple[float, Node]:
        """The x on the uploaded file: an empty FileUploaderState, with a rerun."""
        n = self.widget(label, kinds=("file_uploader",))
        if n is None:
            raise LookupError(f"no file uploader {label!r} on the {self.page_title()} page")
        self.states[n.proto.id] = WidgetState(id=n.proto.id, file_uploader_state_value=FileUploaderState())
        return await self.rerun(fragment_id=n.fragment_id), n

    async def upload_urls(self, names: list[str]) -> list:
        """The server's upload URLs for files named `names` (BackMsg file_urls_request)."""
        if not self.session_id:
            raise RuntimeError("no session id yet (the first run's new_session names it)")
        bm = BackMsg()
        rid = uuid.uuid4().hex
        bm.file_urls_request.request_id = rid
        bm.file_urls_request.session_id = self.session_id
        bm.file_urls_request.file_names.extend(names)
        await self.ws.send(bm.SerializeToString())
        resp = await self.wait_until(lambda: self.file_urls.pop(rid, None), "the upload URLs")
        if resp.error_msg:
            raise RuntimeError(f"the server refused upload URLs: {resp.error_msg}")
        return list(resp.file_urls)

    def _ensure_xsrf(self) -> None:
        """The _streamlit_xsrf cookie a browser holds (set by /_stcore/health, which the frontend polls)."""
        if self.cookie and XSRF_COOKIE + "=" in self.cookie:
            return
        req = urllib.request.Request(self.http + "/_stcore/health", headers={"Cookie": self.cookie or ""})
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            r.read()
            got = [c.split(";", 1)[0].strip() for c in r.headers.get_all("Set-Cookie") or []]
        got = [c for c in got if c.startswith(XSRF_COOKIE + "=")]
        if got:
            self.cookie = "; ".join([c for c in (self.cookie, got[0]) if c])

    def xsrf_token(self) -> str:
        for part in (self.cookie or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == XSRF_COOKIE:
                return v
        return ""

    def _put(self, upload_url: str, name: str, data: bytes, content_type: str) -> int:
        """PUT one file as the frontend does (multipart form, field "file"); the HTTP status, or 0 when the
        server closed the connection before answering (a refused huge upload can end that way)."""
        u = urlsplit(self.http)
        boundary = "----madeviz" + uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        body = head + data + f"\r\n--{boundary}--\r\n".encode()
        conn_cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(u.hostname, u.port, timeout=self.timeout)
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(body)),
            "X-Xsrftoken": self.xsrf_token(),
        }
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            conn.request("PUT", u.path.rstrip("/") + upload_url, body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            return r.status
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            return 0
        finally:
            conn.close()


@dataclass
class Upload:
    """What became of a file dropped on an uploader."""

    status: int  # the PUT's HTTP status: 204 stored, 413 too large, 0 connection closed before an answer
    file_id: str
    sent: float | None  # when the rerun with the widget's value was sent; None: refused, no rerun
    node: Node


def get_root(url: str, timeout: float, cookie: str | None = None) -> tuple[str | None, str | None]:
    """GET / like a browser with the cookies `cookie` ("a=1; b=2"): its cookies afterwards (nginx's
    madeviz_route and madeviz_host, updated from the answer's Set-Cookie as a browser's jar is) and the
    backend that answered (the last one nginx tried)."""
    req = urllib.request.Request(url.rstrip("/") + "/", headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        r.read()
        jar = dict(c.strip().partition("=")[::2] for c in (cookie or "").split(";") if c.strip())
        for c in r.headers.get_all("Set-Cookie") or []:
            name, _, value = c.split(";", 1)[0].strip().partition("=")
            jar[name] = value
        tried = r.headers.get("X-MadeViz-Backend")
        backend = tried.split(",")[-1].strip() if tried else None
        return ("; ".join(f"{k}={v}" for k, v in jar.items()) or None), backend


def run_async(coro):
    """asyncio.run, also from a thread that already runs an event loop (e.g. under pytest with
    Playwright's sync API loaded): then in a worker thread with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


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
