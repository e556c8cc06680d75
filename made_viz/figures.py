"""Plotly figures of the masked network and its masks (no streamlit).

- `network_figure`: the layered, degree-labelled network (inputs at the bottom, outputs at the
  top, like the paper's Fig. 1), with tracing and forbidden paths highlighted. Above an edge
  budget it draws an honest aggregated view instead: one bubble per (layer, degree bin), edge
  width ~ number of unit edges between two bins. Edges are line segments joined by gaps in one
  trace per colour/width class (never one trace per edge), so D = 784 stays light.
- `mask_figure`, `connectivity_figure`: heatmaps with units sorted by degree / generation order.
- `dependency_figure`: the pixels a traced unit sees (and feeds) drawn as images.
- `chain_rule_latex`: the factorisation for the current ordering.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go

from . import graph as G
from .masks import MaskSet

EDGE_BUDGET = 3000        # above this many edges the network is drawn bundled by degree
FULL_EDGE_LIMIT = 20000   # "draw every edge anyway" is offered up to this many edges
MAX_CELLS = 160           # heatmaps larger than this per side are block-averaged

# colours (also named in the page's captions)
UP = "#2563eb"            # reaches the traced unit
DOWN = "#ea580c"          # reached from the traced unit
BAD = "#dc2626"           # on a forbidden path
EDGE = "#64748b"
DIRECT = "#7c3aed"
DEAD = "#d1d5db"
DEGREE_SCALE = "Viridis"
FONT = dict(size=15)


# ---------------------------------------------------------------------------------------------
# small helpers

def _merge(into: dict, new: dict) -> dict:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v
    return into


class _Spec:
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


def _scatter(**kw) -> dict:
    return dict(type="scatter", **kw)


def _heatmap(**kw) -> dict:
    return dict(type="heatmap", **kw)

def _segments(x0, y0, x1, y1) -> tuple[np.ndarray, np.ndarray]:
    """Straight segments joined by NaN gaps (one trace draws them all)."""
    n = len(x0)
    xs = np.full(3 * n, np.nan, dtype=np.float32)
    ys = np.full(3 * n, np.nan, dtype=np.float32)
    xs[0::3], xs[1::3] = x0, x1
    ys[0::3], ys[1::3] = y0, y1
    return xs, ys


def _curves(x0, y0, x1, y1, bulge: float, pts: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Quadratic curves (for direct input->output edges, which skip the hidden layers)."""
    x0, y0, x1, y1 = (np.asarray(v, dtype=np.float64) for v in (x0, y0, x1, y1))
    t = np.linspace(0, 1, pts)[None, :]
    cx = (x0 + x1) / 2 + bulge * np.where(x1 >= x0, 1, -1)
    cy = (y0 + y1) / 2
    bx = (1 - t) ** 2 * x0[:, None] + 2 * (1 - t) * t * cx[:, None] + t ** 2 * x1[:, None]
    by = (1 - t) ** 2 * y0[:, None] + 2 * (1 - t) * t * cy[:, None] + t ** 2 * y1[:, None]
    gap = np.full((len(x0), 1), np.nan)
    return (np.hstack([bx, gap]).ravel().astype(np.float32), np.hstack([by, gap]).ravel().astype(np.float32))


def _line_trace(xs, ys, color: str, width: float, name: str, legend: bool = False, dash: str | None = None) -> dict:
    return _scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=width, dash=dash), hoverinfo="skip",
                      name=name, showlegend=legend, legendgroup=name)


def _rgba(hexcode: str, alpha: float) -> str:
    r, g, b = (int(hexcode[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.3f})"


def degree_colors(deg: np.ndarray, d: int) -> list[str]:
    """Colour of every degree on the shared degree scale (1..D)."""
    t = (np.asarray(deg, dtype=float) - 1) / max(d - 1, 1)
    return pcolors.sample_colorscale(DEGREE_SCALE, np.clip(t, 0, 1).tolist())


def _text_color(rgb: str) -> str:
    r, g, b = (float(v) for v in rgb[rgb.index("(") + 1:-1].split(","))
    return "#111827" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def _base_layout(fig: _Spec, height: int) -> None:
    fig.update_layout(height=height, margin=dict(l=86, r=16, t=34, b=10), font=FONT, plot_bgcolor="white",
                      paper_bgcolor="white", dragmode=False, hovermode="closest", clickmode="event+select",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, itemclick=False,
                                  itemdoubleclick=False, font=dict(size=13)))
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True)


