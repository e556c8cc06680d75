"""Parts shared by the plotly figures of the network and its masks (no streamlit, no torch).

Figures are collected as plain dicts (`Spec`) and turned into a go.Figure once at the end: plotly
validates on every update_* call, and the network figure would otherwise be re-validated for every
trace it gets. Also here: the colours every figure and the page's captions name, and line traces
that draw many edges as one trace (segments joined by NaN gaps), so D = 784 stays light.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go

# colours (also named in the page's captions)
UP = "#2563eb"  # reaches the traced unit
DOWN = "#ea580c"  # reached from the traced unit
BAD = "#dc2626"  # on a forbidden path
EDGE = "#64748b"
DIRECT = "#7c3aed"
DEAD = "#d1d5db"
DEGREE_SCALE = "Viridis"


def _merge(into: dict, new: dict) -> dict:
    """Deep-merge `new` into `into` (how plotly's update_layout treats nested dicts)."""
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v
    return into


class Spec:
    """Collects traces and layout as plain dicts and builds the go.Figure once at the end (plotly
    validates on every update_* call; the network figure is rebuilt on every new trace)."""

    def __init__(self):
        self.data: list[dict] = []
        self.layout: dict = {"annotations": [], "shapes": []}

    def add_trace(self, trace: dict) -> None:
        self.data.append(trace)

    def update_layout(self, **kw) -> None:
        _merge(self.layout, kw)

    def update_xaxes(self, **kw) -> None:
        _merge(self.layout.setdefault("xaxis", {}), kw)

    def update_yaxes(self, **kw) -> None:
        _merge(self.layout.setdefault("yaxis", {}), kw)

    def add_annotation(self, **kw) -> None:
        self.layout["annotations"].append(kw)

    def add_shape(self, **kw) -> None:
        self.layout["shapes"].append(kw)

    def build(self) -> go.Figure:
        return go.Figure(data=self.data, layout=self.layout)


class SharedFigure(go.Figure):
    """A figure built once and then only read, by every session (the pages' cached figures). st.plotly_chart
    calls `to_dict()` on every run, which deep-copies every trace (~6 ms for the network, more profiled);
    here it is computed once and handed out as a fresh top-level dict around the same (never mutated)
    traces and layout. Mutating a SharedFigure after its first to_dict would not show: use `shared`
    only on figures that are finished."""

    def to_dict(self) -> dict:
        whole = self.__dict__.get("_whole")
        if whole is None:
            whole = self._whole = super().to_dict()
        return top_copy(whole)


def top_copy(whole: dict) -> dict:
    """A figure dict's top level copied (its lists and dicts one level deep), around the same parts: what a
    frozen figure hands out, so that Streamlit's edits to the dict (its theme, its key) touch only the copy."""
    return {k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v for k, v in whole.items()}


def plain_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure of plain trace and layout dicts that plotly does not validate: ~8 ms for a curve of 600 points,
    which the Train page's live panel redraws every tick for every student training (validating adds nothing
    to what is sent). Only for builders whose figures the tests validate (tests/plotly_valid.py): plotly
    then raises on any misspelt or ill-typed property, which plotly.js would silently ignore."""
    return go.Figure(dict(data=data, layout=layout), _validate=False)


def shared(fig: go.Figure) -> go.Figure:
    """`fig`, finished, as a SharedFigure (the same object: no copy, no second validation)."""
    if type(fig) is go.Figure:
        fig.__class__ = SharedFigure
    return fig


def scatter(**kw) -> dict:
    return dict(type="scatter", **kw)


def heatmap(**kw) -> dict:
    return dict(type="heatmap", **kw)


def segments(x0, y0, x1, y1) -> tuple[np.ndarray, np.ndarray]:
    """Straight segments joined by NaN gaps (one trace draws them all)."""
    n = len(x0)
    xs = np.full(3 * n, np.nan, dtype=np.float32)
    ys = np.full(3 * n, np.nan, dtype=np.float32)
    xs[0::3], xs[1::3] = x0, x1
    ys[0::3], ys[1::3] = y0, y1
    return xs, ys


def curves(x0, y0, x1, y1, bulge: float, pts: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Quadratic curves (for direct input->output edges, which skip the hidden layers)."""
    x0, y0, x1, y1 = (np.asarray(v, dtype=np.float64) for v in (x0, y0, x1, y1))
    t = np.linspace(0, 1, pts)[None, :]
    cx = (x0 + x1) / 2 + bulge * np.where(x1 >= x0, 1, -1)
    cy = (y0 + y1) / 2
    bx = (1 - t) ** 2 * x0[:, None] + 2 * (1 - t) * t * cx[:, None] + t**2 * x1[:, None]
    by = (1 - t) ** 2 * y0[:, None] + 2 * (1 - t) * t * cy[:, None] + t**2 * y1[:, None]
    gap = np.full((len(x0), 1), np.nan)
    return (np.hstack([bx, gap]).ravel().astype(np.float32), np.hstack([by, gap]).ravel().astype(np.float32))


def line_trace(xs, ys, color: str, width: float, name: str, legend: bool = False, dash: str | None = None) -> dict:
    """One line trace (many edges as NaN-separated pieces); `name` is its legend entry."""
    return scatter(
        x=xs,
        y=ys,
        mode="lines",
        line=dict(color=color, width=width, dash=dash),
        hoverinfo="skip",
        name=name,
        showlegend=legend,
        legendgroup=name,
    )


def degree_colors(deg: np.ndarray, d: int) -> list[str]:
    """Colour of every degree on the shared degree scale (1..D). Whole degrees 1..D are looked up in the
    scale sampled once per D (plotly's sampling looks the scale up by name, ~10 ms a call, and a network
    figure asks once per layer); each colour is sampled on its own, so the table gives the same strings."""
    deg = np.asarray(deg)
    if deg.size and np.issubdtype(deg.dtype, np.integer) and deg.min() >= 1 and deg.max() <= d:
        table = _degree_palette(int(d))
        return [table[k - 1] for k in deg.tolist()]
    t = (np.asarray(deg, dtype=float) - 1) / max(d - 1, 1)
    return pcolors.sample_colorscale(DEGREE_SCALE, np.clip(t, 0, 1).tolist())


@lru_cache(maxsize=64)
def _degree_palette(d: int) -> tuple[str, ...]:
    """The degree scale's colour of each degree 1..d (as degree_colors computes it)."""
    t = (np.arange(1, d + 1, dtype=float) - 1) / max(d - 1, 1)
    return tuple(pcolors.sample_colorscale(DEGREE_SCALE, np.clip(t, 0, 1).tolist()))


def text_color(rgb: str) -> str:
    """Dark or white text, whichever reads on an 'rgb(r, g, b)' fill (a degree label on its node)."""
    r, g, b = (float(v) for v in rgb[rgb.index("(") + 1 : -1].split(","))
    return "#111827" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"
