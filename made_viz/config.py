"""`Config`: one frozen description of a MADE architecture.

Everything else (masks, model, figures, links) is derived from a `Config`. It validates itself
with messages a student can act on, and round-trips through a plain dict of JSON values
(`to_dict`/`from_dict`, used by checkpoints) and through flat string pairs
(`to_query`/`from_query`, used by `st.query_params` so a teacher can hand out a link).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# ---------------------------------------------------------------------------------------------
# limits (keep a classroom server responsive; all checked in `Config.__post_init__`)
MAX_D = 4096  # 64 x 64 binary images
MAX_HIDDEN_UNITS = 4096  # per layer
MAX_LAYERS = 8
MAX_MASKS = 64

ORDERS = ("natural", "reverse", "random")
DEGREE_MODES = ("random", "even")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
# "made" is the real thing. The other two break the autoregressive property on purpose, for
# teaching: "off" drops every mask (a plain autoencoder), "nonstrict" uses >= in the output rule.
MASKINGS = ("made", "off", "nonstrict")


class ConfigError(ValueError):
    """A configuration a student typed (or a link carried) that cannot describe a MADE."""


@dataclass(frozen=True)
class Config:
    # --- data shape -------------------------------------------------------------------------
    d: int = 64  # number of binary inputs D
    shape: tuple[int, int] | None = None  # (height, width) when the inputs are an image
    # --- architecture -----------------------------------------------------------------------
    hidden: tuple[int, ...] = (128, 128)  # hidden layer sizes; () = no hidden layer
    activation: str = "relu"
    direct: bool = False  # direct input->output weights (paper, sec. 4)
    # --- masks ------------------------------------------------------------------------------
    order: str | tuple[int, ...] = "natural"  # generation order: name or a permutation of range(d)
    degrees: str = "random"  # hidden degrees: "random" (paper) or "even"
    num_masks: int = 1  # K masks for order/connectivity-agnostic training
    seed: int = 0
    masking: str = "made"  # "made" | "off" | "nonstrict" (deliberately broken)

    def __post_init__(self) -> None:
        # normalise containers so that equal configs compare and hash equal
        object.__setattr__(self, "hidden", _int_tuple(self.hidden, "hidden layer sizes"))
        if not isinstance(self.order, str):
            object.__setattr__(self, "order", _int_tuple(self.order, "order"))
        if self.shape is not None:
            object.__setattr__(self, "shape", _int_tuple(self.shape, "image shape"))
        self._validate()

    # -----------------------------------------------------------------------------------------
    def _validate(self) -> None:
        d = self.d
        if not isinstance(d, int) or isinstance(d, bool):
            raise ConfigError(f"D must be a whole number, got {d!r}.")
        if d < 2:
            raise ConfigError(f"D must be at least 2 (got {d}): with one input there is nothing to condition on.")
        if d > MAX_D:
            raise ConfigError(f"D = {d} is too large: this app handles at most {MAX_D} inputs (64 x 64 pixels).")
        if self.shape is not None:
            if len(self.shape) != 2 or min(self.shape) < 1 or self.shape[0] * self.shape[1] != d:
                raise ConfigError(
                    f"image shape {self.shape} does not have D = {d} pixels (height x width must equal D)."
                )
        if len(self.hidden) > MAX_LAYERS:
            raise ConfigError(f"{len(self.hidden)} hidden layers is too many: at most {MAX_LAYERS}.")
        for i, h in enumerate(self.hidden, 1):
            if h < 1:
                raise ConfigError(
                    f"hidden layer {i} has {h} units: every layer needs at least 1 unit (remove the layer instead)."
                )
            if h > MAX_HIDDEN_UNITS:
                units = shorten(str(h))  # a pasted 200-digit number is quoted short
                raise ConfigError(f"hidden layer {i} has {units} units: at most {MAX_HIDDEN_UNITS} per layer.")
        if isinstance(self.order, str):
            if self.order not in ORDERS:
                raise ConfigError(
                    f"unknown order {self.order!r}: use one of {', '.join(ORDERS)} or a list of pixel indices."
                )
        else:
            if sorted(self.order) != list(range(d)):
                raise ConfigError(_why_not_permutation(self.order, d))
        if self.degrees not in DEGREE_MODES:
            raise ConfigError(f"unknown hidden-degree mode {self.degrees!r}: use 'random' (as in the paper) or 'even'.")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {self.activation!r}: use one of {', '.join(ACTIVATIONS)}.")
        if not isinstance(self.num_masks, int) or not 1 <= self.num_masks <= MAX_MASKS:
            raise ConfigError(f"number of masks must be between 1 and {MAX_MASKS}, got {self.num_masks!r}.")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be a whole number between 0 and {2**32 - 1}, got {self.seed!r}.")
        if self.masking not in MASKINGS:
            raise ConfigError(f"unknown masking {self.masking!r}: use one of {', '.join(MASKINGS)}.")
        if not isinstance(self.direct, bool):
            raise ConfigError(f"direct must be true or false, got {self.direct!r}.")

    # --- derived --------------------------------------------------------------------------------
    @property
    def image_shape(self) -> tuple[int, int]:
        """(height, width) to draw the inputs as an image: `shape`, or one row of D pixels."""
        return image_shape(self.shape, self.d)

    @property
    def num_weights(self) -> int:
        """Exact number of trained numbers of the MADE this config builds: every layer's weights and
        biases, plus the D x D direct weights (no bias) when direct connections are on. The K masks
        share them, so this is per set of masks (the server also holds one mask entry per weight and mask)."""
        sizes = [self.d, *self.hidden, self.d]
        n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        return n + (self.d * self.d if self.direct else 0)

    @property
    def is_autoregressive(self) -> bool:
        """False for the deliberately broken variants (masks off, non-strict output rule)."""
        return self.masking == "made"

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    # --- round trips ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (tuples become lists)."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Inverse of `to_dict`; unknown keys and wrong types give a ConfigError."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a configuration must be a mapping, got {type(data).__name__}.")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown configuration field(s): {', '.join(map(str, unknown))}.")
        kw: dict[str, Any] = {}
        for k, v in data.items():
            if k in ("hidden", "shape") and v is not None:
                if not isinstance(v, (list, tuple)):
                    raise ConfigError(f"{k} must be a list of whole numbers, got {v!r}.")
                v = tuple(v)
            elif k == "order" and isinstance(v, list):
                v = tuple(v)
            kw[k] = v
        try:
            return cls(**kw)
        except TypeError as e:  # e.g. comparisons between str and int inside validation
            raise ConfigError(f"invalid configuration: {e}") from None

    def to_query(self) -> dict[str, str]:
        """Flat string pairs for URL query parameters; only the fields that differ from defaults."""
        default = Config()
        out: dict[str, str] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v == getattr(default, f.name) and f.name != "d":
                continue
            out[f.name] = _format_value(v)
        return out

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Config:
        """Parse `to_query` output (or a hand-edited link). Raises ConfigError with a clear message."""
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for k, raw in params.items():
            if k not in names:
                continue  # other pages may keep their own parameters in the URL
            raw = str(raw).strip()
            if k in ("d", "num_masks", "seed"):
                kw[k] = _parse_int(raw, k)
            elif k == "hidden":
                kw[k] = parse_layers(raw)
            elif k == "shape":
                kw[k] = None if raw in ("", "none") else _parse_shape(raw)
            elif k == "order":
                kw[k] = raw if raw in ORDERS else parse_int_list(raw, "order")
            elif k == "direct":
                if raw.lower() not in ("1", "0", "true", "false"):
                    raise ConfigError(f"direct must be 1 or 0, got {raw!r}.")
                kw[k] = raw.lower() in ("1", "true")
            else:
                kw[k] = raw
        return cls(**kw)


def image_shape(shape: tuple[int, int] | None, d: int) -> tuple[int, int]:
    """(height, width) to draw D inputs as an image: `shape` when there is one, else one row of D pixels."""
    return tuple(shape) if shape is not None else (1, d)


# ---------------------------------------------------------------------------------------------
# parsing helpers, shared by the UI and the command line


# Longest texts the list boxes accept: 8 layers of 4 digits fit in 200 characters, an explicit order of
# 4,096 pixels in 8 per pixel. A longer text is refused before it is split, so a pasted document cannot
# hold the process (every student's reruns) while millions of pieces are parsed.
MAX_LAYERS_TEXT = 200
MAX_ORDER_TEXT = 8 * MAX_D


def shorten(text: str, limit: int = 40) -> str:
    """At most `limit` characters of a student's text, an ellipsis if cut (a paste can be 200 characters)."""
    return text if len(text) <= limit else text[:limit] + "…"


