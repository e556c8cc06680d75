"""The layered, degree-labelled network as a plotly figure (no streamlit, no torch).

Inputs at the bottom, outputs at the top, like the paper's Fig. 1, with tracing and forbidden
paths highlighted. Above an edge budget it draws an honest aggregated view instead: one bubble per
(layer, degree bin), edge width ~ number of unit edges between two bins.

This module assembles the two views; where things go and how big is `network_layout`, the edges and
nodes are `network_traces`, the hover texts and notes are `network_text`.
"""

from __future__ import annotations

import plotly.graph_objects as go

from . import forbidden as FB
from .bundles import bundle_by_degree
from .graph import Trace
from .layers import edge_count, num_layers
from .masks import MaskSet
from .network_layout import (
    EDGE_BUDGET,
    FULL_EDGE_LIMIT,
    base_layout,
    bin_positions,
    degree_labels_shown,
    layer_labels,
    node_look,
    unit_positions,
)
from .network_text import aggregated_summary, degree_label_note
from .network_traces import (
    bundle_nodes,
    degree_scale,
    draw_all_bundle_edges,
    draw_all_unit_edges,
    pixel_names,
    unit_nodes,
)
from .plot_parts import Spec

__all__ = [
    "EDGE_BUDGET",
    "FULL_EDGE_LIMIT",
    "aggregated_summary",
    "degree_label_note",
    "degree_labels_shown",
    "network_figure",
]


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


def _full_figure(ms: MaskSet, tr, edges: FB.EdgeSets, arrange: str, height: int, plot_width: int) -> go.Figure:
    """Every unit and every edge (units placed by `arrange`)."""
    fig = Spec()
    xs, widest = unit_positions(ms, arrange)
    n_layers = len(xs)
    look = node_look(widest, plot_width, ms.d)
    bulge = 0.35 * (widest + 1) / 2 + 0.5
    draw_all_unit_edges(fig, ms, tr, edges, xs, bulge)
    fig.add_trace(unit_nodes(ms, tr, xs, look))
    if not look.labels:  # the degree scale, since the numbers do not fit on the nodes
        fig.add_trace(degree_scale(ms.d))
    if look.big and widest <= 24:  # pixel names under the inputs and above the outputs, when there is room
        pixel_names(fig, ms, xs, widest)
    base_layout(fig, height)
    layer_labels(fig, ms)
    half = (widest - 1) / 2 + 0.6 + (bulge if ms.direct is not None else 0) * 0.5
    fig.update_xaxes(range=[-half, half])
    fig.update_yaxes(range=[-0.55, n_layers - 1 + 0.55])
    return fig.build()


def _aggregated_figure(ms: MaskSet, tr, edges: FB.EdgeSets, height: int, max_bins: int, plot_width: int) -> go.Figure:
    """One bubble per (layer, degree bin), with a degree-bin axis under it."""
    fig = Spec()
    bun = bundle_by_degree(ms, max_bins)
    nb = bun.num_bins
    xb = bin_positions(nb)
    draw_all_bundle_edges(fig, ms, bun, tr, edges, max_bins)
    fig.add_trace(bundle_nodes(ms, bun, tr, plot_width))
    base_layout(fig, height)
    layer_labels(fig, ms)
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
