"""The traces of the network figure (no streamlit, no torch): edges as line segments joined by gaps,
one trace per colour/width class (never one trace per edge, so D = 784 stays light), and the nodes
that carry click-to-trace customdata. The full view draws units; the bundled view draws one bubble
per (layer, degree bin) with edge width ~ the number of unit edges between two bins."""

from __future__ import annotations

import math

import numpy as np

from . import forbidden as FB
from .bundles import Bundles
from .graph import Trace, unit_reasons
from .layers import edge_count, fan_in_out, layer_degrees, layer_names, memo, num_layers
from .masks import MaskSet
from .network_layout import NodeLook, bin_positions, dashes, edge_style
from .network_text import bundle_hover, conditional_label, unit_hover
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
from .style import rgba

DIRECT_NAME = "input → output (direct)"  # legend entry of the plain direct connections


# ---------------------------------------------------------------------------------------------
# the full view: every unit and every edge


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


def _draw_unit_edges(fig: Spec, xs, mats, direct, style: tuple, bulge: float) -> None:
    """One line trace for the mask edges `mats` and one (curves) for the direct ones."""
    color, width, name, legend, alpha = style
    dash, direct_dash = dashes(color)
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


def draw_all_unit_edges(fig: Spec, ms: MaskSet, tr, edges: FB.EdgeSets, xs, bulge: float) -> None:
    """Plain edges, then the traced ones, then the forbidden ones (drawn on top)."""
    base_w, base_a = edge_style(edge_count(ms), tr is not None)
    _draw_unit_edges(fig, xs, ms.masks, ms.direct, (EDGE, base_w, "edge (mask = 1)", False, base_a), bulge)
    hi_w = max(base_w * 1.6, 1.8)
    if tr is not None:
        _draw_unit_edges(fig, xs, edges.up, edges.up_direct, (UP, hi_w, "reaches the traced unit", True, 0.9), bulge)
        _draw_unit_edges(fig, xs, edges.down, edges.down_direct, (DOWN, hi_w, "reached from it", True, 0.9), bulge)
    if edges.count_bad():
        _draw_unit_edges(fig, xs, edges.bad, edges.bad_direct, (BAD, hi_w + 0.6, "forbidden path", True, 0.95), bulge)


def unit_nodes(ms: MaskSet, tr, xs, look: NodeLook) -> dict:
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
            H.append(unit_hover(names, l, k, int(deg[k]), last, (fin[l][k], fout[l][k]), why))
            CD.append((l, k, -1))
            OP.append(0.22 if tr is not None and not touched[k] else 1.0)
            lc, lw = _outline(tr, l, k)
            LC.append(lc), LW.append(lw)
    mode = "markers+text" if look.labels else "markers"
    marker = dict(size=look.size, color=C, opacity=OP, line=dict(color=LC, width=LW))
    return _node_trace("units", mode, X, Y, T, dict(color=TC, size=look.font), marker, CD, H)


def _node_trace(name: str, mode: str, x, y, text, textfont: dict, marker: dict, customdata, hovertext) -> dict:
    """Nodes to click: a selection never dims them (plotly fades unselected points by default), and
    customdata tells the page which unit or bundle was clicked."""
    return scatter(
        x=x,
        y=y,
        mode=mode,
        text=text,
        textposition="middle center",
        textfont=textfont,
        marker=marker,
        customdata=customdata,
        hovertext=hovertext,
        hoverinfo="text",
        name=name,
        showlegend=False,
        selected=dict(marker=dict(opacity=1)),
        unselected=dict(marker=dict(opacity=1)),
    )


def degree_scale(d: int) -> dict:
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


def pixel_names(fig: Spec, ms: MaskSet, xs, widest: int) -> None:
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
    out_text = [conditional_label(ms, k) for k in range(ms.d)] if widest <= 5 else [f"x̂{k}" for k in range(ms.d)]
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


# ---------------------------------------------------------------------------------------------
# the bundled view: one bubble per (layer, degree bin)


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
    line_dashes = dashes(color)
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
                    dash=line_dashes[curved],
                )
            )
            shown[curved] = True


def draw_all_bundle_edges(fig: Spec, ms: MaskSet, bun: Bundles, tr, edges: FB.EdgeSets, max_bins: int) -> None:
    last = num_layers(ms) - 1
    nb = bun.num_bins
    xb = bin_positions(nb)
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


def bundle_nodes(ms: MaskSet, bun: Bundles, tr, plot_width: int) -> dict:
    """One bubble per (layer, bin), area ~ number of units, labelled with that number when it fits."""
    nb = bun.num_bins
    xb = bin_positions(nb)
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
            hover = bundle_hover(names[l], kind, bun.label(b), n, (fin[l][units].sum(), fout[l][units].sum()), dead)
            lc, lw, op, hover = _bundle_trace_state(tr, l, units, hover)
            OP.append(op), LC.append(lc), LW.append(lw)
            H.append(hover + "<br><span style='font-size:11px'>click to trace this bundle</span>")
            CD.append((l, -1, int(b)))
    marker = dict(size=S, color=C, opacity=OP, line=dict(color=LC, width=LW))
    return _node_trace("bundles", "markers+text", X, Y, T, dict(color=TC, size=12), marker, CD, H)
