"""What a student can read off the figures (issue 12, defect 8): titles that do not overlap, cells and
connections that are visible and named in a legend, degree labels that are shown or explained, and
highlights that differ by more than their hue."""

from __future__ import annotations

import numpy as np
import pytest

from made_viz import figures as F
from made_viz import graph as G
from made_viz.config import Config
from made_viz.masks import build_masks

SEED = Config(d=3, shape=(1, 3), hidden=(4,), order=(1, 2, 0), degrees="even", seed=0)
NARROW = Config(d=16, shape=(4, 4), hidden=(32, 6), seed=3)  # the "narrow" preset: 32-unit layer


def traces_named(fig, name):
    return [t for t in fig.data if t.name == name]


# ---------------------------------------------------------------------------------------------
# the trace panel's titles


def _title_extent(ann, width: int, margin_l: float, margin_r: float) -> tuple[float, float]:
    """Pixel interval of a paper-referenced annotation at a figure width, as plotly lays it out:
    xanchor "auto" means left-anchored for x <= 1/3, right-anchored for x >= 2/3, else centred.
    Text width is estimated generously at 0.6 em per character of its longest line."""
    size = ann.font.size
    text_px = max(len(line) for line in ann.text.split("<br>")) * 0.6 * size
    x = margin_l + ann.x * (width - margin_l - margin_r)
    anchor = ann.xanchor or "auto"
    if anchor == "auto":
        anchor = "left" if ann.x <= 1 / 3 else "right" if ann.x >= 2 / 3 else "center"
    if anchor == "left":
        return x, x + text_px
    if anchor == "right":
        return x - text_px, x
    return x - text_px / 2, x + text_px / 2


@pytest.mark.parametrize("width", [180, 220, 270, 360])
def test_hidden_unit_panel_titles_do_not_overlap(width):
    ms = build_masks(NARROW)
    fig = F.dependency_figure(ms, G.trace(ms, 1, 0), (4, 4))
    titles = list(fig.layout.annotations)
    assert len(titles) == 2
    m = fig.layout.margin
    (a0, a1), (b0, b1) = sorted(_title_extent(t, width, m.l, m.r) for t in titles)
    assert a1 < b0, f"titles overlap at {width}px: {a0:.0f}-{a1:.0f} and {b0:.0f}-{b1:.0f}"
    assert a0 >= 0 and b1 <= width, "a title is cut at the figure's edge"
    lines = max(t.text.count("<br>") + 1 for t in titles)
    assert m.t >= lines * 14 * 1.2, "the top margin must hold every line of the titles"


# ---------------------------------------------------------------------------------------------
# "not connected" cells


def _rgb(color: str) -> tuple[int, int, int]:
    color = {"white": "#ffffff"}.get(color.strip(), color.strip())
    if color.startswith("#"):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(v)) for v in color[color.index("(") + 1 : -1].split(",")[:3])


def test_not_connected_cells_are_visible_on_white_and_in_the_legend():
    ms = build_masks(NARROW)
    tr = G.trace(ms, 1, 0)
    fig = F.dependency_figure(ms, tr, (4, 4))
    heat = [t for t in fig.data if t.type == "heatmap"][0]
    code = F.AFTER + 0.5  # the heatmap draws category k at k + 0.5
    scale = [(float(v), c) for v, c in heat.colorscale]
    cell = [c for v, c in scale if v <= code / (heat.zmax - heat.zmin)][-1]
    background = _rgb(fig.layout.plot_bgcolor)
    assert sum(abs(a - b) for a, b in zip(_rgb(cell), background)) >= 30, cell
    legend = dict((name, color) for color, name in F.dependency_legend(ms, tr))
    assert "not connected" in legend and _rgb(legend["not connected"]) == _rgb(cell)


# ---------------------------------------------------------------------------------------------
# degree numbers on the nodes


def test_32_unit_layers_keep_their_degree_numbers():
    ms = build_masks(NARROW)
    units = traces_named(F.network_figure(ms), "units")[0]
    degrees = [int(d) for deg in G.layer_degrees(ms) for d in deg]
    assert list(units.text) == [str(d) for d in degrees]
    assert units.mode == "markers+text" and units.textfont.size >= 8
    assert F.degree_labels_shown(ms) is True and F.degree_label_note(ms) == ""