def _layer_labels(fig: _Spec, ms: MaskSet) -> None:
    names = G.layer_names(ms)
    sizes = G.layer_sizes(ms)
    for l, (name, n) in enumerate(zip(names, sizes)):
        fig.add_annotation(x=0, xref="paper", y=l, yref="y", xanchor="right", xshift=-6, showarrow=False,
                           text=f"<b>{name}</b><br><span style='font-size:12px'>{n} units</span>", align="right")


def _conditional_label(ms: MaskSet, j: int) -> str:
    """p(x_j | the pixels before it), for tiny D."""
    pos = int(ms.degrees[0][j])
    before = [int(i) for i in ms.order[: pos - 1]]
    return f"p(x{j})" if not before else f"p(x{j} | {','.join(f'x{i}' for i in before)})"


# ---------------------------------------------------------------------------------------------
# the network

def network_figure(ms: MaskSet, *, tr: G.Trace | None = None, arrange: str = "natural",
                   aggregated: bool | None = None, height: int = 420, max_bins: int = 10,
                   plot_width: int = 580) -> go.Figure:
    """The masked network, inputs at the bottom and outputs at the top.

    tr: the traced unit(s) (highlighted: blue = reaches it, orange = reached from it, red = on a
        forbidden path through it); without a trace, red marks every edge on a forbidden path.
    arrange: "natural" (every layer in unit/pixel index order) or "order" (every layer sorted by
        degree, inputs and outputs in generation order).
    aggregated: bundle units by degree (None = when the network has more than EDGE_BUDGET edges).
    Node customdata = [layer, unit, bin] (unit = -1 for a bundle, bin = -1 for a unit)."""
    if aggregated is None:
        aggregated = G.edge_count(ms) > EDGE_BUDGET
    edges = G.trace_edges(ms, tr)
    if aggregated:
        return _aggregated_figure(ms, tr, edges, height, max_bins, plot_width)
    return _full_figure(ms, tr, edges, arrange, height, plot_width)


def _positions(ms: MaskSet, arrange: str) -> tuple[list[np.ndarray], int]:
    """x coordinate of every unit of every layer (centred; the widest layer has one slot per unit)."""
    degs = G.layer_degrees(ms)
    widest = max(len(d) for d in degs)
    xs = []
    for deg in degs:  # every layer spans the same width, so a narrow layer does not shrink to a clump
        n = len(deg)
        slot = np.empty(n)
        rank = np.argsort(deg, kind="stable") if arrange == "order" else np.arange(n)
        slot[rank] = np.arange(n)
        xs.append((slot / (n - 1) - 0.5) * (widest - 1) if n > 1 else np.zeros(1))
    return xs, widest


