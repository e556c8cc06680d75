"""The installed app's launcher: the settings it passes equal the checkout's .streamlit/config.toml."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from made_viz import launch

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def flatten(table: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_settings_equal_the_checkouts_config_toml():
    config = flatten(tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text()))
    assert launch.SETTINGS == config


def test_flags_listen_on_localhost_alone_and_everywhere_for_a_class():
    alone, room = launch.flags(8600, class_mode=False), launch.flags(8600, class_mode=True)
    assert alone["server.address"] == "127.0.0.1" and room["server.address"] == "0.0.0.0"
    assert alone["server.port"] == room["server.port"] == 8600
    assert alone["client.showErrorDetails"] == "none"  # students never see tracebacks


def test_app_script_ships_in_the_package():
    script = launch.app_script()
    assert script.is_file() and script.parent == Path(launch.__file__).parent


def test_session_ttl_comes_from_the_same_variable_as_serve_class_sh():
    assert "server.disconnectedSessionTTL" not in launch.flags(8600, False, env={})
    assert launch.flags(8600, False, env={"MADE_VIZ_SESSION_TTL": "30"})["server.disconnectedSessionTTL"] == 30
    with pytest.raises(ValueError, match="MADE_VIZ_SESSION_TTL must be a whole number"):
        launch.flags(8600, False, env={"MADE_VIZ_SESSION_TTL": "soon"})


def test_the_ready_line_names_localhost_alone_and_this_machines_address_for_a_class(monkeypatch):
    assert launch.ready_line(8600, class_mode=False) == (
        "MADE Explorer is ready. Open http://localhost:8600 in a browser (Ctrl-C stops it)."
    )
    monkeypatch.setattr(launch, "lan_address", lambda: "192.168.1.20")
    assert launch.ready_line(8600, class_mode=True) == (
        "MADE Explorer is ready. Students open http://192.168.1.20:8600 in a browser (Ctrl-C stops it)."
    )


def test_lan_address_is_an_ipv4_address_or_localhost():
    address = launch.lan_address()
    assert address == "localhost" or socket.inet_aton(address)


def test_a_port_in_use_or_out_of_range_is_refused_before_the_warm_up():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        with pytest.raises(ValueError, match=f"port {taken} is already in use"):
            launch.check_port(taken, class_mode=False)
    for bad in (0, 70000):
        with pytest.raises(ValueError, match="between 1 and 65535"):
            launch.check_port(bad, class_mode=False)


def test_serve_prints_the_ready_line_once_the_server_listens(monkeypatch):
    """serve() warms up, then hands the ready line to Streamlit's start hook (not before it listens)."""
    from streamlit.web import bootstrap

    calls, out = [], io.StringIO()
    monkeypatch.setattr(launch, "check_port", lambda port, class_mode: calls.append(("check", port)))
    monkeypatch.setattr(launch, "warm_up", lambda o: calls.append(("warm",)))
    monkeypatch.setattr(bootstrap, "load_config_options", lambda flag_options: calls.append(("config",)))
    monkeypatch.setattr(bootstrap, "_on_server_start", lambda server: calls.append(("streamlit started",)))

    def fake_run(script, is_hello, args, options):
        calls.append(("run", script, options["server.port"]))
        assert out.getvalue() == ""  # nothing printed before the server listens
        bootstrap._on_server_start(object())  # what bootstrap.run does once the port is bound

    monkeypatch.setattr(bootstrap, "run", fake_run)

    launch.serve(port=8611, class_mode=False, out=out)
    assert [c[0] for c in calls] == ["check", "config", "warm", "run", "streamlit started"]
    assert calls[3][1:] == (str(launch.app_script()), 8611)
    assert out.getvalue() == launch.ready_line(8611, class_mode=False) + "\n"