def clip(text: str, limit: int = 40) -> str:
    """The text quoted in a message: at most `limit` characters, an ellipsis if cut."""
    return repr(shorten(text, limit))


def _check_length(text: str, limit: int, what: str) -> None:
    if len(text) > limit:
        raise ConfigError(f"{what}: the text is {len(text):,} characters long; at most {limit:,} are accepted.")


def parse_layers(text: str) -> tuple[int, ...]:
    """'128, 64' -> (128, 64); '' or 'none' -> () (no hidden layer). Clear errors otherwise."""
    text = str(text)
    _check_length(text, MAX_LAYERS_TEXT, "hidden layers")
    text = text.strip()
    if text.lower() in ("", "none", "-", "()", "[]"):
        return ()
    parts = [p.strip() for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    sizes = []
    for p in parts:
        try:
            n = int(p)
        except ValueError:
            raise ConfigError(f"hidden layers: {clip(p)} is not a whole number (write sizes like 128, 64).") from None
        if n < 1:
            raise ConfigError(f"hidden layers: {n} is not a valid size (each layer needs at least 1 unit).")
        sizes.append(n)
    return tuple(sizes)


def parse_int_list(text: str, what: str) -> tuple[int, ...]:
    text = str(text)
    _check_length(text, MAX_ORDER_TEXT, what)
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"{what}: expected whole numbers separated by commas, got {clip(text)}.") from None


