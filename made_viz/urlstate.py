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
from dataclasses import dataclass, fields
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


# Keys a page reads from the link itself (the Exercises page: `?exercise=see&seed=7`); the URL keeps
# them as they are, so a reload or a copied link gives the class the same questions.
PAGE_KEYS = ("exercise",)


# ---------------------------------------------------------------------------------------------
# the view: everything on the screen that is not the architecture
#
# One declared table, like TensorFlow Playground's state.ts: each URL key, the session_state key it
# fills, its type and its default. The same rules as the architecture's: unknown keys are ignored, a
# repeated key counts once (its last value), and the written URL is canonical: only the keys whose
# value differs from the default, each once, in the table's order. A value a key does not allow is
# not taken (the caller says so in one sentence) and the default stays.


@dataclass(frozen=True)
class ViewKey:
    """One piece of the view in the URL. `kind` is "bool", "int" (from `lo` to `hi`) or "choice" (the
    URL's words in `choices`, each naming the value the session holds)."""

    url: str
    state: str
    kind: str
    default: Any
    what: str  # the control's name, for messages
    lo: int = 0
    hi: int = 0
    choices: tuple[tuple[str, Any], ...] = ()

    def parse(self, text: str) -> Any:
        """The session's value for the URL's text; ValueError (one sentence) if the key does not allow it."""
        t = text.strip().lower()
        if self.kind == "bool":
            if t in ("1", "true", "yes", "on"):
                return True
            if t in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{self.what} is 1 (on) or 0 (off), not “{text}”")
        if self.kind == "int":
            try:
                v = int(t)
            except ValueError:
                v = None
            if v is None or not self.lo <= v <= self.hi:
                raise ValueError(f"{self.what} must be a whole number from {self.lo} to {self.hi:,}, not “{text}”")
            return v
        for word, value in self.choices:
            if t == word.lower():
                return value
        raise ValueError(f"{self.what} is one of {', '.join(w for w, _ in self.choices)}, not “{text}”")

    def format(self, value: Any) -> str | None:
        """The URL's text for a session value (None: a value this key cannot say, left out of the URL)."""
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "int":
            return str(int(value)) if isinstance(value, (int, float)) and self.lo <= int(value) <= self.hi else None
        return next((word for word, v in self.choices if v == value), None)


def _same(*words: str) -> tuple[tuple[str, str], ...]:
    """Choices whose URL word is the value itself."""
    return tuple((w, w) for w in words)


def _labels(*labels: str) -> tuple[tuple[str, str], ...]:
    """Choices of a tab or a select shown with a label: the URL word is the label in lower case, spaces as '-'."""
    return tuple((lab.lower().replace(" ", "-").replace("?", ""), lab) for lab in labels)


# the Train page's learning rates (a select slider: a link names one of them)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
SAMPLE_TABS = ("Sample", "Copying?", "Complete", "Likelihood lens")
ARCH_TAB = "_w_arch_tab_kept"  # the Architecture page's open tab, kept while another page is shown
SAMPLE_TAB = "_s_tab_kept"  # the Sample page's open tab, kept while another page is shown (a tab has no persist_state)
SPEEDS = _same("slow", "normal", "fast")

