"""The masked network as a graph: units, edges, tracing, forbidden paths, degree bundles.

numpy + networkx, no streamlit, no plotting. A unit is a pair (layer, unit index) with
layer 0 = inputs, 1..L = hidden layers, L+1 = outputs. Layer l feeds layer l+1 through
`ms.masks[l]` (bool, fan_in x fan_out); optional direct edges go from layer 0 to layer L+1.

Two ways to trace, which must agree (the tests check it):
  - `build_graph` + `graph_trace`: a networkx MultiDiGraph and its ancestors/descendants
    (the readable reference, fine for small networks);
  - `trace`: boolean matrix products on the masks, layer by layer (what the page uses: fast
    for D = 784 with 500 hidden units, where the graph has ~400,000 edges).
Forbidden paths (input i -> ... -> output j with i not before j, the broken variants) are found
from two numbers per unit: the latest input position reaching it and the earliest output position
it reaches. `bundle_by_degree` groups units into degree bins for the aggregated drawing.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .masks import MaskSet

Unit = tuple[int, int]  # (layer, unit)


# ---------------------------------------------------------------------------------------------
# layers, degrees, edges

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


def _edge_masks(ms: MaskSet) -> list[np.ndarray]:
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


# ---------------------------------------------------------------------------------------------
# the networkx reference

def build_graph(ms: MaskSet) -> nx.MultiDiGraph:
    """MultiDiGraph (direct edges may parallel a mask edge when there is no hidden layer) with nodes (layer, unit) (attributes: layer, unit, degree, name) and one edge per
    mask entry equal to 1 (attribute kind = "mask" or "direct")."""
    g = nx.MultiDiGraph()
    names = layer_names(ms)
    for layer, deg in enumerate(layer_degrees(ms)):
        g.add_nodes_from(((layer, k), {"layer": layer, "unit": k, "degree": int(deg[k]), "name": names[layer]})
                         for k in range(len(deg)))
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


# ---------------------------------------------------------------------------------------------
# fast tracing with boolean matrix products

def _step_down(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Units of the next layer fed by some unit in v."""
    return (v.astype(np.float32) @ m.astype(np.float32)) > 0


