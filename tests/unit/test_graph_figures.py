"""made_viz.graph (tracing, forbidden paths, degree bundles) and made_viz.figures (network and mask
figures): tracing must be exact, big networks must stay light, broken nets must show red."""

from __future__ import annotations

import base64
import json

import networkx as nx
import numpy as np
import plotly.io as pio
import pytest

from made_viz import figures as F
from made_viz import forbidden as FB
from made_viz import graph as G
from made_viz.bundles import bundle_by_degree
from made_viz.config import Config
from made_viz.masks import build_masks
from tests.unit.graph_reference import build_graph, graph_trace

SEED = Config(d=3, shape=(1, 3), hidden=(4,), order=(1, 2, 0), degrees="even", seed=0)


def random_configs(n: int = 12, seed: int = 0) -> list[Config]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        d = int(rng.integers(2, 11))
        hidden = tuple(int(h) for h in rng.integers(1, 14, size=int(rng.integers(0, 4))))
        out.append(
            Config(
                d=d,
                hidden=hidden,
                order=["natural", "reverse", "random"][i % 3],
                degrees=["random", "even"][i % 2],
                direct=bool(i % 4 == 1),
                seed=int(rng.integers(1000)),
                masking=["made", "made", "nonstrict", "off"][i % 4],
            )
        )
    return out


CONFIGS = random_configs()


def trace_named(fig, name: str):
    return [t for t in fig.data if t.name == name]


def n_segments(traces) -> int:
    """Number of drawn line pieces (NaN-separated runs) in line traces."""
    total = 0
    for t in traces:
        x = np.asarray(t.x, dtype=float)
        total += int(np.sum(np.isnan(x)))
    return total


# ---------------------------------------------------------------------------------------------
# tracing


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"d{c.d}-h{'x'.join(map(str, c.hidden)) or 0}-{c.masking}")
def test_graph_tracing_of_outputs_equals_connectivity(cfg):
    ms = build_masks(cfg)
    g = build_graph(ms)
    last = G.num_layers(ms) - 1
    conn = ms.connectivity()
    assert g.number_of_edges() == G.edge_count(ms)
    for d in range(cfg.d):
        anc, _ = graph_trace(g, (last, d))
        from_graph = sorted(u for (l, u) in anc if l == 0)
        assert from_graph == np.nonzero(conn[:, d])[0].tolist()
        assert G.trace(ms, last, d).inputs.tolist() == from_graph


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"d{c.d}-h{'x'.join(map(str, c.hidden)) or 0}-{c.masking}")
def test_matrix_trace_matches_graph_for_every_unit(cfg):
    ms = build_masks(cfg)
    g = build_graph(ms)
    reach_in, reach_out = G.input_reach(ms), G.output_reach(ms)
    for layer, n in enumerate(G.layer_sizes(ms)):
        for unit in range(n):
            anc, desc = graph_trace(g, (layer, unit))
            tr = G.trace(ms, layer, unit)
            assert tr.ancestors() == anc
            assert tr.descendants() == desc
            if 0 < layer < G.num_layers(ms) - 1:  # hidden: the inputs it sees, the outputs it feeds
                assert tr.up[0].tolist() == reach_in[layer][:, unit].tolist()
                assert tr.down[-1].tolist() == reach_out[layer][unit].tolist()


def test_trace_of_a_bundle_is_the_union_of_its_units():
    ms = build_masks(Config(d=8, hidden=(20, 20), seed=4))
    units = [0, 3, 7]
    tr = G.trace(ms, 1, units)
    singles = [G.trace(ms, 1, u) for u in units]
    for l in range(G.num_layers(ms)):
        assert tr.up[l].tolist() == np.logical_or.reduce([s.up[l] for s in singles]).tolist()
        assert tr.down[l].tolist() == np.logical_or.reduce([s.down[l] for s in singles]).tolist()


def test_trace_rejects_bad_units():
    ms = build_masks(SEED)
    with pytest.raises(ValueError):
        G.trace(ms, 5, 0)
    with pytest.raises(ValueError):
        G.trace(ms, 1, 4)


# ---------------------------------------------------------------------------------------------
# forbidden edges


