"""Heatmaps of the masks and of their product (no streamlit, no torch).

- `mask_figure`: one mask as W is laid out (rows receive, columns send), units sorted by degree,
  so the staircase of the degree rule shows;
- `direct_mask_figure`: the direct input -> output mask (when direct connections are on);
- `connectivity_figure`: path counts input -> output, both axes in generation order: a MADE fills
  only the strict lower triangle.
Red marks entries on a forbidden path. Heatmaps larger than MAX_CELLS per side are block-reduced.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import plotly.graph_objects as go

from .forbidden import forbidden_edges
from .layers import layer_degrees, num_layers
from .masks import MaskSet
from .plot_parts import BAD, Spec, heatmap

MAX_CELLS = 160  # heatmaps larger than this per side are block-averaged
_MASK_SCALE = [[0, "#ffffff"], [1, "#1e3a8a"]]


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


def _heat_layout(fig: Spec, height: int, xtitle: str, ytitle: str) -> None:
    fig.update_layout(
        height=height,
        margin=dict(l=70, r=10, t=10, b=60),
        font=dict(size=14),
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    fig.update_xaxes(title=dict(text=xtitle, font=dict(size=14)), showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(
        title=dict(text=ytitle, font=dict(size=14)),
        showgrid=False,
        zeroline=False,
        autorange="reversed",
        constrain="domain",
    )


def _unit_axis_name(ms: MaskSet, layer: int, last: int) -> str:
    if layer == 0:
        return "input (position in order)"
    if layer == last:
        return "output (position in order)"
    return f"hidden {layer} unit (sorted by degree)"


def _mask_heatmap(
    fig: Spec, m: np.ndarray, bad: np.ndarray, din: np.ndarray, dout: np.ndarray, max_cells: int
) -> tuple[int, int]:
    """Draw a (receiving x sending) 0/1 matrix and its forbidden entries in red; returns its shape."""
    z, f = _block(m, max_cells)
    zb, _ = _block(bad, max_cells, "max")
    zb = np.where(zb > 0, 1.0, np.nan)
    n_out, n_in = m.shape
    xs = (np.arange(z.shape[1]) * f + (f + 1) / 2).astype(np.float32)  # 1-based rank of the (block) centre
    ys = (np.arange(z.shape[0]) * f + (f + 1) / 2).astype(np.float32)
    if f == 1:
        cd = np.stack(np.broadcast_arrays(din[None, :], dout[:, None]), axis=-1)
        hover = (
            "from degree %{customdata[0]} (column %{x})<br>to degree %{customdata[1]} (row %{y})"
            "<br>mask = %{z}<extra></extra>"
        )
        fig.add_trace(
            heatmap(
                x=xs,
                y=ys,
                z=z.astype(np.uint8),
                zmin=0,
                zmax=1,
                showscale=False,
                customdata=cd,
                hovertemplate=hover,
                colorscale=_MASK_SCALE,
                xgap=1 if n_in <= 40 else 0,
                ygap=1 if n_out <= 40 else 0,
            )
        )
    else:
        fig.add_trace(
            heatmap(
                x=xs,
                y=ys,
                z=z.astype(np.float32),
                zmin=0,
                zmax=1,
                showscale=False,
                colorscale=_MASK_SCALE,
                hovertemplate=f"block of {f}×{f} entries around column %{{x}}, row %{{y}}"
                "<br>fraction of ones = %{z:.2f}<extra></extra>",
            )
        )
    if np.isfinite(zb).any():
        fig.add_trace(
            heatmap(
                x=xs,
                y=ys,
                z=zb.astype(np.float32),
                zmin=0,
                zmax=1,
                showscale=False,
                colorscale=[[0, BAD], [1, BAD]],
                hovertemplate="on a forbidden path<extra></extra>",
                xgap=1 if n_in <= 40 and f == 1 else 0,
                ygap=1 if n_out <= 40 and f == 1 else 0,
            )
        )
    return n_out, n_in


def _degree_ticks(fig: Spec, n_in: int, n_out: int, din: np.ndarray, dout: np.ndarray) -> None:
    """Label small axes with the units' degrees (positions, for inputs and outputs)."""
    for axis, n, deg in ((fig.update_xaxes, n_in, din), (fig.update_yaxes, n_out, dout)):
        if n <= 24:
            axis(tickvals=list(range(1, n + 1)), ticktext=[str(int(v)) for v in deg])


