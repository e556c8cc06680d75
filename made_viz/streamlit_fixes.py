"""A fix to Streamlit's server, installed once per process (`install`, from `ui.prepare_process`).

**A reconnect under load could lose the start of the next page run.** Streamlit's runtime loop takes the
list of active sessions, then flushes each session's queue of messages to that session's client,
yielding to the event loop after every message (`Runtime._loop`: `list_active_sessions()`, then
`_send_message(info, msg)` and `await asyncio.sleep(0)` per message). With thirty students that pass
takes a while; if a tab reconnects to its session meanwhile (a dropped socket: flaky classroom Wi-Fi, a
laptop waking up, a message over `server.maxWidgetStateSize`), the pass still holds the session's old
entry and sends the new run's first messages to the closed socket: they are dropped, not requeued
(`write_forward_msg` raises, and the loop's disconnect is a no-op for a client no longer current). The
tab then shows a page without its sidebar, or never sees its run finish, until it is reloaded. Found by
the soak (`python -m bench.soak`): 10 of 78 reconnects after a paste in one 4-minute run.

The fix sends each message to the client the session has *now* (`get_active_session_info`), which is
what the loop means to do. Guarded: if Streamlit's internals differ from what it expects, nothing is
patched (`install()` returns False and logs a warning).
"""

from __future__ import annotations

import logging

_LOG = logging.getLogger(__name__)
_MARK = "_made_viz_current_client"


def _current_client_sender(send):
    def _send_message(self, session_info, msg):
        mgr = getattr(self, "_session_mgr", None)
        session = getattr(session_info, "session", None)
        if mgr is not None and session is not None:
            current = mgr.get_active_session_info(session.id)
            if current is not None and current is not session_info:
                session_info = current  # the tab reconnected since this pass listed the sessions
        return send(self, session_info, msg)

    setattr(_send_message, _MARK, True)
    _send_message.__doc__ = send.__doc__
    return _send_message


def install() -> bool:
    """Patch `Runtime._send_message` (idempotent). Returns whether the fix is in place."""
    try:
        from streamlit.runtime.runtime import Runtime
        from streamlit.runtime.session_manager import SessionManager
    except ImportError:  # pragma: no cover - a Streamlit without these modules
        return False
    send = getattr(Runtime, "_send_message", None)
    if send is None or not hasattr(SessionManager, "get_active_session_info"):
        _LOG.warning("made_viz: this Streamlit has no Runtime._send_message; the reconnect fix is not installed")
        return False
    if not getattr(send, _MARK, False):
        Runtime._send_message = _current_client_sender(send)
    return True