def brute_force_bad_edges(ms) -> set:
    """Edges on a path input i -> ... -> output j with i not before j, by networkx."""
    g = build_graph(ms)
    last = G.num_layers(ms) - 1
    pos = ms.degrees[0]
    bad = set()
    for a, b in set(g.edges()):
        up = {u for (l, u) in nx.ancestors(g, a) | {a} if l == 0}
        down = {u for (l, u) in nx.descendants(g, b) | {b} if l == last}
        if any(pos[i] >= pos[j] for i in up for j in down):
            bad.add((a, b))
    return bad


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"d{c.d}-h{'x'.join(map(str, c.hidden)) or 0}-{c.masking}")
def test_forbidden_edges_match_brute_force(cfg):
    ms = build_masks(cfg)
    bad, bad_direct = FB.forbidden_edges(ms)
    last = G.num_layers(ms) - 1
    got = {((l, int(a)), (l + 1, int(b))) for l, m in enumerate(bad) for a, b in zip(*np.nonzero(m))}
    if bad_direct is not None:
        got |= {((0, int(a)), (last, int(b))) for a, b in zip(*np.nonzero(bad_direct))}
    assert got == brute_force_bad_edges(ms)
    assert bool(got) == (not ms.is_autoregressive())


@pytest.mark.parametrize("masking", ["nonstrict", "off"])
def test_broken_variants_draw_red_forbidden_edges(masking):
    ms_ok = build_masks(SEED)
    assert not trace_named(F.network_figure(ms_ok), "forbidden path")
    ms = build_masks(SEED.replace(masking=masking))
    fig = F.network_figure(ms)
    red = trace_named(fig, "forbidden path")
    assert red and red[0].line.color.startswith("rgba(220,38,38")
    assert n_segments(red) == FB.trace_edges(ms, None).count_bad() > 0
    # traced: the forbidden path into the output of the first violation, and only edges of the trace
    i, j = ms.violations()[0]
    tr = G.trace(ms, G.num_layers(ms) - 1, j)
    es = FB.trace_edges(ms, tr)
    assert es.count_bad() > 0
    for up, bad in zip(es.up, es.bad):
        assert not (bad & ~up).any()
    assert trace_named(F.network_figure(ms, tr=tr), "forbidden path")


def test_traced_bad_edges_lie_on_forbidden_paths_through_the_unit():
    for cfg in CONFIGS:
        ms = build_masks(cfg)
        all_bad, _ = FB.forbidden_edges(ms)
        for layer, n in enumerate(G.layer_sizes(ms)):
            for unit in range(n):
                es = FB.trace_edges(ms, G.trace(ms, layer, unit))
                for b, a in zip(es.bad, all_bad):
                    assert not (b & ~a).any()
                if ms.is_autoregressive():
                    assert es.count_bad() == 0


# ---------------------------------------------------------------------------------------------
# the drawing


def test_seed_preset_looks_like_the_paper_figure():
    ms = build_masks(SEED)
    fig = F.network_figure(ms)
    units = trace_named(fig, "units")[0]
    layers = [int(c[0]) for c in units.customdata]
    assert [layers.count(l) for l in range(3)] == [3, 4, 3]
    text = list(units.text)
    assert text[:3] == ["3", "1", "2"]  # inputs x0, x1, x2 labelled with m0 = (3, 1, 2)
    assert text[-3:] == ["3", "1", "2"]  # outputs carry their pixel's degree
    assert all(t in ("1", "2") for t in text[3:7])  # hidden degrees in [1, D-1]
    assert "markers+text" == units.mode
    # edges only where the mask is 1
    assert n_segments(trace_named(fig, "edge (mask = 1)")) == G.edge_count(ms) == 12
    labels = [t for t in fig.data if t.mode == "text"]
    assert any("p(x0 | x1,x2)" in list(t.text) for t in labels)


def test_sorted_arrangement_puts_inputs_in_generation_order():
    ms = build_masks(SEED)
    units = trace_named(F.network_figure(ms, arrange="order"), "units")[0]
    xs = np.asarray(units.x[:3])
    assert [int(ms.degrees[0][i]) for i in np.argsort(xs)] == [1, 2, 3]