def _full_figure(ms: MaskSet, tr, edges: G.EdgeSets, arrange: str, height: int, plot_width: int) -> go.Figure:
    fig = _Spec()
    xs, widest = _positions(ms, arrange)
    degs = G.layer_degrees(ms)
    n_layers = len(degs)
    n_edges = G.edge_count(ms)
    tracing = tr is not None
    slot_px = (plot_width - 110) / max(widest, 1)
    node = float(np.clip(0.72 * slot_px, 7, 46))
    labels = node >= 17

    # --- edges: base, then traced, then forbidden (drawn on top)
    base_w = 2.2 if n_edges < 60 else 1.4 if n_edges < 400 else 0.8 if n_edges < 1500 else 0.5
    base_a = 0.75 if n_edges < 60 else 0.5 if n_edges < 400 else 0.3 if n_edges < 1500 else 0.18
    if tracing:
        base_a *= 0.35
    bulge = 0.35 * (widest + 1) / 2 + 0.5

    def draw(mats, direct, color, width, name, legend, alpha=1.0):
        px, py = [], []
        for l, m in enumerate(mats):
            a, b = np.nonzero(m)
            if len(a):
                sx, sy = _segments(xs[l][a], np.full(len(a), l), xs[l + 1][b], np.full(len(a), l + 1))
                px.append(sx), py.append(sy)
        if px:
            fig.add_trace(_line_trace(np.concatenate(px), np.concatenate(py), _rgba(color, alpha), width, name, legend))
        if direct is not None and direct.any():
            a, b = np.nonzero(direct)
            cx, cy = _curves(xs[0][a], np.zeros(len(a)), xs[-1][b], np.full(len(a), n_layers - 1), bulge)
            fig.add_trace(_line_trace(cx, cy, _rgba(DIRECT if color == EDGE else color, alpha), width,
                                      name + " (direct)", legend and color == EDGE, dash="dot"))

    draw(ms.masks, ms.direct, EDGE, base_w, "edge (mask = 1)", False, base_a)
    hi_w = max(base_w * 1.6, 1.8)
    if tracing:
        draw(edges.up, edges.up_direct, UP, hi_w, "reaches the traced unit", True, 0.9)
        draw(edges.down, edges.down_direct, DOWN, hi_w, "reached from it", True, 0.9)
    if edges.count_bad():
        draw(edges.bad, edges.bad_direct, BAD, hi_w + 0.6, "forbidden path", True, 0.95)

    # --- units
    reasons = G.unit_reasons(ms)
    fin, fout = G.fan_in_out(ms)
    names = G.layer_names(ms)
    X, Y, C, T, H, CD, OP, LC, LW, TC = [], [], [], [], [], [], [], [], [], []
    for l, deg in enumerate(degs):
        cols = degree_colors(deg, ms.d)
        touched = tr.touched(l) if tracing else None
        for k in range(len(deg)):
            why = reasons.get((l, k))
            col = DEAD if why else cols[k]
            X.append(xs[l][k]), Y.append(l), C.append(col)
            T.append(str(int(deg[k])) if labels else "")
            TC.append("#374151" if why else _text_color(cols[k]))
            what = f"pixel x{k}, position {int(deg[k])} in the order" if l in (0, n_layers - 1) else f"unit {k}"
            hover = (f"<b>{names[l]}</b> · {what}<br>degree m = {int(deg[k])}<br>"
                     f"fan-in {int(fin[l][k])} · fan-out {int(fout[l][k])}")
            if why:
                hover += f"<br><i>greyed: {why}</i>"
            H.append(hover + "<br><span style='font-size:11px'>click to trace</span>")
            CD.append((l, k, -1))
            is_src = tracing and l == tr.layer and k in tr.units
            if tracing and not touched[k]:
                OP.append(0.22)
            else:
                OP.append(1.0)
            if is_src:
                LC.append("#111827"), LW.append(4)
            elif tracing and tr.up[l][k]:
                LC.append(UP), LW.append(3)
            elif tracing and tr.down[l][k]:
                LC.append(DOWN), LW.append(3)
            else:
                LC.append("#ffffff"), LW.append(1.5)
    fig.add_trace(_scatter(
        x=X, y=Y, mode="markers+text" if labels else "markers", text=T, textposition="middle center",
        textfont=dict(color=TC, size=int(np.clip(node * 0.42, 11, 20))),
        marker=dict(size=node, color=C, opacity=OP, line=dict(color=LC, width=LW)),
        customdata=CD, hovertext=H, hoverinfo="text", name="units", showlegend=False,
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))))
    if not labels:  # the degree scale, since the numbers do not fit on the nodes
        fig.add_trace(_scatter(x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False,
                                 marker=dict(colorscale=DEGREE_SCALE, cmin=1, cmax=ms.d, color=[1], showscale=True,
                                             colorbar=dict(title=dict(text="degree", side="right"), thickness=12,
                                                           len=0.8, x=1.0))))

    # --- pixel names under the inputs and above the outputs, when there is room
    if labels and widest <= 24:
        fig.add_trace(_scatter(x=xs[0], y=np.full(ms.d, -0.28), mode="text", text=[f"x{k}" for k in range(ms.d)],
                                 hoverinfo="skip", showlegend=False, textfont=dict(size=15, color="#374151")))
        out_text = ([_conditional_label(ms, k) for k in range(ms.d)] if widest <= 5
                    else [f"x̂{k}" for k in range(ms.d)])
        fig.add_trace(_scatter(x=xs[-1], y=np.full(ms.d, n_layers - 1 + 0.3), mode="text", text=out_text,
                                 hoverinfo="skip", showlegend=False, textfont=dict(size=15, color="#374151")))
    _base_layout(fig, height)
    _layer_labels(fig, ms)
    half = (widest - 1) / 2 + 0.6 + (bulge if ms.direct is not None else 0) * 0.5
    fig.update_xaxes(range=[-half, half])
    fig.update_yaxes(range=[-0.55, n_layers - 1 + 0.55])
    return fig.build()


