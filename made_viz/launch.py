"""Start MADE Explorer from the installed package: `made-viz app [--port P] [--class]` or `python -m made_viz`.

The app's router and pages ship inside the package (`made_viz/streamlit_app.py`, `made_viz/app_pages/`), so
a wheel installed on another machine serves the same app as `streamlit run app.py` in a checkout. The
Streamlit settings of `.streamlit/config.toml` are passed as flags (`SETTINGS`; a test keeps the two equal),
because Streamlit reads that file only from the current folder.

Streamlit runs in this process: the heavy imports (torch, plotly, the library) and the warm-up happen before
the server accepts its first student, so the first class burst does not queue behind them.
"""

from __future__ import annotations

import os
import socket
import sys
from importlib.resources import files
from pathlib import Path

# the same settings as .streamlit/config.toml (a classroom server: no telemetry, no tracebacks for students)
SETTINGS = {
    "server.headless": True,
    "server.maxUploadSize": 50,
    "server.maxWidgetStateSize": 1,
    "server.runOnSave": False,
    "runner.postScriptGC": False,
    "browser.gatherUsageStats": False,
    "client.toolbarMode": "viewer",
    "client.showErrorDetails": "none",
    "theme.base": "light",
}
DEFAULT_PORT = 8501


def app_script() -> Path:
    """The router script Streamlit runs (inside the installed package)."""
    return Path(str(files("made_viz") / "streamlit_app.py"))


def lan_address() -> str:
    """This machine's address on the classroom network (the one students type), or 'localhost'."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent by a UDP connect, it only picks a route
        return s.getsockname()[0]
    except OSError:
        return "localhost"
    finally:
        s.close()


SESSION_TTL_ENV = "MADE_VIZ_SESSION_TTL"  # as in deploy/serve_class.sh: seconds a closed tab's session is kept


def flags(port: int, class_mode: bool, env: dict | None = None) -> dict:
    """Streamlit flag options for one server: localhost only, or every address for a class; $MADE_VIZ_SESSION_TTL
    sets server.disconnectedSessionTTL (Streamlit's own STREAMLIT_* variables reach only `streamlit run`)."""
    out = dict(SETTINGS)
    out["server.port"] = int(port)
    out["server.address"] = "0.0.0.0" if class_mode else "127.0.0.1"
    out["server.fileWatcherType"] = "none"
    ttl = (os.environ if env is None else env).get(SESSION_TTL_ENV, "").strip()
    if ttl:
        if not ttl.isdigit():
            raise ValueError(f"{SESSION_TTL_ENV} must be a whole number of seconds, got {ttl!r}.")
        out["server.disconnectedSessionTTL"] = int(ttl)
    return out


def check_port(port: int, class_mode: bool) -> None:
    """Fail before the warm-up (which takes seconds) if the port cannot be used; ValueError in one sentence."""
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"--port must be between 1 and 65535, got {port}.")
    address = "0.0.0.0" if class_mode else "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, int(port)))
        except OSError:
            raise ValueError(f"port {port} is already in use (another server?); choose another with --port.") from None


def ready_line(port: int, class_mode: bool, host: str | None = None) -> str:
    """The one line that says where to open the app: localhost alone, this machine's address for a class."""
    if host is None:
        host = lan_address() if class_mode else "localhost"
    who = "Students open" if class_mode else "Open"
    return f"MADE Explorer is ready. {who} http://{host}:{port} in a browser (Ctrl-C stops it)."


def warm_up(out=sys.stderr) -> dict:
    """Do what every first visit needs before the first student arrives (`made_viz.warm`): the heavy
    imports, one run of every page, the caches they fill."""
    from . import warm

    print("MADE Explorer is warming up (imports, one run of every page)...", file=out, flush=True)
    return warm.warm_process()


def serve(port: int = DEFAULT_PORT, class_mode: bool = False, out=sys.stderr) -> None:
    """Warm up, print the address to open, and run the Streamlit server until Ctrl-C.

    The ready line is printed when Streamlit's server has bound its port (its `on_started` hook),
    so whoever waits for it (a teacher, a script) finds a server that answers."""
    from streamlit.web import bootstrap

    check_port(port, class_mode)
    options = flags(port, class_mode)
    bootstrap.load_config_options(flag_options=options)  # first: the warm-up's runs see the server's settings
    warm_up(out)
    _print_when_started(ready_line(port, class_mode), out)
    bootstrap.run(str(app_script()), False, [], options)


def _print_when_started(line: str, out) -> None:
    """Print `line` once the server listens (Streamlit calls `bootstrap._on_server_start` then)."""
    from streamlit.web import bootstrap

    started = bootstrap._on_server_start

    def on_start(server) -> None:
        started(server)
        print(line, file=out, flush=True)

    bootstrap._on_server_start = on_start