def test_dead_units_are_greyed_with_a_reason():
    cfg = Config(d=16, shape=(4, 4), hidden=(32, 6), order="natural", degrees="random", seed=3)
    ms = build_masks(cfg)
    reasons = G.unit_reasons(ms)
    assert reasons  # the "narrow" preset has units that reach no output
    units = trace_named(F.network_figure(ms), "units")[0]
    for (l, k, _), color, hover in zip(units.customdata, units.marker.color, units.hovertext):
        if (l, k) in reasons:
            assert color == F.DEAD and reasons[(l, k)] in hover


def test_aggregated_view_above_the_edge_budget_and_its_counts_add_up():
    small = build_masks(Config(d=16, hidden=(32, 6)))
    assert G.edge_count(small) <= F.EDGE_BUDGET
    assert trace_named(F.network_figure(small), "units")
    ms = build_masks(Config(d=64, shape=(8, 8), hidden=(128, 128)))
    assert G.edge_count(ms) > F.EDGE_BUDGET
    fig = F.network_figure(ms)
    assert not trace_named(fig, "units")
    bundles = trace_named(fig, "bundles")[0]
    bun = bundle_by_degree(ms)
    total = 0
    for l, m in enumerate(ms.masks):
        c = bun.bin_edges(m, l, l + 1)
        assert c.sum() == m.sum()
        total += int(c.sum())
    assert total == G.edge_count(ms)
    # every unit is in exactly one bubble, and the bubble labels are the unit counts
    assert sum(int(t) for t in bundles.text if t) <= sum(G.layer_sizes(ms))
    assert sum(int(c.sum()) for c in bun.count) == sum(G.layer_sizes(ms))
    drawn = sum(int((bun.bin_edges(m, l, l + 1) > 0).sum()) for l, m in enumerate(ms.masks))
    assert n_segments(trace_named(fig, "edges between bins")) == drawn
    n_edges = sum(int(np.count_nonzero(m)) for m in ms.masks)  # counted from the masks, not by the library
    assert f"{n_edges:,} edges between {64 + 128 + 128 + 64:,} units" in F.aggregated_summary(ms)


def test_aggregated_with_direct_connections_counts_them_too():
    ms = build_masks(Config(d=40, hidden=(200,), direct=True))
    bun = bundle_by_degree(ms)
    assert bun.bin_edges(ms.direct, 0, 2).sum() == ms.direct.sum()
    fig = F.network_figure(ms, aggregated=True)
    assert any(t.line.dash == "dot" for t in fig.data if t.mode == "lines")


@pytest.mark.parametrize("masking", ["made", "off"])
def test_mnist_sized_figure_json_is_small(masking):
    ms = build_masks(Config(d=784, shape=(28, 28), hidden=(500,), masking=masking))
    for tr in (None, G.trace(ms, 2, 400), G.trace(ms, 1, 0)):
        fig = F.network_figure(ms, tr=tr)
        size = len(pio.to_json(fig, validate=False))
        assert size < 2_000_000, size
        assert len(fig.data) < 60  # one trace per colour / width class, never one per edge
    for fig in (F.mask_figure(ms, 0), F.mask_figure(ms, 1), F.connectivity_figure(ms)):
        assert len(pio.to_json(fig, validate=False)) < 2_000_000


def test_drawing_every_edge_of_the_digits_net_stays_under_budget():
    ms = build_masks(Config(d=64, shape=(8, 8), hidden=(128, 128)))
    fig = F.network_figure(ms, aggregated=False)
    assert n_segments(trace_named(fig, "edge (mask = 1)")) == G.edge_count(ms)
    assert len(pio.to_json(fig, validate=False)) < 2_000_000


def test_tracing_highlights_units_and_edges():
    ms = build_masks(SEED)
    tr = G.trace(ms, 1, 0)  # hidden unit 0, degree 1: sees x1, feeds outputs at positions 2 and 3
    fig = F.network_figure(ms, tr=tr)
    units = trace_named(fig, "units")[0]
    ops = dict(zip([tuple(c[:2]) for c in units.customdata], units.marker.opacity))
    assert ops[(0, 1)] == 1.0 and ops[(0, 0)] < 1.0  # x1 reaches it, x0 does not
    assert ops[(2, 0)] == 1.0 and ops[(2, 2)] == 1.0 and ops[(2, 1)] < 1.0
    assert n_segments(trace_named(fig, "reaches the traced unit")) == 1
    assert n_segments(trace_named(fig, "reached from it")) == 2


