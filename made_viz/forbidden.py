"""Forbidden paths: which edges lie on a path input i -> ... -> output j with i not before j.

Empty for every true MADE; the deliberately broken variants ("off", "nonstrict") light up here,
and the network figure draws these edges in red. Every question reduces to two numbers per unit:
the latest input position reaching it and the earliest output position it reaches, found by
masked max/min propagation in bounded blocks (no big matrix product, so D = 4096 stays cheap).
Also here: the edge sets a trace highlights (reaches the unit / reached from it / forbidden).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .layers import edge_masks, layer_sizes, memo, num_layers
from .masks import BLOCK_CELLS, MaskSet

if TYPE_CHECKING:  # only for annotations: graph imports nothing from here
    from .graph import Trace


# --- the extreme positions a unit touches: all forbidden-path questions reduce to these ----------
# A path i -> ... -> p -> q -> ... -> j is forbidden iff pos(i) >= pos(j). So an edge (p, q) lies on
# a forbidden path iff (the latest input reaching p) >= (the earliest output q reaches). Masked
# max/min propagation answers that exactly with no big matrix product (D = 4096 stays cheap).


def _push_max(vals: np.ndarray, m: np.ndarray) -> np.ndarray:
    """out[q] = max of vals[p] over the p with m[p, q] (-inf if none)."""
    out = np.full(m.shape[1], -np.inf, dtype=np.float32)
    step = max(1, BLOCK_CELLS // max(m.shape[1], 1))
    for a in range(0, m.shape[0], step):
        np.maximum(
            out, np.where(m[a : a + step], vals[a : a + step, None], -np.inf).max(axis=0, initial=-np.inf), out=out
        )
    return out


def _pull_min(vals: np.ndarray, m: np.ndarray) -> np.ndarray:
    """out[p] = min of vals[q] over the q with m[p, q] (+inf if none)."""
    out = np.empty(m.shape[0], dtype=np.float32)
    step = max(1, BLOCK_CELLS // max(m.shape[1], 1))
    for a in range(0, m.shape[0], step):
        out[a : a + step] = np.where(m[a : a + step], vals[None, :], np.inf).min(axis=1, initial=np.inf)
    return out


def latest_input(ms: MaskSet) -> list[np.ndarray]:
    """hi[l][k]: the latest position (1..D) of an input with a path to unit k of drawn layer l (-inf: none)."""

    def run(ms):
        pos = ms.degrees[0].astype(np.float32)
        hi = [pos]
        for m in edge_masks(ms):
            hi.append(_push_max(hi[-1], m))
        if ms.direct is not None:
            hi[-1] = np.maximum(hi[-1], _push_max(pos, ms.direct))
        return hi

    return memo(ms, "latest_input", run)


def earliest_output(ms: MaskSet) -> list[np.ndarray]:
    """lo[l][k]: the earliest position of an output that unit k of drawn layer l reaches (+inf: none)."""

    def run(ms):
        pos = ms.degrees[0].astype(np.float32)
        lo = [pos]
        for m in reversed(edge_masks(ms)):
            lo.append(_pull_min(lo[-1], m))
        lo = lo[::-1]
        if ms.direct is not None:
            lo[0] = np.minimum(lo[0], _pull_min(pos, ms.direct))
        return lo

    return memo(ms, "earliest_output", run)


def min_over_reached_sources(ms: MaskSet, tr: Trace, values) -> list:
    """For layers l <= tr.layer: per unit, the min of `values` (one per traced unit) over the traced
    units it has a path to (+inf if none); None above the traced layer."""
    masks = edge_masks(ms)
    out: list = [None] * num_layers(ms)
    top = np.full(layer_sizes(ms)[tr.layer], np.inf, dtype=np.float32)
    top[list(tr.units)] = values
    out[tr.layer] = top
    for l in range(tr.layer - 1, -1, -1):
        out[l] = _pull_min(out[l + 1], masks[l])
    if ms.direct is not None and tr.layer == len(out) - 1:
        out[0] = np.minimum(out[0], _pull_min(top, ms.direct))
    return out


def max_over_reaching_sources(ms: MaskSet, tr: Trace, values) -> list:
    """For layers l >= tr.layer: per unit, the max of `values` over the traced units with a path to
    it (-inf if none); None below the traced layer."""
    masks = edge_masks(ms)
    out: list = [None] * num_layers(ms)
    bottom = np.full(layer_sizes(ms)[tr.layer], -np.inf, dtype=np.float32)
    bottom[list(tr.units)] = values
    out[tr.layer] = bottom
    for l in range(tr.layer, len(out) - 1):
        out[l + 1] = _push_max(out[l], masks[l])
    if ms.direct is not None and tr.layer == 0:
        out[-1] = np.maximum(out[-1], _push_max(bottom, ms.direct))
    return out


# ---------------------------------------------------------------------------------------------
# which edges to draw, and how


@dataclass(frozen=True, eq=False)
class EdgeSets:
    """Bool matrices shaped like the masks (and the direct mask, or None): which edges to draw
    as 'reaches the traced unit' (up), 'reached from it' (down) and 'on a forbidden path' (bad)."""

    up: list[np.ndarray]
    down: list[np.ndarray]
    bad: list[np.ndarray]
    up_direct: np.ndarray | None = None
    down_direct: np.ndarray | None = None
    bad_direct: np.ndarray | None = None

    def count_bad(self) -> int:
        n = sum(int(b.sum()) for b in self.bad)
        return n + (int(self.bad_direct.sum()) if self.bad_direct is not None else 0)


def forbidden_edges(ms: MaskSet) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Edges on at least one forbidden path (input i -> ... -> output j with i not before j).

    Empty for every true MADE. For "nonstrict" these are the edges carrying a pixel's own value
    (or a later one) to its output; for "off" nearly every edge."""

    def run(ms):
        hi, lo = latest_input(ms), earliest_output(ms)
        bad = [m & (hi[l][:, None] >= lo[l + 1][None, :]) for l, m in enumerate(edge_masks(ms))]
        pos = ms.degrees[0]
        bad_direct = None if ms.direct is None else ms.direct & (pos[:, None] >= pos[None, :])
        return bad, bad_direct

    return memo(ms, "forbidden_edges", run)


