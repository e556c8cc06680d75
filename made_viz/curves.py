"""Plotly figures for the Train page (no streamlit): NLL curves with reference lines, the data
preview, and what the model currently predicts.

Units: the library works in nats per example (like the paper). The curves can also be shown in
bits per dimension, bpd = NLL / (D ln 2), which puts images of different sizes on one scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go

from .images import grid_figure, image_hw, image_layout
from .metrics import UNITS, to_unit  # noqa: F401  (re-exported: callers use curves.to_unit)
from .plot_parts import plain_figure
from .style import FONT

# plotly.js's own "Greys" runs the other way (black to white): the figures are sent unvalidated
# (plot_parts.plain_figure), so the named scale is spelt out as plotly's validation would
GREYS = [[float(v), c] for v, c in pcolors.get_colorscale("Greys")]

TRAIN_COLOR = "#2563eb"
VALID_COLOR = "#dc2626"
REF_COLORS = ("#6b7280", "#059669", "#9333ea", "#d97706", "#0891b2")


def axis_end(x: float, epochs: float | None = None) -> float:
    """End of the epoch axis for curves that reach x: the next "nice" value (1, 2, 5 x 10^k) above
    1.25 x, capped at the planned number of epochs (and never below x)."""
    target = max(1.25 * x, 1.0)
    nice = min(m * 10**e for e in range(0, 8) for m in (1, 2, 5) if m * 10**e >= target)
    return max(min(float(nice), float(epochs)) if epochs else float(nice), float(x), 1.0)


def epoch_ticks(x_max: float) -> dict:
    """Ticks on whole epochs: on a short axis (the idle chart's 0..1, the first epochs) one per epoch,
    where plotly would pick 0.2 or 0.5; longer axes get plotly's own whole-number steps (2, 5, 10, …)."""
    return dict(tick0=0, dtick=1) if x_max <= 10 else dict(tickformat="d")


def unit_label(unit: str) -> str:
    return "NLL (nats per example)" if unit == "nats" else "NLL (bits per dimension)"


@dataclass(frozen=True)
class Reference:
    """A horizontal line on the NLL chart, e.g. the independent-Bernoulli baseline."""

    label: str
    nats: float  # value in nats per example
    note: str = ""  # shown on hover


def reference_lines(bernoulli_nll: float | None = None, entropy: float | None = None) -> list[Reference]:
    """The two yardsticks of the Train page.

    bernoulli_nll: test NLL of independent Bernoulli pixels fitted to the training data — a
        model that learns anything about how pixels go together must beat it.
    entropy: the exact entropy of a generated data set — no model can go below it on average.
    """
    out = []
    if bernoulli_nll is not None and math.isfinite(bernoulli_nll):
        out.append(
            Reference(
                "independent pixels", float(bernoulli_nll), "each pixel on its own: the baseline every model must beat"
            )
        )
    if entropy is not None and math.isfinite(entropy):
        out.append(
            Reference("exact entropy (floor)", float(entropy), "the best any model can do on this generated data")
        )
    return out


def legend_layout(entries: int) -> dict:
    """A horizontal legend above the chart; with more than four entries (MNIST's published lines) two
    per row, which takes half the height of plotly's own wrapping of long names, one per row."""
    if entries <= 4:
        return dict(orientation="h", yanchor="bottom", y=1.0, x=0, font=dict(size=13))
    return dict(
        orientation="h", yanchor="bottom", y=1.0, x=0, font=dict(size=12), entrywidth=0.5, entrywidthmode="fraction"
    )


def nll_figure(
    train_points: Sequence[tuple[float, float]],
    valid_points: Sequence[tuple[float, float]],
    d: int,
    *,
    unit: str = "nats",
    references: Sequence[Reference] = (),
    epochs: float | None = None,
    height: int = 330,
) -> go.Figure:
    """Training and validation NLL against epochs, with horizontal reference lines.

    train_points: (epoch, NLL nats) pairs, e.g. one per minibatch (x may be fractional).
    valid_points: (epoch, NLL nats) pairs, one per finished epoch.
    references: horizontal lines (label + value in nats), converted to `unit` like the curves.
    epochs: planned number of epochs: the x axis grows with the curves (a quarter ahead of them,
        in steps, so it does not jump at every redraw) up to this.
    Built as one dict (plotly validates it once): cheap enough to redraw twice a second.
    """
    x_last = max([float(p[0]) for p in train_points[-1:]] + [float(p[0]) for p in valid_points[-1:]], default=0.0)
    x_max = axis_end(x_last, epochs)
    fmt = ".2f" if unit == "nats" else ".4f"
    data = []
    if len(train_points):
        tp = np.asarray(train_points, dtype=float)  # arrays: plotly copies and serializes them cheaply
        data.append(
            dict(
                type="scatter",
                x=tp[:, 0],
                y=to_unit(tp[:, 1], d, unit),
                name="training",
                mode="lines",
                line=dict(color=TRAIN_COLOR, width=2.5),
                hovertemplate="epoch %{x:.2f}<br>training %{y:" + fmt + "}<extra></extra>",
            )
        )
    if len(valid_points):
        vp = np.asarray(valid_points, dtype=float)
        data.append(
            dict(
                type="scatter",
                x=vp[:, 0],
                y=to_unit(vp[:, 1], d, unit),
                name="validation",
                mode="lines+markers",
                line=dict(color=VALID_COLOR, width=2.5),
                marker=dict(size=7),
                hovertemplate="epoch %{x:.0f}<br>validation %{y:" + fmt + "}<extra></extra>",
            )
        )
    for i, ref in enumerate(references):
        y = to_unit(ref.nats, d, unit)
        data.append(
            dict(
                type="scatter",
                x=[0, x_max],
                y=[y, y],
                mode="lines",
                name=f"{ref.label}: {y:{fmt}}",
                line=dict(color=REF_COLORS[i % len(REF_COLORS)], width=2, dash="dash" if i == 0 else "dot"),
                hovertemplate=f"{ref.label}: {y:{fmt}}<br>{ref.note}<extra></extra>",
            )
        )
    # keep the interesting part visible: the first minibatches of a fresh network can be far above
    ys = [to_unit(float(v), d, unit) for _, v in list(train_points)[len(train_points) // 10 :]]
    ys += [to_unit(float(v), d, unit) for _, v in valid_points] + [to_unit(r.nats, d, unit) for r in references]
    yaxis = dict(title=dict(text=unit_label(unit)), showgrid=True, gridcolor="#e5e7eb")
    if ys:
        lo, hi = min(ys), max(ys)
        pad = 0.08 * (hi - lo) if hi > lo else 0.1 * abs(hi) + 1e-3
        yaxis["range"] = [max(0.0, lo - pad), hi + pad]
    layout = dict(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        font=FONT,
        xaxis=dict(
            title=dict(text="epoch"), range=[0, x_max], showgrid=True, gridcolor="#e5e7eb", **epoch_ticks(x_max)
        ),
        yaxis=yaxis,
        showlegend=True,
        legend=legend_layout(len(data)),
        plot_bgcolor="white",
        paper_bgcolor="rgba(0,0,0,0)",
        uirevision="nll",
    )
    return plain_figure(data, layout)


def preview_figure(
    x: np.ndarray, shape: tuple[int, int] | None, n: int = 24, cols: int = 12, height: int | None = None
) -> go.Figure:
    """The first n examples of a data set as a grid of binary images."""
    x = np.asarray(x)[:n]
    if shape is None:  # plain vectors: one row each
        cols = 1
    return grid_figure(x, shape, cols=min(cols, len(x)), height=height)


def conditionals_figure(
    x: np.ndarray, probs: np.ndarray, shape: tuple[int, int] | None, height: int = 200
) -> go.Figure:
    """One image beside the model's p(x_d = 1 | pixels before d) for each of its pixels, on one
    grey scale (white = 0, black = 1). x: (D,) 0/1 values; probs: (D,) probabilities."""
    h, w = image_hw(shape, len(x))
    img = np.asarray(x, dtype=float).reshape(h, w)
    p = np.asarray(probs, dtype=float).reshape(h, w)
    gap = max(1, w // 4)
    z = np.concatenate([img, np.full((h, gap), np.nan), p], axis=1)
    trace = dict(
        type="heatmap",
        z=z,
        zmin=0,
        zmax=1,
        colorscale=GREYS,
        showscale=False,
        hovertemplate="p = %{z:.2f}<extra></extra>",
    )
    notes = [
        dict(text=t, x=xc, y=-0.5, xref="x", yref="y", yanchor="bottom", showarrow=False, font=dict(size=13))
        for t, xc in (("image", (w - 1) / 2), ("p(pixel = 1 | before)", w + gap + (w - 1) / 2))
    ]
    return plain_figure([trace], image_layout(height, annotations=notes))
