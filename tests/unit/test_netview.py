"""made_viz.netview: the JSON the in-browser network view receives, and its trace (the Python twin of the
component's JavaScript) against made_viz.graph's trace, networkx and made_viz.forbidden's red edges."""

from __future__ import annotations

import json

import numpy as np
import pytest

from made_viz import forbidden as FB
from made_viz import graph as G
from made_viz import netview as NV
from made_viz.config import Config
from made_viz.masks import build_masks
from made_viz.plot_parts import DEAD
from tests.unit.graph_reference import build_graph, graph_trace

SEED = Config(d=3, shape=(1, 3), hidden=(4,), order=(1, 2, 0), degrees="even", seed=0)


def random_configs(n: int = 16, seed: int = 3) -> list[Config]:
    """Small nets of every kind: 0..3 hidden layers, direct weights, the broken 'nonstrict' and 'off'."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        d = int(rng.integers(2, 10))
        hidden = tuple(int(h) for h in rng.integers(1, 12, size=int(rng.integers(0, 4))))
        out.append(
            Config(
                d=d,
                hidden=hidden,
                order=["natural", "reverse", "random"][i % 3],
                degrees=["random", "even"][i % 2],
                direct=bool(i % 4 == 1),
                seed=int(rng.integers(1000)),
                masking=["made", "nonstrict", "off", "made"][i % 4],
            )
        )
    return out


CONFIGS = [SEED, *random_configs()]


def sent(ms) -> dict:
    """The view exactly as the browser gets it: through JSON."""
    return json.loads(json.dumps(NV.build_view(ms)))


def expected_red(ms, tr) -> set:
    """made_viz.forbidden's red edges of a trace as (layer, i, j), layer -1 for direct edges."""
    es = FB.trace_edges(ms, tr)
    out = {(l, int(i), int(j)) for l, m in enumerate(es.bad) for i, j in zip(*np.nonzero(m))}
    if es.bad_direct is not None:
        out |= {(NV.DIRECT_LAYER, int(i), int(j)) for i, j in zip(*np.nonzero(es.bad_direct))}
    return out


def every_unit(ms):
    return [(l, k) for l, n in enumerate(G.layer_sizes(ms)) for k in range(n)]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"d{c.d}-h{len(c.hidden)}-{c.masking}-dir{int(c.direct)}")
def test_browser_trace_equals_graph_trace_for_every_unit(cfg):
    ms = build_masks(cfg)
    view = sent(ms)
    g = build_graph(ms)
    for layer, unit in every_unit(ms):
        bt = NV.browser_trace(view, layer, unit)
        tr = G.trace(ms, layer, unit)
        assert bt.up == tr.ancestors() == graph_trace(g, (layer, unit))[0], (layer, unit)
        assert bt.down == tr.descendants() == graph_trace(g, (layer, unit))[1], (layer, unit)
        assert bt.bad == expected_red(ms, tr), (layer, unit)


def test_broken_nets_have_red_paths_to_compare():
    """The comparison above is not vacuous: the broken nets do light up red edges through some unit."""
    ms = build_masks(SEED.replace(masking="nonstrict"))
    view = sent(ms)
    assert NV.browser_trace(view, 2, 1).bad  # output x1 (first in the order) sees its own pixel: red
    assert view["bad"]


def test_view_matches_the_masks():
    ms = build_masks(SEED)
    view = sent(ms)
    assert view["sizes"] == [3, 4, 3] and view["d"] == 3
    assert view["deg"][0] == [int(v) for v in ms.degrees[0]]
    for l, m in enumerate(ms.masks):
        flat = view["edges"][l]
        pairs = {(flat[n], flat[n + 1]) for n in range(0, len(flat), 2)}
        assert pairs == {(int(i), int(j)) for i, j in zip(*np.nonzero(m))}
    assert view["direct"] == [] and view["bad"] == []
    assert view["labels"] is True
    assert "degree m = " in view["tip"][1][0]


def test_dead_units_are_grey_and_say_why():
    ms = build_masks(Config(d=5, hidden=(6, 3), order="random", degrees="random", seed=3))
    reasons = G.unit_reasons(ms)
    view = sent(ms)
    assert reasons, "this config was picked for its dead units"
    for (l, k), why in reasons.items():
        assert view["fill"][l][k] == DEAD
        assert why in view["tip"][l][k]


def test_budget_follows_the_plotly_figure():
    small = build_masks(SEED)
    big = build_masks(Config(d=784, shape=(28, 28), hidden=(500,), seed=0))
    assert NV.fits_browser(small) and not NV.fits_browser(big)
