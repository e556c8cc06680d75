"""What a traced unit sees and feeds, drawn as images (no streamlit, no torch).

Every pixel gets a category relative to the traced unit(s): it reaches the unit, it may but does
not (a starved conditional), it must not yet does (a forbidden path), ... `dependency_figure` draws
the inputs ('which pixels does it see') and the outputs ('which conditionals does it feed') as
h x w images coloured by category; `dependency_legend` names the colours.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .config import image_shape
from .forbidden import max_over_reaching_sources, min_over_reached_sources
from .graph import Trace
from .layers import layer_degrees, num_layers
from .masks import MaskSet
from .plot_parts import BAD, DOWN, UP, Spec

# categories of a pixel relative to a traced output (or input)
AFTER, SEEN, STARVED, SELF, FORBIDDEN, FED = 0, 1, 2, 3, 4, 5
# "not connected" is a light grey, not white: on a white page white cells would be invisible
_CAT_COLORS = {AFTER: "#e5e7eb", SEEN: UP, STARVED: "#fbbf24", SELF: "#111827", FORBIDDEN: BAD, FED: DOWN}
# red (forbidden), orange (feeds) and amber (starved) differ by more than hue: two of them carry a marker
_CAT_MARKERS = {FORBIDDEN: ("x-thin", "#ffffff", "✕"), STARVED: ("circle-open", "#78350f", "○")}
_CAT_NAMES = {
    SEEN: "reaches it",
    STARVED: "before it, yet no path (○)",
    FORBIDDEN: "connected, but must not be (✕)",
    SELF: "the pixel itself",
    AFTER: "not connected",
    FED: "depends on it",
}
# the panels' titles, on two short lines so that two panels side by side never overlap
_TITLES = ("pixels<br>it sees", "outputs<br>it feeds")
_TITLE_FONT = 14


def dependency_categories(ms: MaskSet, tr: Trace) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-pixel categories of the inputs the traced unit(s) see and of the outputs they feed
    (None when that side is not meaningful: the inputs of a traced input, the outputs of an output).

    Judged per traced unit u: an input may reach output u only from an earlier position, and hidden
    unit u (degree m) only from positions <= m; an output may depend on input u only from a later
    position, and on hidden unit u only from a position > m."""
    last = num_layers(ms) - 1
    pos = ms.degrees[0].astype(np.float32)
    deg = layer_degrees(ms)[tr.layer][list(tr.units)].astype(np.float32)
    is_src = np.zeros(ms.d, dtype=bool)
    seen = feeds = None
    if tr.layer != 0:  # which inputs reach it
        hit = tr.up[0]
        first = min_over_reached_sources(ms, tr, deg)[0]  # smallest degree among the sources i reaches
        strict = tr.layer == last  # an output needs pos < m, a hidden unit pos <= m
        bad = hit & ((pos >= first) if strict else (pos > first))
        may = (pos < deg.max()) if strict else (pos <= deg.max())
        cat = np.full(ms.d, AFTER, dtype=np.int64)
        cat[may & ~hit] = STARVED
        if strict:
            is_src[list(tr.units)] = True
            cat[is_src & ~hit] = SELF
        cat[hit] = SEEN
        cat[bad] = FORBIDDEN
        seen = cat
    if tr.layer != last:  # which outputs it reaches
        hit = tr.down[-1]
        latest = max_over_reaching_sources(ms, tr, deg)[-1]  # largest degree among the sources reaching j
        cat = np.full(ms.d, AFTER, dtype=np.int64)
        if tr.layer == 0:
            is_src[list(tr.units)] = True
            cat[is_src & ~hit] = SELF
        cat[hit] = FED
        cat[hit & (pos <= latest)] = FORBIDDEN
        feeds = cat
    return seen, feeds


def dependency_legend(ms: MaskSet, tr: Trace) -> list[tuple[str, str]]:
    """(colour, meaning) of the categories present in `dependency_figure`, for a legend line."""
    cats = [c for c in dependency_categories(ms, tr) if c is not None]
    present = sorted(set(np.concatenate(cats).tolist()) - {AFTER}) + [AFTER]
    return [(_CAT_COLORS[k], _CAT_NAMES[k]) for k in present]


