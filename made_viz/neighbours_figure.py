"""Nearest neighbours, is the model copying? Each sample beside its nearest training image, with
their Hamming distance (plotly, numpy; no streamlit, no torch)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .images import GAP, INK, PAPER, Grid, image_hw
from .sample_colours import CLEAR, CURRENT, NEIGHBOUR_INK


def neighbours_figure(
    samples: np.ndarray,
    neighbours: np.ndarray,
    distances: np.ndarray,
    shape: tuple[int, int] | None,
    cols: int | None = None,
    height: int = 400,
    log_probs: np.ndarray | None = None,
) -> go.Figure:
    """Each sample (black) beside its nearest training image (blue), Hamming distance below."""
    samples, neighbours = np.asarray(samples), np.asarray(neighbours)
    n, d = samples.shape
    h, w = image_hw(shape, d)
    cols = cols or math.ceil(math.sqrt(n))
    pair = Grid(2, h, w, 2, 1, 1)  # one sample + its neighbour
    ph, pw = pair.size
    outer = Grid(n, ph, pw, cols, max(2, math.ceil(0.25 * w)), max(2, math.ceil(0.3 * h)))
    canvas = np.full(outer.size, np.nan)
    for i in range(n):
        tile2 = pair.mosaic(np.stack([samples[i], 2 * neighbours[i]]), fill=np.nan)
        r0, c0 = outer.origin(i)
        canvas[r0 : r0 + ph, c0 : c0 + pw] = tile2
    scale = [[0, PAPER], [0.25, PAPER], [0.25, INK], [0.75, INK], [0.75, NEIGHBOUR_INK], [1, NEIGHBOUR_INK]]
    fig = go.Figure(go.Heatmap(z=canvas, zmin=-0.5, zmax=2.5, colorscale=scale, showscale=False, hoverinfo="skip"))
    outline = dict(type="rect", line=dict(color=GAP, width=1), fillcolor=CLEAR, layer="below")
    shapes = [
        dict(outline, x0=c0 + dc - 0.5, x1=c0 + dc + w - 0.5, y0=r0 - 0.5, y1=r0 + h - 0.5)
        for r0, c0 in (outer.origin(i) for i in range(n))
        for dc in (0, w + 1)
    ]
    tx, ty, text, colors, hover = [], [], [], [], []
    for i in range(n):
        r0, c0 = outer.origin(i)
        tx.append(c0 + pw / 2 - 0.5)
        ty.append(r0 + ph + outer.pad_y / 2 - 0.5)
        dist = int(distances[i])
        text.append(f"{dist} px" if dist else "0 px: a copy!")
        colors.append(CURRENT if dist == 0 else INK)
        lp = f"<br>log p = {log_probs[i]:.1f} nats" if log_probs is not None else ""
        hover.append(f"sample {i}: Hamming distance {dist} ({dist / d:.0%} of pixels){lp}")
    fig.add_trace(
        go.Scatter(
            x=tx, y=ty, mode="text", text=text, textfont=dict(size=13, color=colors), hovertext=hover, hoverinfo="text"
        )
    )
    oh, ow = outer.size
    fig.update_yaxes(visible=False, range=[oh + outer.pad_y - 0.5, -0.5], scaleanchor="x", constrain="domain")
    fig.update_xaxes(visible=False, range=[-0.5, ow - 0.5], constrain="domain")
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        showlegend=False,
        shapes=shapes,
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    return fig