def test_when_degree_numbers_do_not_fit_the_figure_says_so():
    ms = build_masks(Config(d=64, shape=(8, 8), hidden=(8,)))  # 64 inputs side by side: too small
    fig = F.network_figure(ms)
    assert not traces_named(fig, "units")[0].text or not any(traces_named(fig, "units")[0].text)
    assert F.degree_labels_shown(ms) is False
    note = F.degree_label_note(ms)
    assert "64" in note and "colour" in note  # says why (64 units side by side) and where to look
    assert any(getattr(t.marker, "showscale", False) for t in fig.data if t.type == "scatter")
    big = build_masks(Config(d=64, shape=(8, 8), hidden=(128, 128)))  # bundled: bubbles show unit counts
    assert F.degree_labels_shown(big) is False and "bundle" in F.degree_label_note(big)


# ---------------------------------------------------------------------------------------------
# direct connections


@pytest.mark.parametrize("aggregated", [False, True])
def test_direct_connections_have_a_legend_entry(aggregated):
    cfg = SEED.replace(direct=True) if not aggregated else Config(d=40, hidden=(200,), direct=True)
    fig = F.network_figure(build_masks(cfg), aggregated=aggregated)
    direct = [t for t in fig.data if t.type == "scatter" and t.mode == "lines" and t.line.dash == "dot"]
    assert direct
    assert any(t.showlegend and "direct" in t.name for t in direct)


def test_direct_mask_heatmap_is_the_strict_rule_in_generation_order():
    cfg = Config(d=6, hidden=(5,), order="random", seed=4, direct=True)
    ms = build_masks(cfg)
    fig = F.direct_mask_figure(ms)
    z = np.asarray(fig.data[0].z, dtype=float)
    # rows = output position, columns = input position: input t feeds output s iff t < s
    np.testing.assert_array_equal(z, np.tril(np.ones((6, 6)), k=-1))
    assert len(fig.data) == 1  # nothing forbidden
    assert fig.layout.xaxis.title.text == "input (position in order)"
    assert fig.layout.yaxis.title.text == "output (position in order)"
    broken = F.direct_mask_figure(build_masks(cfg.replace(masking="nonstrict")))
    red = np.asarray(broken.data[1].z, dtype=float)
    np.testing.assert_array_equal(np.isfinite(red), np.eye(6, dtype=bool))  # the pixel's own value
    with pytest.raises(ValueError, match="direct"):
        F.direct_mask_figure(build_masks(cfg.replace(direct=False)))


# ---------------------------------------------------------------------------------------------
# highlights that differ by more than hue


def test_forbidden_and_reached_from_edges_differ_by_dash():
    ms = build_masks(SEED.replace(masking="nonstrict"))
    fig = F.network_figure(ms, tr=G.trace(ms, 1, 0))
    red = traces_named(fig, "forbidden path")
    orange = traces_named(fig, "reached from it")
    assert red and orange
    assert {t.line.dash for t in red}.isdisjoint({t.line.dash for t in orange})


def _marked_cells(fig, symbol_of):
    """{symbol: set of (row, col)} of the marker overlays drawn on the images."""
    out: dict = {}
    for t in fig.data:
        if t.type == "scatter" and t.mode == "markers":
            for x, y in zip(t.x, t.y):
                out.setdefault(symbol_of(t), set()).add((int(y), int(x)))
    return out


def _output_with(ms, category):
    """The first output whose inputs include `category`, with its trace and categories."""
    last = G.num_layers(ms) - 1
    for j in range(ms.d):
        tr = G.trace(ms, last, j)
        seen, _ = F.dependency_categories(ms, tr)
        if (seen == category).any():
            return tr, seen
    pytest.fail(f"no output with category {category} in this config")


def test_forbidden_and_starved_pixels_carry_distinct_markers():
    """Exactly the forbidden cells carry one marker and exactly the starved cells another; the
    orange 'feeds' cells carry none (they differ from red by the marker)."""
    symbols = {}
    for cfg, category in ((NARROW.replace(masking="nonstrict"), F.FORBIDDEN), (NARROW, F.STARVED)):
        ms = build_masks(cfg)
        tr, seen = _output_with(ms, category)
        fig = F.dependency_figure(ms, tr, (4, 4))
        marks = _marked_cells(fig, lambda t: t.marker.symbol)
        grid = seen.reshape(4, 4)
        want = {(int(r), int(c)) for r, c in zip(*np.nonzero(grid == category))}
        assert len(marks) == 1 and list(marks.values())[0] == want, (marks, want)
        symbols[category] = list(marks)[0]
        legend = dict((name, color) for color, name in F.dependency_legend(ms, tr))
        assert any(("✕" if category == F.FORBIDDEN else "○") in n for n in legend)
    assert symbols[F.FORBIDDEN] != symbols[F.STARVED]
    ms = build_masks(NARROW)
    fig = F.dependency_figure(ms, G.trace(ms, 0, 3), (4, 4))  # an input: outputs it feeds, none forbidden
    assert not _marked_cells(fig, lambda t: t.marker.symbol)
