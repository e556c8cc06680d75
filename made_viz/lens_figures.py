"""Figures of the likelihood lens (plotly, numpy; no streamlit, no torch): where the model is
surprised, pixel by pixel, beside the independent-pixel baseline; the running sum of the surprise
along the generation order (the chain rule); a clickable canvas to draw an image on.

The numbers come from made_viz.model.model_surprise (the model) and made_viz.metrics
(the baseline); these builders only draw them.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .images import GAP, GIVEN_INK, GIVEN_PAPER, INK, PAPER, as_images, image_hw

SURPRISE_SCALE = [[0.0, "#ffffff"], [0.15, "#fef08a"], [0.45, "#f97316"], [0.75, "#dc2626"], [1.0, "#450a0a"]]


def lens_figure(
    model_map: np.ndarray,
    base_map: np.ndarray | None,
    shape: tuple[int, int] | None,
    height: int = 360,
    cap: float | None = None,
) -> go.Figure:
    """Heat maps of per-pixel surprise (nats) on one colour scale: MADE | independent pixels
    (the second panel is left out when there is no baseline)."""
    maps = [("MADE", np.ravel(model_map))] + ([] if base_map is None else [("Independent pixels", np.ravel(base_map))])
    both = np.concatenate([m for _, m in maps])
    hi = cap or max(2.0, float(np.percentile(both, 99.5)))
    fig = make_subplots(
        1, len(maps), horizontal_spacing=0.06, subplot_titles=[f"{name}: Σ = {m.sum():.2f} nats" for name, m in maps]
    )
    for col, (_, m) in enumerate(maps, 1):
        fig.add_trace(
            go.Heatmap(
                z=as_images(m, shape)[0],
                zmin=0,
                zmax=hi,
                colorscale=SURPRISE_SCALE,
                showscale=col == len(maps),
                colorbar=dict(title=dict(text="nats", side="top"), thickness=12, len=0.85),
                hovertemplate="row %{y}, col %{x}<br>−log p = %{z:.2f} nats<extra></extra>",
            ),
            1,
            col,
        )
        fig.update_xaxes(visible=False, constrain="domain", row=1, col=col)
        fig.update_yaxes(
            visible=False,
            autorange="reversed",
            scaleanchor="x" if col == 1 else f"x{col}",
            constrain="domain",
            row=1,
            col=col,
        )
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=40, b=0),
        font=dict(size=14),
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def chain_rule_figure(
    model_map: np.ndarray, base_map: np.ndarray | None, order: np.ndarray, height: int = 230
) -> go.Figure:
    """Running sum of the surprise along the generation order: each curve ends at -log p(x)."""
    order = np.asarray(order)
    steps = np.arange(1, len(order) + 1)
    fig = go.Figure()
    curves = [("MADE", np.ravel(model_map), INK)]
    if base_map is not None:
        curves.append(("independent pixels", np.ravel(base_map), "#f97316"))
    for name, m, color in curves:
        cum = np.cumsum(m[order])
        fig.add_trace(
            go.Scatter(
                x=steps, y=cum, mode="lines", name=f"{name}: {cum[-1]:.1f} nats", line=dict(color=color, width=2.5)
            )
        )
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=10, b=0),
        font=dict(size=13),
        xaxis_title="step t of the order",
        yaxis_title="Σ surprise so far (nats)",
        legend=dict(x=0.01, y=0.99, bgcolor="rgba(255,255,255,0.7)"),
    )
    return fig


def canvas_figure(
    x: np.ndarray, shape: tuple[int, int] | None, height: int = 330, known: np.ndarray | None = None
) -> go.Figure:
    """One image with an invisible clickable marker on every pixel (customdata = pixel index):
    clicking a pixel selects its point (Streamlit turns clicks into selections when the drag mode
    is not box/lasso select; the axes are fixed, so dragging does nothing). `known` tints given
    pixels amber."""
    x = np.ravel(np.asarray(x))
    d = len(x)
    h, w = image_hw(shape, d)
    z = x.astype(np.float64) + (0 if known is None else 2 * np.ravel(known))
    scale = [
        [0, PAPER],
        [0.25, PAPER],
        [0.25, INK],
        [0.5, INK],
        [0.5, GIVEN_PAPER],  # codes 0..3
        [0.75, GIVEN_PAPER],
        [0.75, GIVEN_INK],
        [1, GIVEN_INK],
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z.reshape(h, w),
            zmin=-0.5,
            zmax=3.5,
            colorscale=scale,
            showscale=False,
            hoverinfo="skip",
            xgap=0.5,
            ygap=0.5,
        )
    )
    idx = np.arange(d)
    fig.add_trace(
        go.Scatter(
            x=idx % w,
            y=idx // w,
            customdata=idx,
            mode="markers",
            marker=dict(symbol="square", size=max(4, int(0.8 * (height - 20) / h)), color="rgba(0,0,0,0)"),
            selected=dict(marker=dict(opacity=1)),
            unselected=dict(marker=dict(opacity=1)),
            hovertemplate="pixel (row %{y}, col %{x})<extra></extra>",
        )
    )
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain", fixedrange=True)
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5], constrain="domain", fixedrange=True)
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        plot_bgcolor=GAP,
        paper_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
    )
    return fig