# the session_state keys are the pages' own widget keys (made_viz/app_pages/*.py and made_viz/ui.py)
VIEW_KEYS: tuple[ViewKey, ...] = (
    ViewKey("projector", "w_projector", "bool", False, "Projector mode"),
    ViewKey("theme", "w_theme", "choice", "light", "Theme", choices=_same("light", "dark", "contrast")),
    ViewKey("mask", "w_mask_shown", "int", 1, "Mask shown", lo=1, hi=64),
    ViewKey(
        "data", "t_builtin", "choice", "digits8", "Data set", choices=_same("digits8", "mnist", "bars4", "shapes8")
    ),
    ViewKey("tab", ARCH_TAB, "choice", "Network", "Architecture tab", choices=_labels("Network", "Masks", "Check")),
    # the Train page: where the data come from and how the network learns them
    ViewKey(
        "source",
        "t_source",
        "choice",
        "Built-in",
        "Data source",
        choices=(("builtin", "Built-in"), ("upload", "Upload"), ("folder", "Server folder")),
    ),
    ViewKey("lr", "t_lr", "choice", 3e-3, "Learning rate", choices=tuple((f"{v:g}", v) for v in LEARNING_RATES)),
    ViewKey("batch", "t_bs", "int", 100, "Batch size", lo=1, hi=5000),
    ViewKey("epochs", "t_epochs", "int", 50, "Epochs", lo=1, hi=2000),
    ViewKey("every", "t_resample", "int", 1, "New mask every", lo=1, hi=1000),
    ViewKey("tseed", "t_seed", "int", 0, "Training seed", lo=0, hi=2**31 - 1),
    ViewKey("unit", "t_unit", "choice", "nats", "Unit", choices=_same("nats", "bits")),
    # the Sample page: its open tab, the model, then each tab's settings
    ViewKey("stab", SAMPLE_TAB, "choice", "Sample", "Sample tab", choices=_labels(*SAMPLE_TABS)),
    ViewKey(
        "model",
        "s_model",
        "choice",
        None,
        "Model",
        choices=(("session", "session"),) + _same("digits8", "mnist", "bars4"),
    ),
    ViewKey("smask", "s_mask", "int", 0, "Sampling mask", lo=0, hi=63),
    ViewKey("n", "s_n", "choice", 16, "Samples", choices=tuple((str(n), n) for n in (1, 4, 9, 16, 25, 36))),
    ViewKey("sseed", "s_seed", "int", 0, "Sampling seed", lo=0, hi=2**31 - 1),
    ViewKey("greedy", "s_greedy", "bool", False, "Greedy"),
    ViewKey("speed", "s_speed", "choice", "normal", "Speed", choices=SPEEDS),
    ViewKey("all", "s_all", "bool", False, "All steps"),
    ViewKey("path", "s_order", "bool", False, "Show the order"),
    ViewKey("cimage", "c_image", "int", 0, "Test image (Complete)", lo=0, hi=999_999),
    ViewKey(
        "region",
        "c_region",
        "choice",
        "top half",
        "Known pixels",
        choices=(("top", "top half"), ("left", "left half"), ("bottom", "bottom half"), ("random", "random 50%")),
    ),
    ViewKey("cn", "c_n", "choice", 8, "Completions", choices=tuple((str(n), n) for n in (4, 8, 16))),
    ViewKey("cseed", "c_seed", "int", 0, "Completion seed", lo=0, hi=2**31 - 1),
    ViewKey("cspeed", "c_speed", "choice", "normal", "Completion speed", choices=SPEEDS),
    ViewKey("call", "c_all", "bool", False, "All steps (Complete)"),
    ViewKey(
        "image",
        "l_source",
        "choice",
        "Test image",
        "Image (Likelihood lens)",
        choices=_labels("Test image", "A sample", "A completion", "Draw your own"),
    ),
    ViewKey("ltest", "l_test", "int", 0, "Test image (Likelihood lens)", lo=0, hi=999_999),
    ViewKey("which", "l_which", "int", 0, "Which one (Likelihood lens)", lo=0, hi=35),
)
VIEW_DEFAULTS = {key.state: key.default for key in VIEW_KEYS}
VIEW_URL_KEYS = tuple(v.url for v in VIEW_KEYS)
assert not set(VIEW_URL_KEYS) & set(APP_KEYS), "a view key must not shadow an architecture key"


def view_from_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The view a link describes: {session_state key: value} for each view key the link gives, and one
    sentence per value that was not taken. Unknown keys are ignored; a repeated key takes its last value."""
    values, refused = {}, []
    for key in VIEW_KEYS:
        value = params.get(key.url)
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        if value is None:
            continue
        try:
            values[key.state] = key.parse(str(value))
        except ValueError as e:
            refused.append(str(e))
    return values, refused


def view_params(state: Mapping[str, Any]) -> dict[str, str]:
    """The URL's view parameters for the session's `state`: each key whose value is not its default, in
    the table's order. A key the session does not hold (a page not open) is left out."""
    out = {}
    for key in VIEW_KEYS:
        if key.state not in state or state[key.state] == key.default:
            continue
        if (text := key.format(state[key.state])) is not None:
            out[key.url] = text
    return out
