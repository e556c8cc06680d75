"""The layered, degree-labelled network as a plotly figure (no streamlit, no torch).

Inputs at the bottom, outputs at the top, like the paper's Fig. 1, with tracing and forbidden
paths highlighted. Above an edge budget it draws an honest aggregated view instead: one bubble per
(layer, degree bin), edge width ~ number of unit edges between two bins. Edges are line segments
joined by gaps in one trace per colour/width class (never one trace per edge), so D = 784 stays light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from . import forbidden as FB
from .bundles import Bundles, bundle_by_degree
from .graph import Trace, unit_reasons
from .layers import edge_count, fan_in_out, layer_degrees, layer_names, layer_sizes, memo, num_layers
from .masks import MaskSet
from .plot_parts import (
    BAD,
    DEAD,
    DEGREE_SCALE,
    DIRECT,
    DOWN,
    EDGE,
    UP,
    Spec,
    curves,
    degree_colors,
    line_trace,
    scatter,
    segments,
    text_color,
)
from .style import FONT, rgba

EDGE_BUDGET = 3000  # above this many edges the network is drawn bundled by degree
FULL_EDGE_LIMIT = 20000  # "draw every edge anyway" is offered up to this many edges


# ---------------------------------------------------------------------------------------------
# layout shared by both views


def _base_layout(fig: Spec, height: int) -> None:
    fig.update_layout(
        height=height,
        margin=dict(l=86, r=16, t=34, b=10),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        dragmode=False,
        hovermode="closest",
        clickmode="event+select",
        legend=dict(
            orientation="h",
            yanchor="bottom",
            y=1.0,
            xanchor="left",
            x=0,
            itemclick=False,
            itemdoubleclick=False,
            font=dict(size=13),
        ),
    )
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True)


def _layer_labels(fig: Spec, ms: MaskSet) -> None:
    names = layer_names(ms)
    sizes = layer_sizes(ms)
    for l, (name, n) in enumerate(zip(names, sizes)):
        fig.add_annotation(
            x=0,
            xref="paper",
            y=l,
            yref="y",
            xanchor="right",
            xshift=-6,
            showarrow=False,
            text=f"<b>{name}</b><br><span style='font-size:12px'>{n} units</span>",
            align="right",
        )


def _conditional_label(ms: MaskSet, j: int) -> str:
    """p(x_j | the pixels before it), for tiny D."""
    pos = int(ms.degrees[0][j])
    before = [int(i) for i in ms.order[: pos - 1]]
    return f"p(x{j})" if not before else f"p(x{j} | {','.join(f'x{i}' for i in before)})"


def _outline(tr: Trace | None, l: int, k: int) -> tuple[str, float]:
    """Node outline (colour, width): black for a traced source, blue/orange for what it touches."""
    if tr is None:
        return "#ffffff", 1.5
    if l == tr.layer and k in tr.units:
        return "#111827", 4
    if tr.up[l][k]:
        return UP, 3
    if tr.down[l][k]:
        return DOWN, 3
    return "#ffffff", 1.5


# ---------------------------------------------------------------------------------------------
# the network


def network_figure(
    ms: MaskSet,
    *,
    tr: Trace | None = None,
    arrange: str = "natural",
    aggregated: bool | None = None,
    height: int = 420,
    max_bins: int = 10,
    plot_width: int = 580,
) -> go.Figure:
    """The masked network, inputs at the bottom and outputs at the top.

    tr: the traced unit(s) (highlighted: blue = reaches it, orange = reached from it, red = on a
        forbidden path through it); without a trace, red marks every edge on a forbidden path.
    arrange: "natural" (every layer in unit/pixel index order) or "order" (every layer sorted by
        degree, inputs and outputs in generation order).
    aggregated: bundle units by degree (None = when the network has more than EDGE_BUDGET edges).
    Node customdata = [layer, unit, bin] (unit = -1 for a bundle, bin = -1 for a unit)."""
    if aggregated is None:
        aggregated = edge_count(ms) > EDGE_BUDGET
    edges = FB.trace_edges(ms, tr)
    if aggregated:
        return _aggregated_figure(ms, tr, edges, height, max_bins, plot_width)
    return _full_figure(ms, tr, edges, arrange, height, plot_width)


def _positions(ms: MaskSet, arrange: str) -> tuple[list[np.ndarray], int]:
    """x coordinate of every unit of every layer (centred; the widest layer has one slot per unit)."""
    degs = layer_degrees(ms)
    widest = max(len(d) for d in degs)
    xs = []
    for deg in degs:  # every layer spans the same width, so a narrow layer does not shrink to a clump
        n = len(deg)
        slot = np.empty(n)
        rank = np.argsort(deg, kind="stable") if arrange == "order" else np.arange(n)
        slot[rank] = np.arange(n)
        xs.append((slot / (n - 1) - 0.5) * (widest - 1) if n > 1 else np.zeros(1))
    return xs, widest


MIN_LABEL_FONT = 8  # px: smaller degree numbers are not readable, so the nodes go without


@dataclass(frozen=True)
class NodeLook:
    """How the units are drawn: marker size, whether they carry their degree, its font size."""

    size: float
    labels: bool
    font: int
    big: bool  # the roomy layout (also names the pixels under the inputs for small D)


def _node_look(widest: int, plot_width: int, d: int) -> NodeLook:
    """Marker size 72% of a unit's slot (7..46 px), labelled when the number fits; when it does not,
    the node grows to 90% of its slot and the number shrinks (down to MIN_LABEL_FONT px)."""
    slot_px = (plot_width - 110) / max(widest, 1)
    node = float(np.clip(0.72 * slot_px, 7, 46))
    if node >= 17:
        return NodeLook(node, True, int(np.clip(node * 0.42, 11, 20)), True)
    small = min(0.9 * slot_px, 16.9)
    font = min(10, int(0.85 * small / (0.6 * len(str(d)))))  # the widest number (D) fits in the node
    if font >= MIN_LABEL_FONT:
        return NodeLook(small, True, font, False)
    return NodeLook(node, False, int(np.clip(node * 0.42, 11, 20)), False)


def _widest(ms: MaskSet) -> int:
    return max(layer_sizes(ms))


def degree_labels_shown(ms: MaskSet, aggregated: bool | None = None, plot_width: int = 580) -> bool:
    """Whether `network_figure` (same arguments) writes every unit's degree on its node: not in the
    bundled view (bubbles show unit counts), nor when the widest layer leaves no room for a number."""
    if aggregated is None:
        aggregated = edge_count(ms) > EDGE_BUDGET
    return not aggregated and _node_look(_widest(ms), plot_width, ms.d).labels


def degree_label_note(ms: MaskSet, aggregated: bool | None = None, plot_width: int = 580) -> str:
    """'' when every node shows its degree; else one sentence saying why not and where to read it."""
    if aggregated is None:
        aggregated = edge_count(ms) > EDGE_BUDGET
    if aggregated:
        return (
            "Units are bundled by degree: a bubble shows how many units it holds; its colour and the axis "
            "below give the degrees."
        )
    if degree_labels_shown(ms, aggregated, plot_width):
        return ""
    return (
        f"With {_widest(ms)} units side by side the nodes are too small for their degree numbers: the colour "
        "shows the degree (scale on the right); hover a node for its number."
    )


def _edge_style(n_edges: int, tracing: bool) -> tuple[float, float]:
    """Width and opacity of the plain edges: thinner and fainter as they get many (and behind a trace)."""
    base_w = 2.2 if n_edges < 60 else 1.4 if n_edges < 400 else 0.8 if n_edges < 1500 else 0.5
    base_a = 0.75 if n_edges < 60 else 0.5 if n_edges < 400 else 0.3 if n_edges < 1500 else 0.18
    return base_w, base_a * 0.35 if tracing else base_a


DIRECT_NAME = "input → output (direct)"  # legend entry of the plain direct connections


def _dashes(color: str) -> tuple[str | None, str]:
    """Line dash of (mask edges, direct curves) for a highlight colour: "reached from it" is dashed so
    that it differs from the red forbidden paths by more than hue; direct connections are dotted."""
    return ("dash", "dashdot") if color == DOWN else (None, "dot")


def _draw_unit_edges(fig: Spec, xs, mats, direct, style: tuple, bulge: float) -> None:
    """One line trace for the mask edges `mats` and one (curves) for the direct ones."""
    color, width, name, legend, alpha = style
    dash, direct_dash = _dashes(color)
    px, py = [], []
    for l, m in enumerate(mats):
        a, b = np.nonzero(m)
        if len(a):
            sx, sy = segments(xs[l][a], np.full(len(a), l), xs[l + 1][b], np.full(len(a), l + 1))
            px.append(sx), py.append(sy)
    if px:
        fig.add_trace(
            line_trace(np.concatenate(px), np.concatenate(py), rgba(color, alpha), width, name, legend, dash=dash)
        )
    if direct is not None and direct.any():
        a, b = np.nonzero(direct)
        top = len(xs) - 1
        cx, cy = curves(xs[0][a], np.zeros(len(a)), xs[-1][b], np.full(len(a), top), bulge)
        plain = color == EDGE  # the plain direct edges get their own legend entry
        fig.add_trace(
            line_trace(
                cx,
                cy,
                rgba(DIRECT if plain else color, alpha),
                width,
                DIRECT_NAME if plain else name + " (direct)",
                plain,
                dash=direct_dash,
            )
        )


def _draw_all_unit_edges(fig: Spec, ms: MaskSet, tr, edges: FB.EdgeSets, xs, bulge: float) -> None:
    """Plain edges, then the traced ones, then the forbidden ones (drawn on top)."""
    base_w, base_a = _edge_style(edge_count(ms), tr is not None)
    _draw_unit_edges(fig, xs, ms.masks, ms.direct, (EDGE, base_w, "edge (mask = 1)", False, base_a), bulge)
    hi_w = max(base_w * 1.6, 1.8)
    if tr is not None:
        _draw_unit_edges(fig, xs, edges.up, edges.up_direct, (UP, hi_w, "reaches the traced unit", True, 0.9), bulge)
        _draw_unit_edges(fig, xs, edges.down, edges.down_direct, (DOWN, hi_w, "reached from it", True, 0.9), bulge)
    if edges.count_bad():
        _draw_unit_edges(fig, xs, edges.bad, edges.bad_direct, (BAD, hi_w + 0.6, "forbidden path", True, 0.95), bulge)


def _unit_hover(names, l: int, k: int, deg: int, last: int, fan: tuple, why: str | None) -> str:
    what = f"pixel x{k}, position {deg} in the order" if l in (0, last) else f"unit {k}"
    hover = f"<b>{names[l]}</b> · {what}<br>degree m = {deg}<br>fan-in {int(fan[0])} · fan-out {int(fan[1])}"
    if why:
        hover += f"<br><i>greyed: {why}</i>"
    return hover + "<br><span style='font-size:11px'>click to trace</span>"


def _unit_nodes(ms: MaskSet, tr, xs, look: NodeLook) -> dict:
    """The units: coloured by degree (grey when dead), labelled with it when it fits, faded when a
    trace does not touch them; customdata = (layer, unit, -1) for click-to-trace."""
    reasons = unit_reasons(ms)
    fin, fout = fan_in_out(ms)
    names = layer_names(ms)
    degs = layer_degrees(ms)
    last = len(degs) - 1
    X, Y, C, T, H, CD, OP, LC, LW, TC = [], [], [], [], [], [], [], [], [], []
    for l, deg in enumerate(degs):
        cols = degree_colors(deg, ms.d)
        touched = tr.touched(l) if tr is not None else None
        for k in range(len(deg)):
            why = reasons.get((l, k))
            X.append(xs[l][k]), Y.append(l), C.append(DEAD if why else cols[k])
            T.append(str(int(deg[k])) if look.labels else "")
            TC.append("#374151" if why else text_color(cols[k]))
            H.append(_unit_hover(names, l, k, int(deg[k]), last, (fin[l][k], fout[l][k]), why))
            CD.append((l, k, -1))
            OP.append(0.22 if tr is not None and not touched[k] else 1.0)
            lc, lw = _outline(tr, l, k)
            LC.append(lc), LW.append(lw)
    return scatter(
        x=X,
        y=Y,
        mode="markers+text" if look.labels else "markers",
        text=T,
        textposition="middle center",
        textfont=dict(color=TC, size=look.font),
        marker=dict(size=look.size, color=C, opacity=OP, line=dict(color=LC, width=LW)),
        customdata=CD,
        hovertext=H,
        hoverinfo="text",
        name="units",
        showlegend=False,
        selected=dict(marker=dict(opacity=1)),
        unselected=dict(marker=dict(opacity=1)),
    )


def _degree_scale(d: int) -> dict:
    """An invisible trace that only draws the degree colour bar (when the numbers do not fit on the nodes)."""
    return scatter(
        x=[None],
        y=[None],
        mode="markers",
        hoverinfo="skip",
        showlegend=False,
        marker=dict(
            colorscale=DEGREE_SCALE,
            cmin=1,
            cmax=d,
            color=[1],
            showscale=True,
            colorbar=dict(title=dict(text="degree", side="right"), thickness=12, len=0.8, x=1.0),
        ),
    )


def _pixel_names(fig: Spec, ms: MaskSet, xs, widest: int) -> None:
    """x0, x1, ... under the inputs; x̂k (or, for tiny D, the conditional p(xk | ...)) above the outputs."""
    top = len(xs) - 1
    fig.add_trace(
        scatter(
            x=xs[0],
            y=np.full(ms.d, -0.28),
            mode="text",
            text=[f"x{k}" for k in range(ms.d)],
            hoverinfo="skip",
            showlegend=False,
            textfont=dict(size=15, color="#374151"),
        )
    )
    out_text = [_conditional_label(ms, k) for k in range(ms.d)] if widest <= 5 else [f"x̂{k}" for k in range(ms.d)]
    fig.add_trace(
        scatter(
            x=xs[-1],
            y=np.full(ms.d, top + 0.3),
            mode="text",
            text=out_text,
            hoverinfo="skip",
            showlegend=False,
            textfont=dict(size=15, color="#374151"),
        )
    )


def _full_figure(ms: MaskSet, tr, edges: FB.EdgeSets, arrange: str, height: int, plot_width: int) -> go.Figure:
    fig = Spec()
    xs, widest = _positions(ms, arrange)
    n_layers = len(xs)
    look = _node_look(widest, plot_width, ms.d)
    bulge = 0.35 * (widest + 1) / 2 + 0.5
    _draw_all_unit_edges(fig, ms, tr, edges, xs, bulge)
    fig.add_trace(_unit_nodes(ms, tr, xs, look))
    if not look.labels:  # the degree scale, since the numbers do not fit on the nodes
        fig.add_trace(_degree_scale(ms.d))
    if look.big and widest <= 24:  # pixel names under the inputs and above the outputs, when there is room
        _pixel_names(fig, ms, xs, widest)
    _base_layout(fig, height)
    _layer_labels(fig, ms)
    half = (widest - 1) / 2 + 0.6 + (bulge if ms.direct is not None else 0) * 0.5
    fig.update_xaxes(range=[-half, half])
    fig.update_yaxes(range=[-0.55, n_layers - 1 + 0.55])
    return fig.build()


# ---------------------------------------------------------------------------------------------
# the aggregated view: one bubble per (layer, degree bin)


def _bin_counts(bun: Bundles, mats, direct, last: int):
    """Edges per bin pair for every mask (and the direct mask, or None)."""
    out = [bun.bin_edges(m, l, l + 1) for l, m in enumerate(mats)]
    return out, (None if direct is None else bun.bin_edges(direct, 0, last))


def _bundle_items(xb, cs, dc, last: int) -> list[tuple]:
    """(x0, y0, x1, y1, count, curved) of every bundle edge; curved = a direct input->output bundle."""
    items = []
    for l, c in enumerate(cs):
        a, b = np.nonzero(c)
        items += [(xb[i], l, xb[j], l + 1, c[i, j], False) for i, j in zip(a, b)]
    if dc is not None:
        a, b = np.nonzero(dc)
        items += [(xb[i], 0, xb[j], last, dc[i, j], True) for i, j in zip(a, b)]
    return items


def _draw_bundle_edges(fig: Spec, items, cmax: int, nb: int, style: tuple) -> None:
    """Bundle edges in 6 width classes (one trace per class and kind), width ~ sqrt(count / cmax)."""
    color, name, legend, alpha, wmax = style
    dashes = _dashes(color)
    classes = 6
    shown = {False: False, True: False}  # one legend entry per kind (the plain direct bundles get their own)
    for cls in range(classes):
        for curved in (False, True):
            sel = [
                it
                for it in items
                if it[5] == curved and min(int(math.sqrt(it[4] / cmax) * classes), classes - 1) == cls
            ]
            if not sel:
                continue
            x0, y0, x1, y1 = (np.array([it[q] for it in sel]) for q in range(4))
            px, py = curves(x0, y0, x1, y1, 0.18 * nb + 0.5) if curved else segments(x0, y0, x1, y1)
            w = 0.6 + wmax * (cls + 1) / classes
            plain_direct = curved and color == EDGE
            first = not shown[curved] if plain_direct else not (shown[False] or shown[True])
            fig.add_trace(
                line_trace(
                    px,
                    py,
                    rgba(DIRECT if plain_direct else color, alpha),
                    w,
                    DIRECT_NAME if plain_direct else name,
                    (legend or plain_direct) and first,
                    dash=dashes[curved],
                )
            )
            shown[curved] = True


def _draw_all_bundle_edges(fig: Spec, ms: MaskSet, bun: Bundles, tr, edges: FB.EdgeSets, max_bins: int) -> None:
    last = num_layers(ms) - 1
    nb = bun.num_bins
    xb = np.arange(nb) - (nb - 1) / 2
    base, base_d = memo(ms, f"bundle_counts{max_bins}", lambda _: _bin_counts(bun, ms.masks, ms.direct, last))
    cmax = max([int(c.max()) for c in base] + ([int(base_d.max())] if base_d is not None else []) + [1])
    tracing = tr is not None

    def draw(sets, style):
        _draw_bundle_edges(fig, _bundle_items(xb, *sets, last), cmax, nb, style)

    draw((base, base_d), (EDGE, "edges between bins", False, 0.15 if tracing else 0.3, 5))
    if tracing:
        draw(_bin_counts(bun, edges.up, edges.up_direct, last), (UP, "reaches the traced unit", True, 0.85, 7))
        draw(_bin_counts(bun, edges.down, edges.down_direct, last), (DOWN, "reached from it", True, 0.85, 7))
    if edges.count_bad():
        draw(_bin_counts(bun, edges.bad, edges.bad_direct, last), (BAD, "forbidden path", True, 0.9, 7))


def _bundle_trace_state(tr, l: int, units: np.ndarray, hover: str) -> tuple[str, float, float, str]:
    """(outline colour, outline width, opacity, hover) of one bubble under a trace."""
    lc, lw, op = "#ffffff", 1.5, 1.0
    if tr is None:
        return lc, lw, op, hover
    t_up, t_dn = int(tr.up[l][units].sum()), int(tr.down[l][units].sum())
    if l == tr.layer and bool(set(units.tolist()) & set(tr.units)):
        lc, lw = "#111827", 4
    elif t_up:
        lc, lw = UP, 3
    elif t_dn:
        lc, lw = DOWN, 3
    else:
        op = 0.25
    if t_up or t_dn:
        hover += f"<br>traced: {max(t_up, t_dn)} of {len(units)} units"
    return lc, lw, op, hover


def _bundle_nodes(ms: MaskSet, bun: Bundles, tr, plot_width: int) -> dict:
    """One bubble per (layer, bin), area ~ number of units, labelled with that number when it fits."""
    nb = bun.num_bins
    xb = np.arange(nb) - (nb - 1) / 2
    last = num_layers(ms) - 1
    names = layer_names(ms)
    reasons = unit_reasons(ms)
    fin, fout = fan_in_out(ms)
    cols = degree_colors((bun.lo + bun.hi) / 2, ms.d)
    maxc = max(int(c.max()) for c in bun.count)
    biggest = float(np.clip(0.85 * (plot_width - 110) / (nb + 1), 12, 44))
    X, Y, S, C, T, H, CD, OP, LC, LW, TC = [], [], [], [], [], [], [], [], [], [], []
    for l in range(last + 1):
        for b in np.nonzero(bun.count[l])[0]:
            units = bun.units_in(l, b)
            n = len(units)
            dead = sum((l, int(k)) in reasons for k in units)
            size = 8 + (biggest - 8) * math.sqrt(n / maxc)
            X.append(xb[b]), Y.append(l), S.append(size)
            C.append(DEAD if dead == n else cols[b])
            T.append(str(n) if size >= 20 else "")
            TC.append(text_color(cols[b]) if dead < n else "#374151")
            kind = "positions" if l in (0, last) else "degrees"
            hover = (
                f"<b>{names[l]}</b> · {kind} {bun.label(b)}<br>{n} unit(s) · "
                f"fan-in {int(fin[l][units].sum()):,} · fan-out {int(fout[l][units].sum()):,} edges"
            )
            if dead:
                hover += f"<br><i>{dead} greyed unit(s): no input or no output</i>"
            lc, lw, op, hover = _bundle_trace_state(tr, l, units, hover)
            OP.append(op), LC.append(lc), LW.append(lw)
            H.append(hover + "<br><span style='font-size:11px'>click to trace this bundle</span>")
            CD.append((l, -1, int(b)))
    return scatter(
        x=X,
        y=Y,
        mode="markers+text",
        text=T,
        textposition="middle center",
        textfont=dict(color=TC, size=12),
        marker=dict(size=S, color=C, opacity=OP, line=dict(color=LC, width=LW)),
        customdata=CD,
        hovertext=H,
        hoverinfo="text",
        name="bundles",
        showlegend=False,
        selected=dict(marker=dict(opacity=1)),
        unselected=dict(marker=dict(opacity=1)),
    )


def _aggregated_figure(ms: MaskSet, tr, edges: FB.EdgeSets, height: int, max_bins: int, plot_width: int) -> go.Figure:
    fig = Spec()
    bun = bundle_by_degree(ms, max_bins)
    nb = bun.num_bins
    xb = np.arange(nb) - (nb - 1) / 2
    _draw_all_bundle_edges(fig, ms, bun, tr, edges, max_bins)
    fig.add_trace(_bundle_nodes(ms, bun, tr, plot_width))
    _base_layout(fig, height)
    _layer_labels(fig, ms)
    label_px = 7.5 * max(len(bun.label(b)) for b in range(nb))
    step = 1 if label_px < 0.9 * (plot_width - 110) / (nb + 1) else 2
    right = xb[-1] + 0.8 + (0.2 * nb if ms.direct is not None else 0)
    fig.update_xaxes(
        visible=True,
        showgrid=False,
        zeroline=False,
        showline=False,
        ticks="",
        tickvals=xb[::step].tolist(),
        ticktext=[bun.label(b) for b in range(0, nb, step)],
        title=dict(text="degree bin (inputs/outputs: position in the order)", font=dict(size=13)),
        tickfont=dict(size=12),
        tickangle=0,
        range=[xb[0] - 0.8, right],
    )
    fig.update_yaxes(range=[-0.5, num_layers(ms) - 1 + 0.5])
    fig.update_layout(margin=dict(b=50))
    return fig.build()


def aggregated_summary(ms: MaskSet, max_bins: int = 10) -> str:
    """One honest sentence on what the bundled view hides."""
    bun = bundle_by_degree(ms, max_bins)
    n_edges = edge_count(ms)
    n_bundle_edges = sum(int((bun.bin_edges(m, l, l + 1) > 0).sum()) for l, m in enumerate(ms.masks))
    units = sum(layer_sizes(ms))
    return (
        f"{n_edges:,} edges between {units:,} units are too many to draw one by one: units are bundled "
        f"by degree ({bun.width} consecutive degree{'s' if bun.width > 1 else ''} per bubble, the number "
        f"in a bubble = its units) and edges between bundles are drawn once ({n_bundle_edges:,} lines, "
        f"width ~ number of edges). Individual units and edges are hidden; hover a bubble for its counts."
    )