def trace_edges(ms: MaskSet, tr: Trace | None) -> EdgeSets:
    """The edge sets to highlight for a trace (or, with no trace, only the forbidden edges).

    With a trace, an edge is 'bad' when it lies on a forbidden path that passes through one of the
    traced units; without one, when it lies on any forbidden path."""
    masks = edge_masks(ms)
    if tr is None:
        bad, bad_direct = forbidden_edges(ms)
        empty = [np.zeros_like(m) for m in masks]
        return EdgeSets(
            up=empty,
            down=[e.copy() for e in empty],
            bad=bad,
            up_direct=None if ms.direct is None else np.zeros_like(ms.direct),
            down_direct=None if ms.direct is None else np.zeros_like(ms.direct),
            bad_direct=bad_direct,
        )
    up = [m & tr.up[l][:, None] & tr.up[l + 1][None, :] for l, m in enumerate(masks)]
    down = [m & tr.down[l][:, None] & tr.down[l + 1][None, :] for l, m in enumerate(masks)]
    upd = downd = badd = None
    if ms.direct is not None:
        pos = ms.degrees[0]
        upd = ms.direct & tr.up[0][:, None] & tr.up[-1][None, :]
        downd = ms.direct & tr.down[0][:, None] & tr.down[-1][None, :]
        badd = (upd | downd) & (pos[:, None] >= pos[None, :])
    all_bad, all_bad_direct = forbidden_edges(ms)
    if not any(e.any() for e in all_bad) and (all_bad_direct is None or not all_bad_direct.any()):
        return EdgeSets(
            up=up, down=down, bad=[np.zeros_like(m) for m in masks], up_direct=upd, down_direct=downd, bad_direct=badd
        )  # a true MADE: nothing forbidden anywhere
    hi, lo = latest_input(ms), earliest_output(ms)
    units = list(tr.units)
    # below the sources: i -> p -> q -> source u -> j is forbidden iff hi(p) >= min over u of lo(u)
    t = min_over_reached_sources(ms, tr, lo[tr.layer][units])
    # above them: i -> source u -> p -> q -> j is forbidden iff max over u of hi(u) >= lo(q)
    r = max_over_reaching_sources(ms, tr, hi[tr.layer][units])
    bad = []
    for l, m in enumerate(masks):
        e = np.zeros_like(m)
        if l + 1 <= tr.layer:
            e |= up[l] & (hi[l][:, None] >= t[l + 1][None, :])
        if l >= tr.layer:
            e |= down[l] & (r[l][:, None] >= lo[l + 1][None, :])
        bad.append(e)
    return EdgeSets(up=up, down=down, bad=bad, up_direct=upd, down_direct=downd, bad_direct=badd)