def _parse_int(raw: str, what: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{what} must be a whole number, got {raw!r}.") from None


def _parse_shape(raw: str) -> tuple[int, int]:
    parts = raw.lower().replace("x", ",").split(",")
    if len(parts) != 2:
        raise ConfigError(f"image shape must look like 8x8, got {raw!r}.")
    return (_parse_int(parts[0], "image height"), _parse_int(parts[1], "image width"))


def _format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, tuple):
        return ",".join(str(x) for x in v) if v else "none"
    if v is None:
        return "none"
    return str(v)


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{what} must be a list of whole numbers, got {value!r}.")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int):
            try:
                import numpy as np  # numpy integers are fine

                if isinstance(v, np.integer):
                    out.append(int(v))
                    continue
            except ImportError:  # pragma: no cover
                pass
            raise ConfigError(f"{what} must be whole numbers, got {v!r}.")
        out.append(v)
    return tuple(out)


def _why_not_permutation(order: tuple[int, ...], d: int) -> str:
    if len(order) != d:
        return (
            f"the order lists {len(order)} pixels but D = {d}: an explicit order must name every pixel "
            f"0..{d - 1} exactly once."
        )
    bad = [i for i in order if not 0 <= i < d]
    if bad:
        return f"the order contains {bad[0]}, which is not a pixel index (use 0..{d - 1})."
    seen, dup = set(), None
    for i in order:
        if i in seen:
            dup = i
            break
        seen.add(i)
    return f"the order is not a permutation: pixel {dup} appears twice (every pixel 0..{d - 1} exactly once)."


def config_json(cfg: Config) -> str:
    """Stable JSON text of a config (cache keys, checkpoints)."""
    return json.dumps(cfg.to_dict(), sort_keys=True)