def _aggregated_figure(ms: MaskSet, tr, edges: G.EdgeSets, height: int, max_bins: int, plot_width: int) -> go.Figure:
    fig = _Spec()
    bun = G.bundle_by_degree(ms, max_bins)
    nb = bun.num_bins
    xb = np.arange(nb) - (nb - 1) / 2
    n_layers = G.num_layers(ms)
    last = n_layers - 1
    tracing = tr is not None

    def counts(mats, direct):
        out = [bun.bin_edges(m, l, l + 1) for l, m in enumerate(mats)]
        dc = None if direct is None else bun.bin_edges(direct, 0, last)
        return out, dc

    base, base_d = G.memo(ms, f"bundle_counts{max_bins}", lambda _: counts(ms.masks, ms.direct))
    cmax = max([int(c.max()) for c in base] + ([int(base_d.max())] if base_d is not None else []) + [1])

    def draw(cs, dc, color, name, legend, alpha, wmax):
        """Bundle edges: width classes (one trace per class), width ~ sqrt(count / cmax)."""
        items = []
        for l, c in enumerate(cs):
            a, b = np.nonzero(c)
            items += [(xb[i], l, xb[j], l + 1, c[i, j], False) for i, j in zip(a, b)]
        if dc is not None:
            a, b = np.nonzero(dc)
            items += [(xb[i], 0, xb[j], last, dc[i, j], True) for i, j in zip(a, b)]
        if not items:
            return
        classes = 6
        shown = False
        for cls in range(classes):
            for curved in (False, True):
                sel = [it for it in items if it[5] == curved
                       and min(int(math.sqrt(it[4] / cmax) * classes), classes - 1) == cls]
                if not sel:
                    continue
                x0, y0, x1, y1 = (np.array([it[q] for it in sel]) for q in range(4))
                px, py = _curves(x0, y0, x1, y1, 0.18 * nb + 0.5) if curved else _segments(x0, y0, x1, y1)
                w = 0.6 + wmax * (cls + 1) / classes
                fig.add_trace(_line_trace(px, py, _rgba(DIRECT if curved and color == EDGE else color, alpha), w,
                                          name, legend and not shown, dash="dot" if curved else None))
                shown = True

    draw(base, base_d, EDGE, "edges between bins", False, 0.15 if tracing else 0.3, 5)
    if tracing:
        draw(*counts(edges.up, edges.up_direct), UP, "reaches the traced unit", True, 0.85, 7)
        draw(*counts(edges.down, edges.down_direct), DOWN, "reached from it", True, 0.85, 7)
    if edges.count_bad():
        draw(*counts(edges.bad, edges.bad_direct), BAD, "forbidden path", True, 0.9, 7)

    # --- bundles
    names = G.layer_names(ms)
    reasons = G.unit_reasons(ms)
    fin, fout = G.fan_in_out(ms)
    cols = degree_colors((bun.lo + bun.hi) / 2, ms.d)
    maxc = max(int(c.max()) for c in bun.count)
    biggest = float(np.clip(0.85 * (plot_width - 110) / (nb + 1), 12, 44))
    X, Y, S, C, T, H, CD, OP, LC, LW, TC = [], [], [], [], [], [], [], [], [], [], []
    for l in range(n_layers):
        for b in np.nonzero(bun.count[l])[0]:
            units = bun.units_in(l, b)
            n = len(units)
            dead = sum((l, int(k)) in reasons for k in units)
            size = 8 + (biggest - 8) * math.sqrt(n / maxc)
            X.append(xb[b]), Y.append(l), S.append(size)
            C.append(DEAD if dead == n else cols[b])
            T.append(str(n) if size >= 20 else "")
            TC.append(_text_color(cols[b]) if dead < n else "#374151")
            kind = "positions" if l in (0, last) else "degrees"
            hover = (f"<b>{names[l]}</b> · {kind} {bun.label(b)}<br>{n} unit(s) · "
                     f"fan-in {int(fin[l][units].sum()):,} · fan-out {int(fout[l][units].sum()):,} edges")
            if dead:
                hover += f"<br><i>{dead} greyed unit(s): no input or no output</i>"
            OP.append(1.0)
            lc, lw = "#ffffff", 1.5
            if tracing:
                t_up, t_dn = int(tr.up[l][units].sum()), int(tr.down[l][units].sum())
                src = l == tr.layer and bool(set(units.tolist()) & set(tr.units))
                if src:
                    lc, lw = "#111827", 4
                elif t_up:
                    lc, lw = UP, 3
                elif t_dn:
                    lc, lw = DOWN, 3
                else:
                    OP[-1] = 0.25
                if t_up or t_dn:
                    hover += f"<br>traced: {max(t_up, t_dn)} of {n} units"
            LC.append(lc), LW.append(lw)
            H.append(hover + "<br><span style='font-size:11px'>click to trace this bundle</span>")
            CD.append((l, -1, int(b)))
    fig.add_trace(_scatter(
        x=X, y=Y, mode="markers+text", text=T, textposition="middle center", textfont=dict(color=TC, size=12),
        marker=dict(size=S, color=C, opacity=OP, line=dict(color=LC, width=LW)), customdata=CD, hovertext=H,
        hoverinfo="text", name="bundles", showlegend=False,
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))))
    _base_layout(fig, height)
    _layer_labels(fig, ms)
    label_px = 7.5 * max(len(bun.label(b)) for b in range(nb))
    step = 1 if label_px < 0.9 * (plot_width - 110) / (nb + 1) else 2
    fig.update_xaxes(visible=True, showgrid=False, zeroline=False, showline=False, ticks="",
                     tickvals=xb[::step].tolist(), ticktext=[bun.label(b) for b in range(0, nb, step)],
                     title=dict(text="degree bin (inputs/outputs: position in the order)", font=dict(size=13)),
                     tickfont=dict(size=12), tickangle=0, range=[xb[0] - 0.8, xb[-1] + 0.8 + (0.2 * nb if ms.direct is not None else 0)])
    fig.update_yaxes(range=[-0.5, last + 0.5])
    fig.update_layout(margin=dict(b=50))
    return fig.build()