def _step_up(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Units of the previous layer that feed some unit in v."""
    return (m.astype(np.float32) @ v.astype(np.float32)) > 0


@dataclass(frozen=True, eq=False)
class Trace:
    """Everything that reaches a set of source units (all in one layer) and everything they reach.

    up[l] / down[l] are bool arrays over the units of drawn layer l; the sources are included in
    both (at their own layer). Layers above the sources are all False in `up`, layers below them
    all False in `down`."""

    layer: int
    units: tuple[int, ...]
    up: list[np.ndarray]
    down: list[np.ndarray]

    @property
    def inputs(self) -> np.ndarray:
        """Input pixels with a path to the sources (the sources themselves if they are inputs)."""
        return np.nonzero(self.up[0])[0]

    @property
    def outputs(self) -> np.ndarray:
        """Outputs the sources reach."""
        return np.nonzero(self.down[-1])[0]

    def ancestors(self) -> set[Unit]:
        src = set(self.sources())
        return {(l, int(k)) for l, v in enumerate(self.up) for k in np.nonzero(v)[0]} - src

    def descendants(self) -> set[Unit]:
        src = set(self.sources())
        return {(l, int(k)) for l, v in enumerate(self.down) for k in np.nonzero(v)[0]} - src

    def sources(self) -> list[Unit]:
        return [(self.layer, k) for k in self.units]

    def touched(self, layer: int) -> np.ndarray:
        """Units of `layer` on some path through the sources."""
        return self.up[layer] | self.down[layer]


def trace(ms: MaskSet, layer: int, units) -> Trace:
    """Trace the units `units` (an int or a list) of drawn layer `layer` by boolean reachability."""
    sizes = layer_sizes(ms)
    n_layers = len(sizes)
    if not 0 <= layer < n_layers:
        raise ValueError(f"layer {layer} does not exist: this network has layers 0..{n_layers - 1}.")
    units = (int(units),) if np.isscalar(units) else tuple(int(u) for u in units)
    if not units or any(not 0 <= u < sizes[layer] for u in units):
        raise ValueError(f"unit(s) {units} out of range for {layer_names(ms)[layer]} ({sizes[layer]} units).")
    masks = _edge_masks(ms)
    src = np.zeros(sizes[layer], dtype=bool)
    src[list(units)] = True
    down = [np.zeros(n, dtype=bool) for n in sizes]
    up = [np.zeros(n, dtype=bool) for n in sizes]
    down[layer], up[layer] = src.copy(), src.copy()
    for l in range(layer, n_layers - 1):
        down[l + 1] = _step_down(down[l], masks[l]) | down[l + 1]
    for l in range(layer - 1, -1, -1):
        up[l] = _step_up(up[l + 1], masks[l]) | up[l]
    if ms.direct is not None:
        if layer == 0:
            down[-1] |= _step_down(src, ms.direct)
        if layer == n_layers - 1:
            up[0] |= _step_up(src, ms.direct)
            # inputs reached directly feed nothing else upstream; nothing more to propagate
    return Trace(layer=layer, units=units, up=up, down=down)


def memo(ms: MaskSet, name: str, fn):
    """Compute once per MaskSet (its private cache dict; MaskSets are never mutated)."""
    key = "graph." + name
    if key not in ms._cache:
        ms._cache[key] = fn(ms)
    return ms._cache[key]


def input_reach(ms: MaskSet) -> list[np.ndarray]:
    """A[l] (D, n_l) bool: input i has a path to unit k of drawn layer l (direct edges included)."""
    return memo(ms, "input_reach", _input_reach)


def output_reach(ms: MaskSet) -> list[np.ndarray]:
    """B[l] (n_l, D) bool: unit k of drawn layer l has a path to output j (direct edges included)."""
    return memo(ms, "output_reach", _output_reach)


def _input_reach(ms: MaskSet) -> list[np.ndarray]:
    masks = _edge_masks(ms)
    reach = [np.eye(ms.d, dtype=bool)]
    for m in masks:
        reach.append((reach[-1].astype(np.float32) @ m.astype(np.float32)) > 0)
    if ms.direct is not None:
        reach[-1] = reach[-1] | ms.direct
    return reach


def _output_reach(ms: MaskSet) -> list[np.ndarray]:
    masks = _edge_masks(ms)
    reach = [np.eye(ms.d, dtype=bool)]
    for m in reversed(masks):
        reach.append((m.astype(np.float32) @ reach[-1].astype(np.float32)) > 0)
    reach = reach[::-1]
    if ms.direct is not None:
        reach[0] = reach[0] | ms.direct
    return reach


def forbidden_pairs(ms: MaskSet) -> np.ndarray:
    """(D, D) bool: [i, j] = input i must NOT influence output j (i is not strictly before j)."""
    return ~ms.allowed()


# --- the extreme positions a unit touches: all forbidden-path questions reduce to these ----------
# A path i -> ... -> p -> q -> ... -> j is forbidden iff pos(i) >= pos(j). So an edge (p, q) lies on
# a forbidden path iff (the latest input reaching p) >= (the earliest output q reaches). Masked
# max/min propagation answers that exactly with no big matrix product (D = 4096 stays cheap).

_CHUNK = 1 << 21  # cells per temporary block


def _push_max(vals: np.ndarray, m: np.ndarray) -> np.ndarray:
    """out[q] = max of vals[p] over the p with m[p, q] (-inf if none)."""
    out = np.full(m.shape[1], -np.inf, dtype=np.float32)
    step = max(1, _CHUNK // max(m.shape[1], 1))
    for a in range(0, m.shape[0], step):
        np.maximum(out, np.where(m[a:a + step], vals[a:a + step, None], -np.inf).max(axis=0, initial=-np.inf), out=out)
    return out


def _pull_min(vals: np.ndarray, m: np.ndarray) -> np.ndarray:
    """out[p] = min of vals[q] over the q with m[p, q] (+inf if none)."""
    out = np.empty(m.shape[0], dtype=np.float32)
    step = max(1, _CHUNK // max(m.shape[1], 1))
    for a in range(0, m.shape[0], step):
        out[a:a + step] = np.where(m[a:a + step], vals[None, :], np.inf).min(axis=1, initial=np.inf)
    return out


def latest_input(ms: MaskSet) -> list[np.ndarray]:
    """hi[l][k]: the latest position (1..D) of an input with a path to unit k of drawn layer l (-inf: none)."""
    def run(ms):
        pos = ms.degrees[0].astype(np.float32)
        hi = [pos]
        for m in _edge_masks(ms):
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
        for m in reversed(_edge_masks(ms)):
            lo.append(_pull_min(lo[-1], m))
        lo = lo[::-1]
        if ms.direct is not None:
            lo[0] = np.minimum(lo[0], _pull_min(pos, ms.direct))
        return lo
    return memo(ms, "earliest_output", run)


def min_over_reached_sources(ms: MaskSet, tr: Trace, values) -> list:
    """For layers l <= tr.layer: per unit, the min of `values` (one per traced unit) over the traced
    units it has a path to (+inf if none); None above the traced layer."""
    masks = _edge_masks(ms)
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
    masks = _edge_masks(ms)
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
        bad = [m & (hi[l][:, None] >= lo[l + 1][None, :]) for l, m in enumerate(_edge_masks(ms))]
        pos = ms.degrees[0]
        bad_direct = None if ms.direct is None else ms.direct & (pos[:, None] >= pos[None, :])
        return bad, bad_direct
    return memo(ms, "forbidden_edges", run)


def trace_edges(ms: MaskSet, tr: Trace | None) -> EdgeSets:
    """The edge sets to highlight for a trace (or, with no trace, only the forbidden edges).

    With a trace, an edge is 'bad' when it lies on a forbidden path that passes through one of the
    traced units; without one, when it lies on any forbidden path."""
    masks = _edge_masks(ms)
    if tr is None:
        bad, bad_direct = forbidden_edges(ms)
        empty = [np.zeros_like(m) for m in masks]
        return EdgeSets(up=empty, down=[e.copy() for e in empty], bad=bad,
                        up_direct=None if ms.direct is None else np.zeros_like(ms.direct),
                        down_direct=None if ms.direct is None else np.zeros_like(ms.direct),
                        bad_direct=bad_direct)
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
        return EdgeSets(up=up, down=down, bad=[np.zeros_like(m) for m in masks], up_direct=upd,
                        down_direct=downd, bad_direct=badd)  # a true MADE: nothing forbidden anywhere
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


def diagnostics(ms: MaskSet):
    """ms.diagnostics(), computed once per MaskSet."""
    return memo(ms, "diagnostics", lambda m: m.diagnostics())


def unit_reasons(ms: MaskSet) -> dict[Unit, str]:
    """Hidden units greyed out in the drawing, with a one-line reason (from the diagnostics)."""
    diag = diagnostics(ms)
    reasons: dict[Unit, str] = {}
    for u in diag.no_output:
        reasons[u] = "reaches no output: its weights are wasted"
    for u in diag.no_input:
        reasons[u] = "receives no input: it is a constant"
    return reasons


# ---------------------------------------------------------------------------------------------
# the aggregated view: units bundled by degree

@dataclass(frozen=True, eq=False)
class Bundles:
    """Units of each drawn layer grouped into degree bins (the same bins in every layer).

    bin b holds degrees [lo[b], hi[b]]; group[l][k] = bin of unit k of layer l; count[l][b] =
    number of units of layer l in bin b. `edges(m_list)` turns unit-edge matrices into
    bin-edge counts (their sum is the number of unit edges)."""

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
        a, b = np.nonzero(m)
        nb = self.num_bins
        flat = self.group[layer_from][a] * nb + self.group[layer_to][b]
        return np.bincount(flat, minlength=nb * nb).reshape(nb, nb).astype(np.int64)

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


def _pixels(idx, limit: int = 6) -> str:
    """'x1, x2, x0' or '16 pixels' when there are too many to read out."""
    idx = [int(i) for i in idx]
    if not idx:
        return "none"
    if len(idx) <= limit:
        return ", ".join(f"x{i}" for i in idx)
    return f"{len(idx)} pixels"


def trace_summary(ms: MaskSet, tr: Trace) -> str:
    """One or two sentences (markdown) on what the traced unit(s) see and feed."""
    last = num_layers(ms) - 1
    pos = ms.degrees[0]
    in_order = lambda idx: sorted((int(i) for i in idx), key=lambda i: pos[i])  # noqa: E731
    if len(tr.units) == 1:
        head = f"**Tracing {describe_unit(ms, tr.layer, tr.units[0])}**"
    else:
        deg = layer_degrees(ms)[tr.layer][list(tr.units)]
        head = (f"**Tracing a bundle of {len(tr.units)} units of {layer_names(ms)[tr.layer]}** "
                f"(degrees {int(deg.min())}–{int(deg.max())})")
    seen = in_order(tr.inputs)
    if tr.layer == last:
        first = min(int(pos[u]) for u in tr.units)
        may = [i for i in range(ms.d) if pos[i] < first]
        bad = [i for i in seen if pos[i] >= first]
        text = f"{head}: it depends on {_pixels(seen) if len(seen) > 6 else 'inputs ' + _pixels(seen)}."
        if len(tr.units) > 1:
            return text
        j = tr.units[0]
        if bad == [j]:
            return text + f" :red[**Forbidden:** it sees its own pixel x{j}.]"
        if bad:
            own = f", x{j} itself included" if j in bad else ""
            return text + f" :red[**Forbidden:** {len(bad)} of them are not before x{j}{own}.]"
        if not may:
            return text + " It comes first in the order: its conditional is a learned constant (expected)."
        if len(seen) < len(may):
            return text + (f" It may see all {len(may)} pixels before it: {len(may) - len(seen)} missing "
                           "(a starved conditional).")
        return text + " Exactly the pixels before it in the order."
    feeds = in_order(tr.outputs)
    if tr.layer == 0:
        return f"{head}: {len(feeds)} output(s) depend on it ({_pixels(feeds)})."
    return (f"{head}: it sees {len(seen)} input(s) ({_pixels(seen)}) and feeds {len(feeds)} output(s) "
            f"({_pixels(feeds)}).")


def describe_unit(ms: MaskSet, layer: int, unit: int) -> str:
    """'output x5 (position 6)' / 'input x2 (position 1)' / 'hidden 1, unit 3 (degree 2)'."""
    last = num_layers(ms) - 1
    if layer in (0, last):
        kind = "input" if layer == 0 else "output"
        return f"{kind} x{unit} (position {int(ms.degrees[0][unit])} in the order)"
    return f"hidden {layer}, unit {unit} (degree {int(ms.degrees[layer][unit])})"


# ---------------------------------------------------------------------------------------------
# what can be traced, as short string keys (selectbox options, click results, cache keys)

def trace_options(ms: MaskSet, bundles: bool = False, max_bins: int = 10) -> dict[str, str]:
    """key -> label of everything that can be traced: '' (nothing), 'u:layer:unit' for a unit
    (outputs first, then hidden layers, then inputs) and, with bundles, 'g:layer:bin' first."""
    last = num_layers(ms) - 1
    opts = {"": "nothing traced"}
    if bundles:
        bun = bundle_by_degree(ms, max_bins)
        for l in range(last, -1, -1):
            for b in np.nonzero(bun.count[l])[0]:
                opts[f"g:{l}:{b}"] = f"bundle: {layer_names(ms)[l]}, {bun.label(b)} ({bun.count[l][b]} units)"
    for l in [last, *range(1, last), 0]:
        for u in range(layer_sizes(ms)[l]):
            opts[f"u:{l}:{u}"] = describe_unit(ms, l, u)
    return opts


def trace_target(ms: MaskSet, key: str, max_bins: int = 10) -> Trace | None:
    """The Trace of a key from `trace_options` ('' -> None)."""
    if not key:
        return None
    kind, layer, idx = key.split(":")
    layer, idx = int(layer), int(idx)
    if kind == "g":
        return trace(ms, layer, bundle_by_degree(ms, max_bins).units_in(layer, idx))
    return trace(ms, layer, idx)
