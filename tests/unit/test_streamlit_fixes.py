"""A tab that reconnects while Streamlit's runtime loop is flushing (made_viz/streamlit_fixes.py) must get
every message of its next run. The loop lists the active sessions, then flushes each one's queue to the
client it listed, yielding between messages; this test replays that pass with Streamlit's own session
manager and storage, a reconnect happening between the listing and the flush."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.runtime import Runtime
from streamlit.runtime.session_manager import ActiveSessionInfo, SessionClientDisconnectedError
from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

from made_viz import ui


class Client:
    """A tab's websocket: records what it is sent; a closed one raises like Streamlit's client."""

    def __init__(self):
        self.got: list[ForwardMsg] = []
        self.closed = False

    def write_forward_msg(self, msg):
        if self.closed:
            raise SessionClientDisconnectedError
        self.got.append(msg)

    @property
    def client_context(self):  # pragma: no cover - not asked for in this test
        return None


class Session:
    """What the session manager asks of an AppSession on disconnect and resume."""

    def __init__(self, sid: str):
        self.id = sid
        self.queue: list[ForwardMsg] = []
        self.stops = 0

    def request_script_stop(self):
        self.stops += 1

    def disconnect_file_watchers(self):
        pass

    def register_file_watchers(self):
        pass

    def clear_session_caches(self):
        pass

    def is_resumable(self):
        return True

    def matches_user_info(self, user_info):
        return True

    def flush_browser_queue(self):
        out, self.queue = self.queue, []
        return out

    def shutdown(self):  # pragma: no cover - a resumable session is stored, not shut down
        pass


def run_messages(n_deltas: int) -> list[ForwardMsg]:
    msgs = [ForwardMsg()]
    msgs[0].new_session.page_script_hash = "page"
    for _ in range(n_deltas):
        m = ForwardMsg()
        m.delta.new_element.markdown.body = "D = 64 · layers 64 → 128 → 64"
        msgs.append(m)
    done = ForwardMsg()
    done.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    return msgs + [done]


@pytest.fixture
def manager():
    mgr = WebsocketSessionManager(
        session_storage=MemorySessionStorage(),
        uploaded_file_manager=None,
        script_cache=SimpleNamespace(clear=lambda: None),
        message_enqueued_callback=None,
    )
    session = Session("s1")
    old = Client()
    mgr._active_session_info_by_id[session.id] = ActiveSessionInfo(old, session)
    return mgr, session, old


def flush_pass(runtime, listed):
    """Runtime._loop's flush of the sessions it listed (its error handling included)."""
    for info in listed:
        for msg in info.session.flush_browser_queue():
            try:
                Runtime._send_message(runtime, info, msg)
            except SessionClientDisconnectedError:
                runtime.disconnect_session(info.session.id, client=info.client)


@pytest.mark.parametrize("socket_closed_first", [True, False], ids=["stored-then-resumed", "still-active"])
def test_a_run_started_after_a_reconnect_reaches_the_new_socket(manager, socket_closed_first):
    ui.prepare_process()  # what every page run does first: installs the fix
    mgr, session, old = manager
    runtime = SimpleNamespace(_session_mgr=mgr, _on_session_disconnected=lambda: None)
    runtime.disconnect_session = lambda sid, client=None: Runtime.disconnect_session(runtime, sid, client=client)

    listed = mgr.list_active_sessions()  # the loop's pass starts: it holds the old entry
    old.closed = True  # the server closed the socket (e.g. code 1009)
    if socket_closed_first:  # the old endpoint's clean-up ran before the tab came back
        mgr.disconnect_session(session.id)
    new = Client()
    assert mgr.connect_session(new, script_data=None, user_info={}, existing_session_id=session.id) == session.id
    session.queue = run_messages(12)  # the tab's rerun, run while the pass is still going

    flush_pass(runtime, listed)
    assert [m.WhichOneof("type") for m in new.got] == ["new_session"] + ["delta"] * 12 + ["script_finished"]
    assert old.got == []
    assert mgr.get_active_session_info(session.id).client is new
    assert mgr.get_active_session_info(session.id).script_run_count == 1  # counted on the current entry


def test_a_session_without_a_socket_is_not_sent_anything(manager):
    """Disconnected and not back yet: the messages meet the closed socket as before (the tab's rerun
    on its return draws the page again)."""
    ui.prepare_process()
    mgr, session, old = manager
    runtime = SimpleNamespace(_session_mgr=mgr)
    calls = []
    runtime.disconnect_session = lambda sid, client=None: calls.append((sid, client))
    listed = mgr.list_active_sessions()
    old.closed = True
    mgr.disconnect_session(session.id)
    session.queue = run_messages(2)
    flush_pass(runtime, listed)
    assert old.got == []
    assert calls and all(c == (session.id, old) for c in calls)