def aggregated_summary(ms: MaskSet, max_bins: int = 10) -> str:
    """One honest sentence on what the bundled view hides."""
    bun = G.bundle_by_degree(ms, max_bins)
    n_edges = G.edge_count(ms)
    n_bundle_edges = sum(int((bun.bin_edges(m, l, l + 1) > 0).sum()) for l, m in enumerate(ms.masks))
    units = sum(G.layer_sizes(ms))
    return (f"{n_edges:,} edges between {units:,} units are too many to draw one by one: units are bundled "
            f"by degree ({bun.width} consecutive degree{'s' if bun.width > 1 else ''} per bubble, the number "
            f"in a bubble = its units) and edges between bundles are drawn once ({n_bundle_edges:,} lines, "
            f"width ~ number of edges). Individual units and edges are hidden; hover a bubble for its counts.")


# ---------------------------------------------------------------------------------------------
# heatmaps

def _block(z: np.ndarray, max_cells: int, how: str = "mean") -> tuple[np.ndarray, int]:
    """Block-reduce a 2-D array so neither side exceeds max_cells; returns (array, block size)."""
    f = max(1, -(-max(z.shape) // max_cells))
    if f == 1:
        return z, 1
    r, c = -(-z.shape[0] // f) * f, -(-z.shape[1] // f) * f
    pad = np.full((r, c), np.nan)
    pad[: z.shape[0], : z.shape[1]] = z
    blocks = pad.reshape(r // f, f, c // f, f)
    with warnings.catch_warnings():  # all-NaN blocks (outside the triangle) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmax(blocks, axis=(1, 3)) if how == "max" else np.nanmean(blocks, axis=(1, 3))
    return out, f


def _heat_layout(fig: _Spec, height: int, xtitle: str, ytitle: str) -> None:
    fig.update_layout(height=height, margin=dict(l=70, r=10, t=10, b=60), font=dict(size=14),
                      plot_bgcolor="white", paper_bgcolor="white")
    fig.update_xaxes(title=dict(text=xtitle, font=dict(size=14)), showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(title=dict(text=ytitle, font=dict(size=14)), showgrid=False, zeroline=False,
                     autorange="reversed", constrain="domain")


def _unit_axis_name(ms: MaskSet, layer: int, last: int) -> str:
    if layer == 0:
        return "input (position in order)"
    if layer == last:
        return "output (position in order)"
    return f"hidden {layer} unit (sorted by degree)"


def mask_figure(ms: MaskSet, l: int, height: int = 330, max_cells: int = MAX_CELLS) -> go.Figure:
    """Mask l (layer l -> layer l+1) as W is laid out: rows = receiving units, columns = sending
    units, both sorted by degree (inputs/outputs in generation order). Red = an edge on a
    forbidden path."""
    last = G.num_layers(ms) - 1
    degs = G.layer_degrees(ms)
    ri = np.argsort(degs[l], kind="stable")
    ro = np.argsort(degs[l + 1], kind="stable")
    m = ms.masks[l][np.ix_(ri, ro)].T.astype(np.float64)           # (fan_out, fan_in)
    bad_all, _ = G.forbidden_edges(ms)
    bad = bad_all[l][np.ix_(ri, ro)].T.astype(np.float64)
    z, f = _block(m, max_cells)
    zb, _ = _block(bad, max_cells, "max")
    zb = np.where(zb > 0, 1.0, np.nan)
    n_out, n_in = m.shape
    xs = (np.arange(z.shape[1]) * f + (f + 1) / 2).astype(np.float32)  # 1-based rank of the (block) centre
    ys = (np.arange(z.shape[0]) * f + (f + 1) / 2).astype(np.float32)
    fig = _Spec()
    if f == 1:
        din, dout = degs[l][ri], degs[l + 1][ro]
        cd = np.stack(np.broadcast_arrays(din[None, :], dout[:, None]), axis=-1)
        hover = ("from degree %{customdata[0]} (column %{x})<br>to degree %{customdata[1]} (row %{y})"
                 "<br>mask = %{z}<extra></extra>")
        fig.add_trace(_heatmap(x=xs, y=ys, z=z.astype(np.uint8), zmin=0, zmax=1, showscale=False, customdata=cd,
                                 hovertemplate=hover, colorscale=[[0, "#ffffff"], [1, "#1e3a8a"]], xgap=1 if n_in <= 40 else 0,
                                 ygap=1 if n_out <= 40 else 0))
    else:
        fig.add_trace(_heatmap(x=xs, y=ys, z=z.astype(np.float32), zmin=0, zmax=1, showscale=False,
                                 colorscale=[[0, "#ffffff"], [1, "#1e3a8a"]],
                                 hovertemplate=f"block of {f}×{f} entries around column %{{x}}, row %{{y}}"
                                               "<br>fraction of ones = %{z:.2f}<extra></extra>"))
    if np.isfinite(zb).any():
        fig.add_trace(_heatmap(x=xs, y=ys, z=zb.astype(np.float32), zmin=0, zmax=1, showscale=False,
                                 colorscale=[[0, BAD], [1, BAD]], hovertemplate="on a forbidden path<extra></extra>",
                                 xgap=1 if n_in <= 40 and f == 1 else 0, ygap=1 if n_out <= 40 and f == 1 else 0))
    _heat_layout(fig, height, _unit_axis_name(ms, l, last), _unit_axis_name(ms, l + 1, last))
    for axis, n, deg, idx in ((fig.update_xaxes, n_in, degs[l], ri), (fig.update_yaxes, n_out, degs[l + 1], ro)):
        if n <= 24:
            axis(tickvals=list(range(1, n + 1)), ticktext=[str(int(v)) for v in deg[idx]])
    return fig.build()


def connectivity_figure(ms: MaskSet, height: int = 330, max_cells: int = MAX_CELLS) -> go.Figure:
    """Path counts input -> output (the product of the masks), both axes in generation order:
    rows = output position, columns = input position. A MADE fills only the strict lower
    triangle; red cells are forbidden paths (input not before output)."""
    d = ms.d
    order = ms.order
    conn = ms.connectivity()[np.ix_(order, order)].T.astype(np.float64)  # [output pos, input pos]
    allowed = np.tril(np.ones((d, d), dtype=bool), k=-1)
    logc = np.log10(1 + conn)
    ok = np.where(allowed & (conn > 0), logc, np.where(allowed, 0.0, np.nan))
    bad = np.where(~allowed & (conn > 0), 1.0, np.nan)
    z, f = _block(ok, max_cells)
    zb, _ = _block(np.nan_to_num(bad, nan=0.0), max_cells, "max")
    zb = np.where(zb > 0, 1.0, np.nan)
    centres = (np.arange(z.shape[0]) * f + (f + 1) / 2).astype(np.float32)
    top = max(float(np.nanmax(logc)) if np.isfinite(logc).any() else 1.0, 1e-9)
    ticks = [v for v in range(0, int(math.floor(top)) + 1)]
    fig = _Spec()
    if f == 1:
        cd = np.stack(np.broadcast_arrays(order[None, :], order[:, None], conn), axis=-1)
        hover = ("input x%{customdata[0]} (position %{x})<br>→ output x%{customdata[1]} (position %{y})"
                 "<br>%{customdata[2]:,.0f} path(s)<extra></extra>")
        kw = dict(customdata=cd, hovertemplate=hover)
    else:
        kw = dict(hovertemplate=f"block of {f}×{f} around input position %{{x}}, output position %{{y}}"
                                "<br>mean log10(1 + paths) = %{z:.1f}<extra></extra>")
    fig.add_trace(_heatmap(
        x=centres, y=centres, z=z.astype(np.float32), zmin=0, zmax=max(top, 0.3),
        colorscale=[[0, "#f8fafc"], [1e-6, "#dbeafe"], [1, "#1e3a8a"]],
        colorbar=dict(title=dict(text="paths", side="right"), thickness=12, len=0.85,
                      tickvals=ticks, ticktext=[f"{10 ** v:,}" if v < 4 else f"1e{v}" for v in ticks]),
        xgap=1 if d <= 40 and f == 1 else 0, ygap=1 if d <= 40 and f == 1 else 0, **kw))
    if np.isfinite(zb).any():
        fig.add_trace(_heatmap(x=centres, y=centres, z=zb.astype(np.float32), zmin=0, zmax=1, showscale=False,
                                 colorscale=[[0, BAD], [1, BAD]], xgap=1 if d <= 40 and f == 1 else 0,
                                 ygap=1 if d <= 40 and f == 1 else 0,
                                 hovertemplate="forbidden: output at position %{y} sees input at position %{x}"
                                               "<extra></extra>"))
    fig.add_shape(type="line", x0=0.5, y0=0.5, x1=d + 0.5, y1=d + 0.5, line=dict(color="#6b7280", width=1.5, dash="dot"))
    _heat_layout(fig, height, "input (position in order)", "output (position in order)")
    if d <= 24:
        labels = [f"{t + 1}: x{int(order[t])}" for t in range(d)] if d <= 8 else [str(t + 1) for t in range(d)]
        fig.update_xaxes(tickvals=list(range(1, d + 1)), ticktext=labels)
        fig.update_yaxes(tickvals=list(range(1, d + 1)), ticktext=labels)
    fig.update_xaxes(range=[0.5, d + 0.5])
    fig.update_yaxes(range=[d + 0.5, 0.5], autorange=False, scaleanchor="x")
    return fig.build()


# ---------------------------------------------------------------------------------------------
# what a traced unit sees, as images

# categories of a pixel relative to a traced output (or input)
AFTER, SEEN, STARVED, SELF, FORBIDDEN, FED = 0, 1, 2, 3, 4, 5
_CAT_COLORS = {AFTER: "#ffffff", SEEN: UP, STARVED: "#fbbf24", SELF: "#111827", FORBIDDEN: BAD, FED: DOWN}
_CAT_NAMES = {SEEN: "reaches it", STARVED: "before it, yet no path", FORBIDDEN: "connected, but must not be",
              SELF: "the pixel itself", AFTER: "not connected", FED: "depends on it"}


def dependency_categories(ms: MaskSet, tr: G.Trace) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-pixel categories of the inputs the traced unit(s) see and of the outputs they feed
    (None when that side is not meaningful: the inputs of a traced input, the outputs of an output).

    Judged per traced unit u: an input may reach output u only from an earlier position, and hidden
    unit u (degree m) only from positions <= m; an output may depend on input u only from a later
    position, and on hidden unit u only from a position > m."""
    last = G.num_layers(ms) - 1
    pos = ms.degrees[0].astype(np.float32)
    deg = G.layer_degrees(ms)[tr.layer][list(tr.units)].astype(np.float32)
    is_src = np.zeros(ms.d, dtype=bool)
    seen = feeds = None
    if tr.layer != 0:  # which inputs reach it
        hit = tr.up[0]
        first = G.min_over_reached_sources(ms, tr, deg)[0]   # smallest degree among the sources i reaches
        strict = tr.layer == last                              # an output needs pos < m, a hidden unit pos <= m
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
        latest = G.max_over_reaching_sources(ms, tr, deg)[-1]  # largest degree among the sources reaching j
        cat = np.full(ms.d, AFTER, dtype=np.int64)
        if tr.layer == 0:
            is_src[list(tr.units)] = True
            cat[is_src & ~hit] = SELF
        cat[hit] = FED
        cat[hit & (pos <= latest)] = FORBIDDEN
        feeds = cat
    return seen, feeds


def dependency_legend(ms: MaskSet, tr: G.Trace) -> list[tuple[str, str]]:
    """(colour, meaning) of the categories present in `dependency_figure`, for a legend line."""
    cats = [c for c in dependency_categories(ms, tr) if c is not None]
    present = sorted(set(np.concatenate(cats).tolist()) - {AFTER}) + [AFTER]
    return [(_CAT_COLORS[k], _CAT_NAMES[k]) for k in present]


def dependency_figure(ms: MaskSet, tr: G.Trace, shape: tuple[int, int] | None, width: int = 270) -> go.Figure:
    """The traced unit's inputs ('which pixels does it see') and/or outputs ('which conditionals
    does it feed') as h x w images, coloured by category (see `dependency_legend`)."""
    shape = shape or (1, ms.d)
    seen, feeds = dependency_categories(ms, tr)
    panels = [(t, c) for t, c in (("pixels it sees", seen), ("outputs it feeds", feeds)) if c is not None]
    nc = len(_CAT_COLORS)
    flat = []  # piecewise-constant colour scale over the category codes
    for i in range(nc):
        flat += [[i / nc, _CAT_COLORS[i]], [(i + 1) / nc, _CAT_COLORS[i]]]
    h, w = shape
    fig = _Spec()
    gap = 0.08 if len(panels) == 2 else 0.0
    span = (1 - gap) / len(panels)
    for c, (title, cat) in enumerate(panels):
        ax = "" if c == 0 else str(c + 1)
        text = np.array([f"x{p}: {_CAT_NAMES[int(k)]}" for p, k in enumerate(cat)]).reshape(h, w)
        fig.add_trace(dict(type="heatmap", z=cat.reshape(h, w).astype(np.float32) + 0.5, zmin=0, zmax=nc,
                           colorscale=flat, showscale=False, text=text, hovertemplate="%{text}<extra></extra>",
                           xgap=1, ygap=1, xaxis=f"x{ax}", yaxis=f"y{ax}"))
        lo = c * (span + gap)
        fig.update_layout(**{f"xaxis{ax}": dict(domain=[lo, lo + span], visible=False, constrain="domain",
                                                 fixedrange=True),
                             f"yaxis{ax}": dict(visible=False, autorange="reversed", scaleanchor=f"x{ax}",
                                                constrain="domain", fixedrange=True)})
        fig.add_annotation(text=title, x=lo + span / 2, xref="paper", y=1, yref="paper", yanchor="bottom",
                           showarrow=False, font=dict(size=14))
    img_h = min((width / len(panels) - 12) * h / w, 150)
    fig.update_layout(height=int(img_h + 30), margin=dict(l=4, r=4, t=26, b=4), font=dict(size=13),
                      plot_bgcolor="white", paper_bgcolor="white", dragmode=False, showlegend=False)
    return fig.build()


# ---------------------------------------------------------------------------------------------
# formulas

def chain_rule_latex(ms: MaskSet, max_terms: int = 6) -> str:
    """p(x) = p(x_1) p(x_2 | x_1) ... in the current ordering (written out for small D)."""
    order = [int(i) for i in ms.order]
    if len(order) > max_terms:
        return (r"p(\mathbf{x}) = \prod_{t=1}^{D} p\big(x_{o(t)} \mid x_{o(1)}, \dots, x_{o(t-1)}\big),"
                rf"\quad o = ({', '.join(map(str, order[:4]))}, \dots)")
    terms = []
    for t, j in enumerate(order):
        before = ",".join(f"x_{{{i}}}" for i in order[:t])
        terms.append(f"p(x_{{{j}}})" if not before else f"p(x_{{{j}}} \\mid {before})")
    return r"p(\mathbf{x}) = " + r"\,".join(terms)
