"""The masked network as a graph: tracing what reaches a unit and what it reaches, and what to say about it.

numpy only, no streamlit, no plotting. Units and layers are described as in `layers`
(layer 0 = inputs, 1..L = hidden layers, L+1 = outputs).

Two ways to trace, which must agree (the tests check it):
  - `tests/unit/graph_reference.py`: a networkx MultiDiGraph and its ancestors/descendants
    (the readable reference, fine for small networks; networkx is a test dependency only);
  - `trace`: boolean reachability on the masks, layer by layer (what the page uses: fast
    for D = 784 with 500 hidden units, where the graph has ~400,000 edges).
Forbidden paths live in `forbidden`, degree bundles in `bundles`; this module turns a trace into the
sentences and the selectbox keys the Architecture page shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bundles import bundle_by_degree
from .layers import Unit, edge_count, edge_masks, layer_degrees, layer_names, layer_sizes, memo, num_layers
from .masks import BLOCK_CELLS, MaskSet, blocked_matmul

__all__ = [
    "Unit",
    "Trace",
    "trace",
    "input_reach",
    "output_reach",
    "diagnostics",
    "unit_reasons",
    "trace_summary",
    "describe_unit",
    "trace_options",
    "first_violation",
    "trace_target",
    # the layer vocabulary callers reach through this module (home: layers)
    "edge_count",
    "layer_degrees",
    "layer_names",
    "layer_sizes",
    "num_layers",
]


# ---------------------------------------------------------------------------------------------
# fast tracing: boolean reachability, layer by layer, in bounded blocks


def _step_down(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Units of the next layer fed by some unit in v (an OR over the rows of m picked by v)."""
    out = np.zeros(m.shape[1], dtype=bool)
    rows = np.nonzero(v)[0]
    step = max(1, BLOCK_CELLS // max(m.shape[1], 1))
    for a in range(0, len(rows), step):
        out |= m[rows[a : a + step]].any(axis=0)
    return out


def _step_up(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Units of the previous layer that feed some unit in v."""
    return _step_down(v, m.T)


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
    masks = edge_masks(ms)
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


def input_reach(ms: MaskSet) -> list[np.ndarray]:
    """A[l] (D, n_l) bool: input i has a path to unit k of drawn layer l (direct edges included)."""
    return memo(ms, "input_reach", _input_reach)


def output_reach(ms: MaskSet) -> list[np.ndarray]:
    """B[l] (n_l, D) bool: unit k of drawn layer l has a path to output j (direct edges included)."""
    return memo(ms, "output_reach", _output_reach)


def _input_reach(ms: MaskSet) -> list[np.ndarray]:
    reach = [np.eye(ms.d, dtype=bool)]
    for m in edge_masks(ms):
        reach.append(blocked_matmul(reach[-1], m, np.float32) > 0)  # exact: counts stay below 2^24
    if ms.direct is not None:
        reach[-1] = reach[-1] | ms.direct
    return reach


def _output_reach(ms: MaskSet) -> list[np.ndarray]:
    reach = [np.eye(ms.d, dtype=bool)]
    for m in reversed(edge_masks(ms)):
        reach.append(blocked_matmul(m, reach[-1], np.float32) > 0)
    reach = reach[::-1]
    if ms.direct is not None:
        reach[0] = reach[0] | ms.direct
    return reach


# ---------------------------------------------------------------------------------------------
# what to tell a student about units and traces


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
        head = (
            f"**Tracing a bundle of {len(tr.units)} units of {layer_names(ms)[tr.layer]}** "
            f"(degrees {int(deg.min())}–{int(deg.max())})"
        )
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
            return text + (
                f" It may see all {len(may)} pixels before it: {len(may) - len(seen)} missing (a starved conditional)."
            )
        return text + " Exactly the pixels before it in the order."
    feeds = in_order(tr.outputs)
    if tr.layer == 0:
        return f"{head}: {len(feeds)} output(s) depend on it ({_pixels(feeds)})."
    return (
        f"{head}: it sees {len(seen)} input(s) ({_pixels(seen)}) and feeds {len(feeds)} output(s) ({_pixels(feeds)})."
    )


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
    (outputs first, then hidden layers, then inputs) and, with bundles, 'g:layer:bin' first.
    Made once per MaskSet (the page asks on every run; D = 64 with 2 x 128 units: 384 labels), a copy given."""
    return dict(memo(ms, f"trace_options.{bundles}.{max_bins}", lambda m: _trace_options(m, bundles, max_bins)))


def first_violation(ms: MaskSet) -> list[tuple[int, int]]:
    """The first of MaskSet.violations() ([] for a true MADE), once per MaskSet: the Architecture page asks on
    every run, and the masks' product behind it does not change."""
    return list(memo(ms, "first_violation", lambda m: m.violations()[:1]))


def _trace_options(ms: MaskSet, bundles: bool, max_bins: int) -> dict[str, str]:
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
