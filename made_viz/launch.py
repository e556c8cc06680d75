"""Start MADE Explorer from the installed package: `made-viz app [--port P] [--class]` or `python -m made_viz`.

The app's router and pages ship inside the package (`made_viz/streamlit_app.py`, `made_viz/app_pages/`), so
a wheel installed on another machine serves the same app as `streamlit run app.py` in a checkout. The
Streamlit settings of `.streamlit/config.toml` are passed as flags (`SETTINGS`; a test keeps the two equal),
because Streamlit reads that file only from the current folder.

Streamlit runs in this process: the heavy imports (torch, plotly, the library) and the warm-up happen before
the server accepts its first student, so the first class burst does not queue behind them.
"""
from __future__ import annotations

import socket
import sys
from importlib.resources import files
from pathlib import Path

# the same settings as .streamlit/config.toml (a classroom server: no telemetry, no tracebacks for students)
SETTINGS = {
    "server.headless": True,
    "server.maxUploadSize": 50,
    "server.runOnSave": False,
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
        s.connect(("192.0.2.1", 9))   # TEST-NET-1: no packet is sent by a UDP connect, it only picks a route
        return s.getsockname()[0]
    except OSError:
        return "localhost"
    finally:
        s.close()


def flags(port: int, class_mode: bool) -> dict:
    """Streamlit flag options for one server: localhost only, or every address for a class."""
    out = dict(SETTINGS)
    out["server.port"] = int(port)
    out["server.address"] = "0.0.0.0" if class_mode else "127.0.0.1"
    out["server.fileWatcherType"] = "none"
    return out


def warm_up() -> None:
    """Do what every first visit needs before the first student arrives: the heavy imports and the
    library's own caches for the default preset."""
    from . import warm
    warm.warm_process()


def serve(port: int = DEFAULT_PORT, class_mode: bool = False, out=sys.stderr) -> None:
    """Warm up, print the address to open, and run the Streamlit server until Ctrl-C."""
    from streamlit.web import bootstrap

    warm_up()
    host = lan_address() if class_mode else "localhost"
    who = "Students open" if class_mode else "Open"
    print(f"MADE Explorer is ready. {who} http://{host}:{port} in a browser (Ctrl-C stops it).", file=out, flush=True)
    options = flags(port, class_mode)
    bootstrap.load_config_options(flag_options=options)
    bootstrap.run(str(app_script()), False, [], options)
