"""Units bundled by degree, for the aggregated drawing of networks too big to draw edge by edge.

The bins are consecutive degrees 1..D, shared by every layer, so a bundle edge joins units whose
degrees are comparable; the bundle counts always add up to the unit and edge counts they replace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers import layer_degrees
from .masks import BLOCK_CELLS, MaskSet


@dataclass(frozen=True, eq=False)
class Bundles:
    """Units of each drawn layer grouped into degree bins (the same bins in every layer).

    bin b holds degrees [lo[b], hi[b]]; group[l][k] = bin of unit k of layer l; count[l][b] =
    number of units of layer l in bin b. `bin_edges(m, ...)` turns a unit-edge matrix into
    bin-edge counts (their sum is the number of unit edges), in blocks of rows so that a large mask
    never needs an index array per edge."""

    width: int
    lo: np.ndarray
    hi: np.ndarray
    group: list[np.ndarray]
    count: list[np.ndarray]

    @property
    def num_bins(self) -> int:
        return len(self.lo)

    def bin_edges(self, m: np.ndarray, layer_from: int, layer_to: int) -> np.ndarray:
        """(bins, bins) int64: number of edges of m (layer_from units x layer_to units) per bin pair."""
        nb = self.num_bins
        to_bin = np.eye(nb)[self.group[layer_to]]  # (n_to, bins) one-hot
        counts = np.zeros((nb, nb))
        step = max(1, BLOCK_CELLS // max(m.shape[1], 1))  # rows per block: bounded temporaries
        for a in range(0, m.shape[0], step):
            per_row = np.asarray(m[a : a + step], dtype=np.float64) @ to_bin  # (rows, bins), exact counts
            np.add.at(counts, self.group[layer_from][a : a + step], per_row)
        return counts.astype(np.int64)

    def label(self, b: int) -> str:
        return f"{self.lo[b]}" if self.lo[b] == self.hi[b] else f"{self.lo[b]}–{self.hi[b]}"

    def units_in(self, layer: int, b: int) -> np.ndarray:
        return np.nonzero(self.group[layer] == b)[0]


def bundle_by_degree(ms: MaskSet, max_bins: int = 10) -> Bundles:
    """Bins of consecutive degrees 1..D, at most `max_bins` of them, shared by all layers."""
    d = ms.d
    width = max(1, -(-d // max_bins))
    nb = -(-d // width)
    lo = np.arange(nb) * width + 1
    hi = np.minimum(lo + width - 1, d)
    group = [(deg - 1) // width for deg in layer_degrees(ms)]
    count = [np.bincount(g, minlength=nb) for g in group]
    return Bundles(width=width, lo=lo, hi=hi, group=group, count=count)
