"""Generated binary image sets whose exact entropy is known: bars and stripes, small glyphs.

Each generator draws uniformly from an enumerated list of distinct patterns, so the entropy of
the data (the best test NLL any model can reach) is exactly ln(number of patterns), and
:func:`pattern_entropy` computes it by enumeration rather than trusting a formula.
"""

from __future__ import annotations

import numpy as np

from .dataset import MAX_PIXELS


def pattern_entropy(patterns: np.ndarray, probs: np.ndarray | None = None) -> float:
    """Exact entropy (nats) of a sampler that draws row ``i`` of ``patterns`` with ``probs[i]``.

    ``probs`` defaults to uniform over rows.  Identical rows are merged
    first, so duplicates in the enumeration are handled correctly.
    """
    patterns = np.asarray(patterns)
    probs = np.full(len(patterns), 1.0 / len(patterns)) if probs is None else np.asarray(probs, float)
    _, inverse = np.unique(patterns, axis=0, return_inverse=True)
    p = np.bincount(inverse.ravel(), weights=probs)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _sample_rows(patterns: np.ndarray, num: int, seed) -> np.ndarray:
    """``num`` rows of ``patterns`` drawn uniformly with replacement (seeded)."""
    return patterns[np.random.default_rng(seed).integers(len(patterns), size=num)]


def bars_and_stripes_patterns(n: int) -> np.ndarray:
    """All ``2**(n+1) - 2`` distinct ``n x n`` bars-and-stripes images, ``(K, n*n)`` uint8.

    First the ``2**n`` stripe images (row ``i`` on iff bit ``i`` of the index),
    then the bar images (columns) except all-off and all-on, which are both
    bars and stripes.
    """
    if not (2 <= n and n * n <= MAX_PIXELS):
        raise ValueError(f"bars and stripes needs 2 <= n <= 64, not {n}")
    masks = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    stripes = np.repeat(masks[:, :, None], n, axis=2)
    bars = stripes.transpose(0, 2, 1)[1:-1]
    return np.concatenate([stripes, bars]).reshape(-1, n * n).astype(np.uint8)


def bars_and_stripes(n: int, num: int | None = None, seed=0) -> np.ndarray:
    """Bars-and-stripes ``n x n`` images, flattened, ``uint8``.

    Generator: pick one of the ``2**(n+1) - 2`` distinct patterns uniformly
    (each row-set or column-set switched on; the blank and the full image are
    counted once).  With ``num=None`` return the distinct patterns themselves;
    otherwise ``num`` i.i.d. samples from ``np.random.default_rng(seed)``.
    Exact entropy: :func:`bars_and_stripes_entropy`.
    """
    patterns = bars_and_stripes_patterns(n)
    return patterns if num is None else _sample_rows(patterns, num, seed)


def bars_and_stripes_entropy(n: int) -> float:
    """Entropy in nats of :func:`bars_and_stripes` sampling: ``ln(2**(n+1) - 2)`` (ln 30 for n=4)."""
    return pattern_entropy(bars_and_stripes_patterns(n))


GLYPHS: dict[str, tuple[str, ...]] = {
    "square": ("##", "##"),
    "plus": (".#.", "###", ".#."),
    "L": ("#..", "#..", "###"),
    "T": ("###", ".#.", ".#."),
    "hline": ("####",),
    "vline": ("#", "#", "#", "#"),
}
"""Glyphs of the ``shapes`` family, drawn with ``#`` on ``.``."""


def shape_patterns(size: int = 8) -> np.ndarray:
    """All distinct ``size x size`` images of one glyph of :data:`GLYPHS` at any position.

    Returns ``(K, size*size)`` uint8; for ``size=8``, K = 49 + 3*36 + 2*40 = 237.
    """
    images = []
    for rows in GLYPHS.values():
        glyph = np.array([[c == "#" for c in row] for row in rows], dtype=np.uint8)
        h, w = glyph.shape
        for top in range(size - h + 1):
            for left in range(size - w + 1):
                image = np.zeros((size, size), dtype=np.uint8)
                image[top : top + h, left : left + w] = glyph
                images.append(image.ravel())
    if not images:
        raise ValueError(f"shapes need size >= 4, not {size}")
    patterns = np.array(images)
    _, first = np.unique(patterns, axis=0, return_index=True)
    return patterns[np.sort(first)]


def shapes(size: int = 8, num: int | None = None, seed=0) -> np.ndarray:
    """Images of one small glyph (square, plus, L, T, horizontal/vertical line).

    Generator: uniform over the distinct images of :func:`shape_patterns`
    (every glyph at every position where it fits), so bigger glyphs, which
    fit in fewer places, are a little rarer.  ``num=None`` returns the
    distinct patterns; otherwise ``num`` seeded i.i.d. samples.
    Exact entropy: :func:`shapes_entropy` (ln 237 = 5.468 nats for 8x8).
    """
    patterns = shape_patterns(size)
    return patterns if num is None else _sample_rows(patterns, num, seed)


def shapes_entropy(size: int = 8) -> float:
    """Entropy in nats of :func:`shapes` sampling, by enumerating its patterns."""
    return pattern_entropy(shape_patterns(size))
