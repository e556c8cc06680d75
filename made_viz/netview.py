"""The network as plain JSON for the in-browser view (app_pages/netview_component.py): no streamlit.

Tracing a unit, hovering one and clearing a trace change nothing the server computes, so the browser
does them itself from data sent once (issue 17: a click that needs no server costs no rerun). This
module builds that data from a MaskSet and holds `browser_trace`, the Python twin of the component's
JavaScript: the same algorithm on the same JSON, so the tests can check that what the browser
highlights is exactly made_viz.graph's trace and made_viz.forbidden's red edges.

The view (a dict of lists and numbers only):
  d, names, sizes           D, the drawn layers' names and unit counts (layer 0 = inputs, last = outputs)
  x[l][k]                   horizontal slot of unit k of layer l (network_layout's slots), y = layer
  deg[l][k], fill, ink      its degree, its fill colour (degree scale, grey when dead) and label colour
  tip[l][k]                 the hover text (one line per item: layer, degree, fan-in/out, why greyed)
  edges[l]                  [i, j, ...] flattened: mask l connects unit i of layer l to unit j of l + 1
  direct                    the same for the direct input -> output weights ([] when there are none)
  hi[l][k], lo[l][k]        latest input position reaching the unit (-1: none) and earliest output
                            position it reaches (D + 1: none), for the forbidden paths through it
  pos                       the inputs' positions in the order (1..D)
  bad                       [[layer, i, j], ...] every edge on a forbidden path (layer -1: direct)
  labels                    whether degree numbers fit on the nodes
  colors                    the highlight palette (up, down, bad, edge, direct)
"""

from __future__ import annotations

import numpy as np

from . import forbidden as FB
from .graph import unit_reasons
from .layers import edge_count, edge_masks, fan_in_out, layer_degrees, layer_names, layer_sizes
from .masks import MaskSet
from .network_layout import EDGE_BUDGET, degree_labels_shown, unit_positions
from .plot_parts import BAD, DEAD, DIRECT, DOWN, EDGE, UP, degree_colors, text_color

__all__ = ["fits_browser", "build_view", "browser_trace", "BrowserTrace"]

DIRECT_LAYER = -1  # the layer tag of a direct input -> output edge in `bad` and in a trace's edges


def fits_browser(ms: MaskSet) -> bool:
    """Small enough to draw every edge in the browser: the same budget as the plotly figure's full view."""
    return edge_count(ms) <= EDGE_BUDGET


def _pairs(m: np.ndarray) -> list[int]:
    """A bool mask as the flattened list [i0, j0, i1, j1, ...] of its 1 entries (compact JSON)."""
    a, b = np.nonzero(m)
    return np.stack([a, b], axis=1).ravel().astype(int).tolist()


def _tip(names, l: int, k: int, deg: int, last: int, fan: tuple, why: str | None) -> str:
    what = f"pixel x{k}, position {deg} in the order" if l in (0, last) else f"unit {k}"
    lines = [f"{names[l]} · {what}", f"degree m = {deg}", f"fan-in {int(fan[0])} · fan-out {int(fan[1])}"]
    if why:
        lines.append(f"greyed: {why}")
    return "\n".join(lines)


def _finite(v: np.ndarray, none: int) -> list[int]:
    """Positions as ints, with ±inf (no input reaches / no output reached) replaced by `none`."""
    return [none if not np.isfinite(x) else int(x) for x in v]


def _bad_edges(ms: MaskSet) -> list[list[int]]:
    bad, bad_direct = FB.forbidden_edges(ms)
    out = [[l, int(i), int(j)] for l, m in enumerate(bad) for i, j in zip(*np.nonzero(m))]
    if bad_direct is not None:
        out += [[DIRECT_LAYER, int(i), int(j)] for i, j in zip(*np.nonzero(bad_direct))]
    return out


