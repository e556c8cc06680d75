"""The numbers behind the Sample page: the likelihood lens, the training-set references it is
compared with, and the small bookkeeping of the animations and the drawing canvas.

No streamlit and no figures here: the page caches and draws what these functions return. The
model's per-pixel surprise comes from `animation.model_surprise` (the chain rule: its sum over
the pixels is -log p(x) under one mask); the independent-pixel baseline from `metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics
from .data import Dataset, nearest_neighbors

TEST_IMAGES_FOR_MEDIAN = 300  # test images whose nearest training image sets the "new image" scale


@dataclass(frozen=True)
class TrainStats:
    """What the Sample page compares with: the independent-pixel model fitted on the training set,
    and how far real test images are from their nearest training image (median, in pixels)."""

    bernoulli: np.ndarray
    median_test_distance: float


def train_stats(ds: Dataset) -> TrainStats:
    distances = nearest_neighbors(ds.test[:TEST_IMAGES_FOR_MEDIAN], ds.train)[1]
    return TrainStats(metrics.bernoulli_probs(ds.train), float(np.median(distances)))


@dataclass(frozen=True)
class Lens:
    """One image under the lens: each pixel's surprise in nats under MADE (and the baseline)."""

    model_map: np.ndarray
    base_map: np.ndarray | None
    d: int

    def totals(self) -> list[tuple[str, float, float]]:
        """(name, -log p(x) in nats, in bits per pixel) for MADE and, if known, the baseline."""
        maps = [("MADE", self.model_map)] + ([] if self.base_map is None else [("Independent pixels", self.base_map)])
        return [(name, float(m.sum()), metrics.bits_per_dim(float(m.sum()), self.d)) for name, m in maps]


def lens(model_map: np.ndarray, stats: TrainStats | None, x: np.ndarray) -> Lens:
    """The lens of image `x` given MADE's surprise map (one row per image; row 0 is used)."""
    base = None if stats is None else metrics.bernoulli_surprise(stats.bernoulli, x)[0]
    return Lens(np.asarray(model_map), base, int(np.size(x)))


def sample_table(log_probs: np.ndarray, distances: np.ndarray, d: int) -> dict[str, np.ndarray]:
    """Each sample's log-likelihood in nats and bits per pixel, and its distance to the training set."""
    return {
        "sample": np.arange(len(log_probs)),
        "log p (nats)": np.round(log_probs, 2),
        "bits/dim": np.round(metrics.bits_per_dim(-np.asarray(log_probs), d), 4),
        "nearest (px)": distances,
    }


def model_key(model) -> str:
    """A key for one session's model in its trajectory cache: the object and a sum of its weights,
    so training the same model further gives new samples."""
    total = sum(float(p.detach().double().abs().sum()) for p in model.parameters())
    return f"session-{id(model)}-{total!r}"


def canvas_click(image: np.ndarray, points, width: int, brush: str) -> np.ndarray:
    """The drawing after clicks on pixels (x, y): "ink" sets 1, "paper" 0, "toggle" flips."""
    image = np.array(image, copy=True)
    for p in points:
        d = round(p["y"]) * width + round(p["x"])
        if 0 <= d < len(image):
            image[d] = {"ink": 1, "paper": 0}.get(brush, 1 - image[d])
    return image
