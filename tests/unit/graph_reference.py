"""The readable reference for tracing: the masked network as a networkx MultiDiGraph (test-only: the
library's `made_viz.graph.trace` must agree with it; networkx is in the test extras, not a dependency)."""

from __future__ import annotations

import networkx as nx
import numpy as np

from made_viz.layers import Unit, layer_degrees, layer_names
from made_viz.masks import MaskSet


def build_graph(ms: MaskSet) -> nx.MultiDiGraph:
    """MultiDiGraph with nodes (layer, unit) (attributes: layer, unit, degree, name) and one edge per
    mask entry equal to 1 (attribute kind = "mask" or "direct"; a direct edge may parallel a mask
    edge when there is no hidden layer, hence a multigraph)."""
    g = nx.MultiDiGraph()
    names = layer_names(ms)
    for layer, deg in enumerate(layer_degrees(ms)):
        g.add_nodes_from(
            ((layer, k), {"layer": layer, "unit": k, "degree": int(deg[k]), "name": names[layer]})
            for k in range(len(deg))
        )
    for l, m in enumerate(ms.masks):
        a, b = np.nonzero(m)
        g.add_edges_from((((l, int(i)), (l + 1, int(j))) for i, j in zip(a, b)), kind="mask")
    if ms.direct is not None:
        out = len(ms.masks)
        a, b = np.nonzero(ms.direct)
        g.add_edges_from((((0, int(i)), (out, int(j))) for i, j in zip(a, b)), kind="direct")
    return g


def graph_trace(g: nx.MultiDiGraph, unit: Unit) -> tuple[set[Unit], set[Unit]]:
    """(ancestors, descendants) of one unit in the graph (the unit itself excluded)."""
    return nx.ancestors(g, unit), nx.descendants(g, unit)