def build_view(ms: MaskSet, arrange: str = "natural", plot_width: int = 580) -> dict:
    """Everything the browser needs to draw, hover and trace the network (see the module docstring)."""
    xs, _ = unit_positions(ms, arrange)
    degs = layer_degrees(ms)
    names = layer_names(ms)
    reasons = unit_reasons(ms)
    fin, fout = fan_in_out(ms)
    last = len(degs) - 1
    fill, ink, tip = [], [], []
    for l, deg in enumerate(degs):
        cols = degree_colors(deg, ms.d)
        fill.append([DEAD if (l, k) in reasons else cols[k] for k in range(len(deg))])
        ink.append(["#374151" if (l, k) in reasons else text_color(cols[k]) for k in range(len(deg))])
        tip.append(
            [
                _tip(names, l, k, int(deg[k]), last, (fin[l][k], fout[l][k]), reasons.get((l, k)))
                for k in range(len(deg))
            ]
        )
    return {
        "d": int(ms.d),
        "names": names,
        "sizes": [int(n) for n in layer_sizes(ms)],
        "x": [np.round(x, 4).tolist() for x in xs],
        "deg": [[int(v) for v in deg] for deg in degs],
        "fill": fill,
        "ink": ink,
        "tip": tip,
        "edges": [_pairs(m) for m in edge_masks(ms)],
        "direct": [] if ms.direct is None else _pairs(np.asarray(ms.direct, dtype=bool)),
        "hi": [_finite(v, -1) for v in FB.latest_input(ms)],
        "lo": [_finite(v, ms.d + 1) for v in FB.earliest_output(ms)],
        "pos": [int(p) for p in ms.degrees[0]],
        "bad": _bad_edges(ms),
        "labels": degree_labels_shown(ms, aggregated=False, plot_width=plot_width),
        "colors": {"up": UP, "down": DOWN, "bad": BAD, "edge": EDGE, "direct": DIRECT},
    }


# ---------------------------------------------------------------------------------------------
# the component's JavaScript, in Python: used by the tests to check the browser against made_viz.graph


class BrowserTrace:
    """What the component highlights for one clicked unit: ancestors (blue), descendants (orange) and
    the edges on a forbidden path through it (red), as (layer, i, j) with layer -1 for direct edges."""

    def __init__(self, up: set, down: set, up_edges: set, down_edges: set, bad: set):
        self.up, self.down, self.up_edges, self.down_edges, self.bad = up, down, up_edges, down_edges, bad


def _adjacency(view: dict):
    """Forward and backward edge lists per unit, every edge tagged with its (layer, i, j) name."""
    fwd: dict = {}
    back: dict = {}
    last = len(view["sizes"]) - 1
    runs = [(l, l, l + 1, e) for l, e in enumerate(view["edges"])] + [(DIRECT_LAYER, 0, last, view["direct"])]
    for tag, la, lb, flat in runs:
        for n in range(0, len(flat), 2):
            i, j = flat[n], flat[n + 1]
            fwd.setdefault((la, i), []).append(((lb, j), (tag, i, j)))
            back.setdefault((lb, j), []).append(((la, i), (tag, i, j)))
    return fwd, back


def _reach(start, adj) -> tuple[set, set]:
    """Every unit reachable from `start` along `adj` (start excluded) and the edges walked."""
    seen, edges, todo = set(), set(), [start]
    while todo:
        u = todo.pop()
        for v, e in adj.get(u, ()):
            edges.add(e)
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return seen - {start}, edges


def browser_trace(view: dict, layer: int, unit: int) -> BrowserTrace:
    """The component's trace of one unit, the same algorithm as its JavaScript (`traceUnit`).

    Red edges: below the unit an edge p -> q on a path to it is forbidden when the latest input
    reaching p is not before the earliest output the unit reaches (hi[p] >= lo[unit]); above it an edge
    p -> q on a path from it when hi[unit] >= lo[q]; a direct edge i -> j when pos(i) >= pos(j)."""
    fwd, back = _adjacency(view)
    src = (layer, unit)
    up, up_edges = _reach(src, back)
    down, down_edges = _reach(src, fwd)
    hi, lo, pos = view["hi"], view["lo"], view["pos"]
    below = {
        e for e in up_edges if (pos[e[1]] >= pos[e[2]] if e[0] == DIRECT_LAYER else hi[e[0]][e[1]] >= lo[layer][unit])
    }
    above = {
        e
        for e in down_edges
        if (pos[e[1]] >= pos[e[2]] if e[0] == DIRECT_LAYER else hi[layer][unit] >= lo[e[0] + 1][e[2]])
    }
    bad = below | above
    return BrowserTrace(up, down, up_edges, down_edges, bad)