# ---------------------------------------------------------------------------------------------
# heatmaps, images, text


def test_connectivity_heatmap_is_strictly_lower_triangular_for_a_made():
    ms = build_masks(Config(d=10, hidden=(30, 30), order="random", seed=2))
    fig = F.connectivity_figure(ms)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.all(np.isnan(z[np.triu_indices(10)]))
    assert len(fig.data) == 1  # no red overlay
    assert fig.layout.xaxis.title.text == "input (position in order)"
    assert fig.layout.yaxis.title.text == "output (position in order)"
    broken = F.connectivity_figure(build_masks(Config(d=10, hidden=(30, 30), masking="nonstrict")))
    assert len(broken.data) == 2 and np.isfinite(np.asarray(broken.data[1].z, dtype=float)).any()


def test_mask_heatmap_shape_and_downsampling():
    ms = build_masks(Config(d=16, hidden=(32, 6)))
    fig = F.mask_figure(ms, 0)
    assert np.asarray(fig.data[0].z).shape == (32, 16)  # rows receive, columns send
    big = F.mask_figure(build_masks(Config(d=784, hidden=(500,))), 0)
    assert max(np.asarray(big.data[0].z).shape) <= F.MAX_CELLS


def test_dependency_categories_of_an_output():
    ms = build_masks(Config(d=16, shape=(4, 4), hidden=(32, 6), seed=3))
    last = G.num_layers(ms) - 1
    conn = ms.connectivity()
    for j in range(16):
        seen, feeds = F.dependency_categories(ms, G.trace(ms, last, j))
        assert feeds is None
        assert ((seen == F.SEEN) == (conn[:, j] > 0)).all()
        before = ms.degrees[0] < ms.degrees[0][j]
        assert ((seen == F.STARVED) == (before & (conn[:, j] == 0))).all()
    fig = F.dependency_figure(ms, G.trace(ms, 1, 0), (4, 4))
    assert len(fig.data) == 2  # a hidden unit: the pixels it sees and the outputs it feeds


def test_trace_summary_names_the_unit_and_the_forbidden_pixel():
    ms = build_masks(SEED)
    text = G.trace_summary(ms, G.trace(ms, 2, 0))
    assert "output x0" in text and "x1, x2" in text and "Exactly the pixels before it" in text
    broken = build_masks(SEED.replace(masking="nonstrict"))
    i, j = broken.violations()[0]
    assert i == j  # ">=" lets an output see its own pixel
    assert f"it sees its own pixel x{j}" in G.trace_summary(broken, G.trace(broken, 2, j))
    off = build_masks(SEED.replace(masking="off"))
    assert "Forbidden:** 3 of them are not before x1, x1 itself included" in G.trace_summary(off, G.trace(off, 2, 1))
    first = G.trace_summary(ms, G.trace(ms, 2, 1))
    assert "learned constant" in first


def test_chain_rule_for_the_seed_ordering():
    tex = F.chain_rule_latex(build_masks(SEED))
    assert tex == r"p(\mathbf{x}) = p(x_{1})\,p(x_{2} \mid x_{1})\,p(x_{0} \mid x_{1},x_{2})"
    assert r"\prod" in F.chain_rule_latex(build_masks(Config(d=64)))


def _from_json(v) -> np.ndarray:
    """An array as the browser receives it: a base64 typed array {dtype, bdata, shape} or a list (null = NaN)."""
    if isinstance(v, dict):
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(
        [[np.nan if x is None else x for x in r] if isinstance(r, list) else (np.nan if r is None else r) for r in v],
        dtype=float,
    )


def _json_pieces(trace: dict) -> int:
    """Line pieces in a trace as the browser receives it (NaN-separated)."""
    return int(np.isnan(_from_json(trace["x"]).astype(float)).sum())


