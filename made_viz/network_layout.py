"""Where the network figure puts things and how big they are: the edge budget that picks the full or
the bundled view, every unit's x slot (netview's browser drawing uses the same), the degree bins'
slots, the node size and whether a degree number fits on a node, edge widths and dashes, and the
axes, legend and layer names both views share (no streamlit, no torch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers import edge_count, layer_degrees, layer_names, layer_sizes
from .masks import MaskSet
from .plot_parts import DOWN, Spec
from .style import FONT

EDGE_BUDGET = 3000  # above this many edges the network is drawn bundled by degree


FULL_EDGE_LIMIT = 20000  # "draw every edge anyway" is offered up to this many edges


def unit_positions(ms: MaskSet, arrange: str) -> tuple[list[np.ndarray], int]:
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


def bin_positions(num_bins: int) -> np.ndarray:
    """x slot of each degree bin in the bundled view (centred on 0, one apart)."""
    return np.arange(num_bins) - (num_bins - 1) / 2


MIN_LABEL_FONT = 8  # px: smaller degree numbers are not readable, so the nodes go without


@dataclass(frozen=True)
class NodeLook:
    """How the units are drawn: marker size, whether they carry their degree, its font size."""

    size: float
    labels: bool
    font: int
    big: bool  # the roomy layout (also names the pixels under the inputs for small D)


def node_look(widest: int, plot_width: int, d: int) -> NodeLook:
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


def widest(ms: MaskSet) -> int:
    """Units in the widest layer: it sets the slot width, hence the node size."""
    return max(layer_sizes(ms))


def degree_labels_shown(ms: MaskSet, aggregated: bool | None = None, plot_width: int = 580) -> bool:
    """Whether `network_figure` (same arguments) writes every unit's degree on its node: not in the
    bundled view (bubbles show unit counts), nor when the widest layer leaves no room for a number."""
    if aggregated is None:
        aggregated = edge_count(ms) > EDGE_BUDGET
    return not aggregated and node_look(widest(ms), plot_width, ms.d).labels


def edge_style(n_edges: int, tracing: bool) -> tuple[float, float]:
    """Width and opacity of the plain edges: thinner and fainter as they get many (and behind a trace)."""
    base_w = 2.2 if n_edges < 60 else 1.4 if n_edges < 400 else 0.8 if n_edges < 1500 else 0.5
    base_a = 0.75 if n_edges < 60 else 0.5 if n_edges < 400 else 0.3 if n_edges < 1500 else 0.18
    return base_w, base_a * 0.35 if tracing else base_a


def dashes(color: str) -> tuple[str | None, str]:
    """Line dash of (mask edges, direct curves) for a highlight colour: "reached from it" is dashed so
    that it differs from the red forbidden paths by more than hue; direct connections are dotted."""
    return ("dash", "dashdot") if color == DOWN else (None, "dot")


def base_layout(fig: Spec, height: int) -> None:
    """Size, fonts, a legend across the top and hidden fixed axes: a figure to click, not to zoom."""
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


def layer_labels(fig: Spec, ms: MaskSet) -> None:
    """Each layer's name and unit count, left of its row."""
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
