"""The image after the reveal of a "see" question: each pixel right, missed or extra, told apart by
colour AND marker (so they read in grey print and for colour-blind eyes)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

NOT_SEEN, RIGHT, MISSED, EXTRA = 0, 1, 2, 3
# category: (name, marker colour, marker, cell tint)
REVEAL_STYLE = {
    RIGHT: ("right", "#15803d", "circle", "#bbf7d0"),
    MISSED: ("missed", "#c2410c", "x-thin-open", "#fed7aa"),
    EXTRA: ("extra", "#6d28d9", "triangle-up-open", "#ddd6fe"),
}


def reveal_categories(truth: np.ndarray, guess: np.ndarray) -> np.ndarray:
    truth, guess = np.asarray(truth, bool).ravel(), np.asarray(guess, bool).ravel()
    return np.where(truth & guess, RIGHT, np.where(truth, MISSED, np.where(guess, EXTRA, NOT_SEEN)))


def reveal_figure(
    cats: np.ndarray, positions: np.ndarray, shape: tuple[int, int] | None, target: int | None, height: int = 420
) -> go.Figure:
    """The image grid after the reveal: each pixel's category by colour and by marker, its order
    position written in the cell (D <= 100), the asked output's own pixel outlined."""
    d = len(cats)
    h, w = (1, d) if shape is None else shape
    rows, cols = np.divmod(np.arange(d), w)
    colours = ["#f3f4f6"] + [REVEAL_STYLE[c][3] for c in (RIGHT, MISSED, EXTRA)]
    scale = [[v, colours[int(k)]] for k in range(4) for v in (k / 4, (k + 1) / 4)]
    fig = go.Figure(
        go.Heatmap(
            z=(cats.astype(float) + 0.5).reshape(h, w) / 4,
            zmin=0,
            zmax=1,
            colorscale=scale,
            showscale=False,
            xgap=1,
            ygap=1,
            customdata=positions.reshape(h, w),
            hovertemplate="position %{customdata}<extra></extra>",
        )
    )
    _add_marks(fig, cats, positions, (rows, cols), (height - 40) / h)
    if target is not None:
        fig.add_shape(
            type="rect",
            x0=target % w - 0.5,
            x1=target % w + 0.5,
            y0=target // w - 0.5,
            y1=target // w + 0.5,
            line=dict(color="#111827", width=4, dash="dot"),
        )
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain", fixedrange=True)
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5], constrain="domain", fixedrange=True)
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        legend=dict(orientation="h", y=-0.02, yanchor="top", font=dict(size=18)),
    )
    return fig


def _add_marks(fig: go.Figure, cats: np.ndarray, positions: np.ndarray, rc: tuple, cell: float) -> None:
    """Each category's markers (one trace each, named with its count for the legend) and, for D <= 100,
    every pixel's order position in its cell; `cell` is a cell's height in px."""
    rows, cols = rc
    size = max(8, int(0.38 * cell))
    numbered = len(cats) <= 100  # then the marker sits top left and the position bottom right, neither hides the other
    shift = 0.2 if numbered else 0.0
    for cat, (name, colour, symbol, _) in REVEAL_STYLE.items():
        on = cats == cat
        fig.add_trace(
            go.Scatter(
                x=cols[on] - shift,
                y=rows[on] - shift,
                mode="markers",
                name=f"{name} ({int(on.sum())})",
                marker=dict(symbol=symbol, size=size, color=colour, line=dict(width=3, color=colour)),
                hoverinfo="skip",
            )
        )
    if numbered:
        fig.add_trace(
            go.Scatter(
                x=cols + 0.18,
                y=rows + 0.2,
                mode="text",
                text=[str(p) for p in positions],
                showlegend=False,
                textfont=dict(size=max(11, int(0.3 * cell)), color="#111827"),
                hoverinfo="skip",
            )
        )