def _category_scale() -> list:
    """Piecewise-constant colour scale over the category codes (category k drawn at k + 0.5)."""
    nc = len(_CAT_COLORS)
    flat = []
    for i in range(nc):
        flat += [[i / nc, _CAT_COLORS[i]], [(i + 1) / nc, _CAT_COLORS[i]]]
    return flat


def _marker_traces(grid: np.ndarray, ax: str, cell_px: float) -> list[dict]:
    """Markers on the forbidden and starved cells of one panel (image rows/columns as y/x)."""
    out = []
    for cat, (symbol, color, _) in _CAT_MARKERS.items():
        rows, cols = np.nonzero(grid == cat)
        if len(rows):
            out.append(
                dict(
                    type="scatter",
                    x=cols.tolist(),
                    y=rows.tolist(),
                    mode="markers",
                    hoverinfo="skip",
                    marker=dict(
                        symbol=symbol, color=color, size=max(4.0, 0.55 * cell_px), line=dict(color=color, width=1.5)
                    ),
                    name=_CAT_NAMES[cat],
                    showlegend=False,
                    xaxis=f"x{ax}",
                    yaxis=f"y{ax}",
                )
            )
    return out


def dependency_figure(ms: MaskSet, tr: Trace, shape: tuple[int, int] | None, width: int = 270) -> go.Figure:
    """The traced unit's inputs ('which pixels does it see') and/or outputs ('which conditionals
    does it feed') as h x w images, coloured by category (see `dependency_legend`); forbidden and
    starved pixels also carry a marker. `width` is the figure's expected width in px (sets its height)."""
    h, w = image_shape(shape, ms.d)
    seen, feeds = dependency_categories(ms, tr)
    panels = [(t, c) for t, c in zip(_TITLES, (seen, feeds)) if c is not None]
    if len(panels) == 1:
        panels = [(panels[0][0].replace("<br>", " "), panels[0][1])]
    nc = len(_CAT_COLORS)
    fig = Spec()
    gap = 0.08 if len(panels) == 2 else 0.0
    span = (1 - gap) / len(panels)
    img_h = min((width / len(panels) - 12) * h / w, 150)
    for c, (title, cat) in enumerate(panels):
        ax = "" if c == 0 else str(c + 1)
        text = np.array([f"x{p}: {_CAT_NAMES[int(k)]}" for p, k in enumerate(cat)]).reshape(h, w)
        fig.add_trace(
            dict(
                type="heatmap",
                z=cat.reshape(h, w).astype(np.float32) + 0.5,
                zmin=0,
                zmax=nc,
                colorscale=_category_scale(),
                showscale=False,
                text=text,
                hovertemplate="%{text}<extra></extra>",
                xgap=1,
                ygap=1,
                xaxis=f"x{ax}",
                yaxis=f"y{ax}",
            )
        )
        for trace in _marker_traces(cat.reshape(h, w), ax, img_h / h):
            fig.add_trace(trace)
        lo = c * (span + gap)
        fig.update_layout(
            **{
                f"xaxis{ax}": dict(domain=[lo, lo + span], visible=False, constrain="domain", fixedrange=True),
                f"yaxis{ax}": dict(
                    visible=False, autorange="reversed", scaleanchor=f"x{ax}", constrain="domain", fixedrange=True
                ),
            }
        )
        fig.add_annotation(
            text=title,
            x=lo + span / 2,
            xref="paper",
            xanchor="center",
            y=1,
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            font=dict(size=_TITLE_FONT),
        )
    top = 26 + 16 * max(t.count("<br>") for t, _ in panels)  # room for each line of the titles
    fig.update_layout(
        height=int(img_h + top + 4),
        margin=dict(l=4, r=4, t=top, b=4),
        font=dict(size=13),
        plot_bgcolor="white",
        paper_bgcolor="white",
        dragmode=False,
        showlegend=False,
    )
    return fig.build()
