"""The words of the network figure: a unit's and a bundle's hover text, the names of the pixels and
their conditionals, and the notes under the figure saying what a view hides (no streamlit, no torch)."""

from __future__ import annotations

from .bundles import bundle_by_degree
from .layers import edge_count, layer_sizes
from .masks import MaskSet
from .network_layout import EDGE_BUDGET, degree_labels_shown, widest


def conditional_label(ms: MaskSet, j: int) -> str:
    """p(x_j | the pixels before it), for tiny D."""
    pos = int(ms.degrees[0][j])
    before = [int(i) for i in ms.order[: pos - 1]]
    return f"p(x{j})" if not before else f"p(x{j} | {','.join(f'x{i}' for i in before)})"


def unit_hover(names, l: int, k: int, deg: int, last: int, fan: tuple, why: str | None) -> str:
    """A unit's hover: its layer, pixel or index, degree, fan-in and fan-out, and why it is greyed."""
    what = f"pixel x{k}, position {deg} in the order" if l in (0, last) else f"unit {k}"
    hover = f"<b>{names[l]}</b> · {what}<br>degree m = {deg}<br>fan-in {int(fan[0])} · fan-out {int(fan[1])}"
    if why:
        hover += f"<br><i>greyed: {why}</i>"
    return hover + "<br><span style='font-size:11px'>click to trace</span>"


def bundle_hover(name: str, kind: str, label: str, n: int, fan: tuple, dead: int) -> str:
    """A bubble's hover: its layer, degree (or position) bin, units, edges in and out, greyed units."""
    hover = f"<b>{name}</b> · {kind} {label}<br>{n} unit(s) · fan-in {int(fan[0]):,} · fan-out {int(fan[1]):,} edges"
    if dead:
        hover += f"<br><i>{dead} greyed unit(s): no input or no output</i>"
    return hover


def degree_label_note(ms: MaskSet, aggregated: bool | None = None, plot_width: int = 580) -> str:
    """'' when every node shows its degree; else one sentence saying why not and where to read it."""
    if aggregated is None:
        aggregated = edge_count(ms) > EDGE_BUDGET
    if aggregated:
        return (
            "Units are bundled by degree: a bubble shows how many units it holds; its colour and the axis "
            "below give the degrees."
        )
    if degree_labels_shown(ms, aggregated, plot_width):
        return ""
    return (
        f"With {widest(ms)} units side by side the nodes are too small for their degree numbers: the colour "
        "shows the degree (scale on the right); hover a node for its number."
    )


def aggregated_summary(ms: MaskSet, max_bins: int = 10) -> str:
    """One honest sentence on what the bundled view hides."""
    bun = bundle_by_degree(ms, max_bins)
    n_edges = edge_count(ms)
    n_bundle_edges = sum(int((bun.bin_edges(m, l, l + 1) > 0).sum()) for l, m in enumerate(ms.masks))
    units = sum(layer_sizes(ms))
    return (
        f"{n_edges:,} edges between {units:,} units are too many to draw one by one: units are bundled "
        f"by degree ({bun.width} consecutive degree{'s' if bun.width > 1 else ''} per bubble, the number "
        f"in a bubble = its units) and edges between bundles are drawn once ({n_bundle_edges:,} lines, "
        f"width ~ number of edges). Individual units and edges are hidden; hover a bubble for its counts."
    )
