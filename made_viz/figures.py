"""Plotly figures of the masked network and its masks (no streamlit, no torch): one import for the pages.

Each figure has its own home; this module hands their public names on and holds the formula:
- `network_figure`, `aggregated_summary`, `degree_labels_shown`, `degree_label_note`, `EDGE_BUDGET`,
  `FULL_EDGE_LIMIT` (network_figure.py): the layered, degree-labelled network, bundled by degree above
  an edge budget;
- `mask_figure`, `direct_mask_figure`, `connectivity_figure`, `MAX_CELLS` (heatmaps.py): heatmaps with
  units sorted by degree / generation order;
- `dependency_figure`, `dependency_categories`, `dependency_legend` (trace_images.py): the pixels a
  traced unit sees (and feeds) drawn as images;
- `chain_rule_latex` (here): the factorisation for the current ordering.
"""

from __future__ import annotations

from .heatmaps import MAX_CELLS, connectivity_figure, direct_mask_figure, mask_figure
from .masks import MaskSet
from .network_figure import (
    EDGE_BUDGET,
    FULL_EDGE_LIMIT,
    aggregated_summary,
    degree_label_note,
    degree_labels_shown,
    network_figure,
)
from .plot_parts import DEAD, degree_colors
from .trace_images import (
    AFTER,
    FED,
    FORBIDDEN,
    SEEN,
    SELF,
    STARVED,
    dependency_categories,
    dependency_figure,
    dependency_legend,
)

__all__ = [
    "EDGE_BUDGET",
    "FULL_EDGE_LIMIT",
    "MAX_CELLS",
    "DEAD",
    "AFTER",
    "SEEN",
    "STARVED",
    "SELF",
    "FORBIDDEN",
    "FED",
    "network_figure",
    "aggregated_summary",
    "degree_labels_shown",
    "degree_label_note",
    "mask_figure",
    "direct_mask_figure",
    "connectivity_figure",
    "dependency_categories",
    "dependency_legend",
    "dependency_figure",
    "degree_colors",
    "chain_rule_latex",
]


def chain_rule_latex(ms: MaskSet, max_terms: int = 6) -> str:
    """p(x) = p(x_1) p(x_2 | x_1) ... in the current ordering (written out for small D)."""
    order = [int(i) for i in ms.order]
    if len(order) > max_terms:
        return (
            r"p(\mathbf{x}) = \prod_{t=1}^{D} p\big(x_{o(t)} \mid x_{o(1)}, \dots, x_{o(t-1)}\big),"
            rf"\quad o = ({', '.join(map(str, order[:4]))}, \dots)"
        )
    terms = []
    for t, j in enumerate(order):
        before = ",".join(f"x_{{{i}}}" for i in order[:t])
        terms.append(f"p(x_{{{j}}})" if not before else f"p(x_{{{j}}} \\mid {before})")
    return r"p(\mathbf{x}) = " + r"\,".join(terms)