def mask_figure(ms: MaskSet, l: int, height: int = 330, max_cells: int = MAX_CELLS) -> go.Figure:
    """Mask l (layer l -> layer l+1) as W is laid out: rows = receiving units, columns = sending
    units, both sorted by degree (inputs/outputs in generation order). Red = an edge on a
    forbidden path."""
    last = num_layers(ms) - 1
    degs = layer_degrees(ms)
    ri = np.argsort(degs[l], kind="stable")
    ro = np.argsort(degs[l + 1], kind="stable")
    m = ms.masks[l][np.ix_(ri, ro)].T.astype(np.float64)  # (fan_out, fan_in)
    bad_all, _ = forbidden_edges(ms)
    bad = bad_all[l][np.ix_(ri, ro)].T.astype(np.float64)
    fig = Spec()
    din, dout = degs[l][ri], degs[l + 1][ro]
    n_out, n_in = _mask_heatmap(fig, m, bad, din, dout, max_cells)
    _heat_layout(fig, height, _unit_axis_name(ms, l, last), _unit_axis_name(ms, l + 1, last))
    _degree_ticks(fig, n_in, n_out, din, dout)
    return fig.build()


def direct_mask_figure(ms: MaskSet, height: int = 330, max_cells: int = MAX_CELLS) -> go.Figure:
    """The direct input -> output mask, laid out like the other masks: rows = outputs, columns =
    inputs, both in generation order, so a MADE's direct mask is the strict lower triangle
    (input t feeds output s iff t comes before s). Red = an entry on a forbidden path."""
    if ms.direct is None:
        raise ValueError("this network has no direct input -> output connections (turn them on first).")
    pos = ms.degrees[0]
    r = np.argsort(pos, kind="stable")  # generation order
    m = ms.direct[np.ix_(r, r)].T.astype(np.float64)  # [output position, input position]
    _, bad_direct = forbidden_edges(ms)
    fig = Spec()
    n_out, n_in = _mask_heatmap(fig, m, bad_direct[np.ix_(r, r)].T.astype(np.float64), pos[r], pos[r], max_cells)
    _heat_layout(fig, height, "input (position in order)", "output (position in order)")
    _degree_ticks(fig, n_in, n_out, pos[r], pos[r])
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
    fig = Spec()
    if f == 1:
        cd = np.stack(np.broadcast_arrays(order[None, :], order[:, None], conn), axis=-1)
        hover = (
            "input x%{customdata[0]} (position %{x})<br>→ output x%{customdata[1]} (position %{y})"
            "<br>%{customdata[2]:,.0f} path(s)<extra></extra>"
        )
        kw = dict(customdata=cd, hovertemplate=hover)
    else:
        kw = dict(
            hovertemplate=f"block of {f}×{f} around input position %{{x}}, output position %{{y}}"
            "<br>mean log10(1 + paths) = %{z:.1f}<extra></extra>"
        )
    fig.add_trace(
        heatmap(
            x=centres,
            y=centres,
            z=z.astype(np.float32),
            zmin=0,
            zmax=max(top, 0.3),
            colorscale=[[0, "#f8fafc"], [1e-6, "#dbeafe"], [1, "#1e3a8a"]],
            colorbar=dict(
                title=dict(text="paths", side="right"),
                thickness=12,
                len=0.85,
                tickvals=ticks,
                ticktext=[f"{10**v:,}" if v < 4 else f"1e{v}" for v in ticks],
            ),
            xgap=1 if d <= 40 and f == 1 else 0,
            ygap=1 if d <= 40 and f == 1 else 0,
            **kw,
        )
    )
    if np.isfinite(zb).any():
        fig.add_trace(
            heatmap(
                x=centres,
                y=centres,
                z=zb.astype(np.float32),
                zmin=0,
                zmax=1,
                showscale=False,
                colorscale=[[0, BAD], [1, BAD]],
                xgap=1 if d <= 40 and f == 1 else 0,
                ygap=1 if d <= 40 and f == 1 else 0,
                hovertemplate="forbidden: output at position %{y} sees input at position %{x}<extra></extra>",
            )
        )
    fig.add_shape(
        type="line", x0=0.5, y0=0.5, x1=d + 0.5, y1=d + 0.5, line=dict(color="#6b7280", width=1.5, dash="dot")
    )
    _heat_layout(fig, height, "input (position in order)", "output (position in order)")
    if d <= 24:
        labels = [f"{t + 1}: x{int(order[t])}" for t in range(d)] if d <= 8 else [str(t + 1) for t in range(d)]
        fig.update_xaxes(tickvals=list(range(1, d + 1)), ticktext=labels)
        fig.update_yaxes(tickvals=list(range(1, d + 1)), ticktext=labels)
    fig.update_xaxes(range=[0.5, d + 0.5])
    fig.update_yaxes(range=[d + 0.5, 0.5], autorange=False, scaleanchor="x")
    return fig.build()
