"""The architecture in the URL: which query parameters count, how a link is read, how it is written.

A link a teacher hands out, or one a course platform decorates (`?utm_source=lms`), must give the
same network to every student. The rules, in one place:

* only the app's own keys count: the fields of `Config` (`d`, `shape`, `hidden`, ...); any other
  parameter is ignored and dropped when the URL is rewritten;
* a key given twice (`?d=64&d=12`) counts once, with its last value (what `st.query_params[key]`
  returns, and what most web frameworks do);
* a missing key takes the default preset's value. `d` is the size and `shape` only how to draw it,
  so a `shape` without `d` must have the preset's d pixels, and a `d` without `shape` keeps the
  preset's image shape when that has d pixels, else the inputs are one row of d pixels (as the
  sidebar's Height 1 x Width d): `?d=12` is the default network on a 1 x 12 row;
* the written URL is canonical: `d` always (a link says its size), then every other field that
  differs from the default preset, each once, in the fields' order. Reading it back gives the same
  Config.

No streamlit here: `made_viz.ui` hands in the parameters and writes the result.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .config import Config, ConfigError

APP_KEYS = tuple(f.name for f in fields(Config))


def app_params(params: Mapping[str, Any]) -> dict[str, str]:
    """The app's own keys, each with one value (the last one when a key is repeated)."""
    out: dict[str, str] = {}
    for key in APP_KEYS:
        if key not in params:
            continue
        value = params[key]
        if isinstance(value, (list, tuple)):
            if not value:
                continue
            value = value[-1]
        out[key] = str(value)
    return out


def config_from_params(params: Mapping[str, Any], base: Config) -> Config:
    """The Config a link describes: `base` (the default preset) with the link's own keys changed.
    Raises ConfigError naming the bad value."""
    mine = app_params(params)
    if not mine:
        return base
    given = Config.from_query({"d": str(base.d), **mine})  # parses and checks every given value
    changes = {k: getattr(given, k) for k in mine}
    if "d" in mine and "shape" not in mine:
        fits = base.shape is not None and base.shape[0] * base.shape[1] == changes["d"]
        changes["shape"] = base.shape if fits else None
    if "order" not in mine and isinstance(base.order, tuple) and len(base.order) != changes.get("d", base.d):
        changes["order"] = "natural"
    try:
        return base.replace(**changes)
    except TypeError as e:
        raise ConfigError(f"invalid configuration: {e}") from None


def canonical_params(cfg: Config, base: Config) -> dict[str, str]:
    """The URL's parameters for `cfg`: `d`, then each field that differs from `base`, each once."""
    out = {"d": str(cfg.d)}
    for key in APP_KEYS:
        if key != "d" and getattr(cfg, key) != getattr(base, key):
            out[key] = _format(cfg, key)
    return out


def _format(cfg: Config, key: str) -> str:
    """One field as text that `Config.from_query` reads back."""
    value = getattr(cfg, key)
    if key == "shape":
        return "none" if value is None else f"{value[0]}x{value[1]}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) if value else "none"
    return str(value)
