"""The installed app's launcher: the settings it passes equal the checkout's .streamlit/config.toml."""
from __future__ import annotations

from pathlib import Path

import pytest

from made_viz import launch

tomllib = pytest.importorskip("tomllib")   # Python 3.11+

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
    assert alone["client.showErrorDetails"] == "none"   # students never see tracebacks


def test_app_script_ships_in_the_package():
    script = launch.app_script()
    assert script.is_file() and script.parent == Path(launch.__file__).parent
