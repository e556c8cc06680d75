"""The drawn layers of one MaskSet: sizes, names, degrees, edge counts (numpy only).

A unit is a pair (layer, unit index) with layer 0 = inputs, 1..L = hidden layers, L+1 = outputs.
Layer l feeds layer l+1 through `ms.masks[l]` (bool, fan_in x fan_out); optional direct edges go
from layer 0 to layer L+1. Tracing (`graph`), forbidden paths (`forbidden`), degree bundles
(`bundles`) and the figures all describe layers this way, so it has one home here.
"""

from __future__ import annotations

import numpy as np

from .masks import MaskSet

Unit = tuple[int, int]  # (layer, unit)


def num_layers(ms: MaskSet) -> int:
    """Number of unit layers drawn: inputs + hidden layers + outputs."""
    return len(ms.masks) + 1


def layer_sizes(ms: MaskSet) -> list[int]:
    return [ms.d, *ms.hidden_sizes, ms.d]


def layer_names(ms: MaskSet) -> list[str]:
    return ["inputs", *[f"hidden {l}" for l in range(1, len(ms.masks))], "outputs"]


def layer_degrees(ms: MaskSet) -> list[np.ndarray]:
    """Degree of every unit of every drawn layer: [m0, m1, ..., mL, m0] (an output has the
    degree of its pixel: output d may depend on the inputs in positions < m0[d])."""
    return [*ms.degrees, ms.degrees[0]]


def edge_masks(ms: MaskSet) -> list[np.ndarray]:
    """The masks as bool arrays (fan_in x fan_out), one per pair of consecutive drawn layers."""
    return [np.asarray(m, dtype=bool) for m in ms.masks]


def edge_count(ms: MaskSet) -> int:
    """Number of drawn edges (mask entries equal to 1, plus direct connections)."""
    n = int(sum(int(m.sum()) for m in ms.masks))
    if ms.direct is not None:
        n += int(ms.direct.sum())
    return n


def fan_in_out(ms: MaskSet) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per drawn layer: number of incoming and outgoing edges of every unit."""
    sizes = layer_sizes(ms)
    fin = [np.zeros(n, dtype=np.int64) for n in sizes]
    fout = [np.zeros(n, dtype=np.int64) for n in sizes]
    for l, m in enumerate(ms.masks):
        fout[l] += m.sum(axis=1)
        fin[l + 1] += m.sum(axis=0)
    if ms.direct is not None:
        fout[0] += ms.direct.sum(axis=1)
        fin[-1] += ms.direct.sum(axis=0)
    return fin, fout


def memo(ms: MaskSet, name: str, fn):
    """Compute once per MaskSet (its private cache dict; MaskSets are never mutated)."""
    key = "graph." + name
    if key not in ms._cache:
        ms._cache[key] = fn(ms)
    return ms._cache[key]