def test_figures_survive_json_with_their_content():
    """What the browser receives (plotly JSON) still holds every edge, every unit's degree and every
    mask entry, counted independently from the masks."""
    ms = build_masks(SEED.replace(direct=True))
    for tr in (None, G.trace(ms, 0, 1)):
        data = json.loads(pio.to_json(F.network_figure(ms, tr=tr), validate=False))["data"]
        mask_lines = [t for t in data if t.get("name") == "edge (mask = 1)"]
        direct_lines = [
            t
            for t in data
            if t.get("line", {}).get("dash") == "dot"
            and "traced" not in t["name"]
            and "reach" not in t["name"]
            and "forbidden" not in t["name"]
        ]
        assert sum(map(_json_pieces, mask_lines)) == sum(int(np.count_nonzero(m)) for m in ms.masks) == 12
        assert sum(map(_json_pieces, direct_lines)) == int(np.count_nonzero(ms.direct)) == 3
        units = [t for t in data if t.get("name") == "units"][0]
        assert units["text"] == [str(int(v)) for v in [*ms.degrees[0], *ms.degrees[1], *ms.degrees[0]]]
    heat = json.loads(pio.to_json(F.mask_figure(ms, 1), validate=False))["data"][0]
    m0, m1 = ms.degrees[0], ms.degrees[1]
    want = (np.sort(m1)[None, :] < np.sort(m0)[:, None]).astype(int)  # output rule, both sorted by degree
    assert _from_json(heat["z"]).astype(int).tolist() == want.tolist()
    conn = json.loads(pio.to_json(F.connectivity_figure(ms), validate=False))["data"][0]
    z = _from_json(conn["z"]).astype(float)
    assert np.isnan(z[np.triu_indices(3)]).all() and (z[np.tril_indices(3, -1)] > 0).all()
    dep = json.loads(pio.to_json(F.dependency_figure(ms, G.trace(ms, 2, 0), (1, 3)), validate=False))["data"][0]
    assert [round(v - 0.5) for v in _from_json(dep["z"])[0]] == [F.SELF, F.SEEN, F.SEEN]  # x0 sees x1 and x2


def test_bundle_bad_edges_are_the_union_of_its_units():
    """Tracing several units at once: red = forbidden paths through one of them (never a path into
    one source glued to a forbidden partner of another)."""
    for cfg in CONFIGS + [Config(d=12, hidden=(30,), seed=5)]:
        ms = build_masks(cfg)
        rng = np.random.default_rng(cfg.seed)
        for layer, n in enumerate(G.layer_sizes(ms)):
            units = sorted(set(rng.integers(0, n, size=min(n, 4)).tolist()))
            es = FB.trace_edges(ms, G.trace(ms, layer, units))
            singles = [FB.trace_edges(ms, G.trace(ms, layer, u)) for u in units]
            for l in range(len(ms.masks)):
                assert (es.bad[l] == np.logical_or.reduce([x.bad[l] for x in singles])).all()
                assert (es.up[l] == np.logical_or.reduce([x.up[l] for x in singles])).all()


def test_a_true_made_bundle_shows_no_red():
    ms = build_masks(Config(d=64, shape=(8, 8), hidden=(128, 128)))
    bun = bundle_by_degree(ms)
    for layer in range(G.num_layers(ms)):
        for b in np.nonzero(bun.count[layer])[0]:
            tr = G.trace(ms, layer, bun.units_in(layer, b))
            assert FB.trace_edges(ms, tr).count_bad() == 0
            assert all(c is None or not (c == F.FORBIDDEN).any() for c in F.dependency_categories(ms, tr))
    fig = F.network_figure(ms, tr=G.trace(ms, 3, bun.units_in(3, bun.num_bins - 2)))
    assert not trace_named(fig, "forbidden path")


@pytest.mark.parametrize("cfg", CONFIGS[:8], ids=lambda c: f"d{c.d}-h{'x'.join(map(str, c.hidden)) or 0}-{c.masking}")
def test_traced_bad_edges_match_brute_force_paths_through_the_unit(cfg):
    ms = build_masks(cfg)
    g = build_graph(ms)
    last = G.num_layers(ms) - 1
    pos = ms.degrees[0]

    def inputs_of(v):
        return {u for (l, u) in nx.ancestors(g, v) | {v} if l == 0}

    def outputs_of(v):
        return {u for (l, u) in nx.descendants(g, v) | {v} if l == last}

    for layer, n in enumerate(G.layer_sizes(ms)):
        for unit in range(n):
            src = (layer, unit)
            anc, desc = nx.ancestors(g, src) | {src}, nx.descendants(g, src) | {src}
            want = set()
            for a, b in set(g.edges()):
                if b in anc and a[0] < b[0]:  # below the source
                    ins, outs = inputs_of(a), outputs_of(src)
                elif a in desc and a[0] < b[0] and a[0] >= layer:  # above it
                    ins, outs = inputs_of(src), outputs_of(b)
                else:
                    continue
                if any(pos[i] >= pos[j] for i in ins for j in outs):
                    want.add((a, b))
            es = FB.trace_edges(ms, G.trace(ms, layer, unit))
            got = {((l, int(p)), (l + 1, int(q))) for l, m in enumerate(es.bad) for p, q in zip(*np.nonzero(m))}
            if es.bad_direct is not None:
                got |= {((0, int(p)), (last, int(q))) for p, q in zip(*np.nonzero(es.bad_direct))}
            assert got == want, (src, got ^ want)


def test_trace_options_and_targets_round_trip():
    ms = build_masks(Config(d=64, shape=(8, 8), hidden=(128, 128)))
    opts = G.trace_options(ms, bundles=True)
    assert opts[""] == "nothing traced"
    assert sum(k.startswith("u:") for k in opts) == 64 + 128 + 128 + 64
    assert next(iter(k for k in opts if k)).startswith("g:3:")  # bundles of outputs first
    assert G.trace_target(ms, "") is None
    tr = G.trace_target(ms, "u:3:5")
    assert tr.layer == 3 and tr.units == (5,)
    bun = bundle_by_degree(ms)
    assert G.trace_target(ms, "g:1:2").units == tuple(bun.units_in(1, 2))
    assert not any(k.startswith("g:") for k in G.trace_options(ms))


def test_dependency_categories_of_a_bundle_agree_with_its_units():
    for cfg in CONFIGS:
        ms = build_masks(cfg)
        rng = np.random.default_rng(cfg.seed + 1)
        for layer, n in enumerate(G.layer_sizes(ms)):
            units = sorted(set(rng.integers(0, n, size=min(n, 3)).tolist()))
            both = F.dependency_categories(ms, G.trace(ms, layer, units))
            singles = [F.dependency_categories(ms, G.trace(ms, layer, u)) for u in units]
            for side in (0, 1):
                if both[side] is None:
                    continue
                got = both[side] == F.FORBIDDEN
                want = np.logical_or.reduce([s[side] == F.FORBIDDEN for s in singles])
                assert (got == want).all(), (cfg, layer, units, side)
                hit = np.logical_or.reduce([np.isin(s[side], (F.SEEN, F.FED, F.FORBIDDEN)) for s in singles])
                assert (np.isin(both[side], (F.SEEN, F.FED, F.FORBIDDEN)) == hit).all()


def test_forbidden_edges_for_the_largest_d_are_exactly_the_pixels_own_paths():
    """D = 4096 with the non-strict output rule (speed: bench/bench_arch_page.py). With one hidden layer
    a forbidden path i -> k -> j needs m0(j) <= m0(i) <= m1(k) <= m0(j): it is a pixel's own value
    i = j through a unit of degree exactly m0(i), so the red edges are known in closed form."""
    ms = build_masks(Config(d=4096, shape=(64, 64), hidden=(1000,), masking="nonstrict"))
    m0, m1 = ms.degrees
    bad, _ = FB.forbidden_edges(ms)
    np.testing.assert_array_equal(bad[0], m0[:, None] == m1[None, :])
    np.testing.assert_array_equal(bad[1], m1[:, None] == m0[None, :])
    assert bad[0].any()
    j = int(np.nonzero(m0 == m1[100])[0][0])  # an output whose own degree some unit has
    es = FB.trace_edges(ms, G.trace(ms, 2, j))
    only_j = np.zeros(4096, dtype=bool)
    only_j[j] = True
    np.testing.assert_array_equal(es.bad[0], only_j[:, None] & (m1 == m0[j])[None, :])
    np.testing.assert_array_equal(es.bad[1], (m1 == m0[j])[:, None] & only_j[None, :])
