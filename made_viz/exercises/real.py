""" "Real or sampled?" Which of these digits did the model draw? Graded tile by tile; the reveal shows
log p(x) and the distance to the nearest training digit (the page computes those, this module words them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RealQuestion:
    is_sample: tuple[bool, ...]  # per tile
    test_rows: tuple[int, ...]  # which test images fill the real tiles, in tile order
    sample_seed: int  # seed of the model's samples that fill the others


def make_real_question(n_test: int, rng: np.random.Generator, tiles: int = 8) -> RealQuestion:
    """A grid of `tiles` images, between 2 and tiles-2 of them drawn by the model, shuffled."""
    n_samples = int(rng.integers(2, tiles - 1))
    is_sample = np.zeros(tiles, dtype=bool)
    is_sample[rng.choice(tiles, n_samples, replace=False)] = True
    rows = rng.choice(n_test, tiles - n_samples, replace=False)
    return RealQuestion(tuple(map(bool, is_sample)), tuple(int(r) for r in rows), int(rng.integers(2**31)))


def grade_real(q: RealQuestion, marked, log_p, nn_dist) -> tuple[bool, int, list[str]]:
    """(all right, tiles right, sentences): every tile marked wrongly gets its numbers and the reason."""
    truth, marked = np.asarray(q.is_sample, bool), np.asarray(marked, bool)
    wrong = np.nonzero(truth != marked)[0]
    lines = [
        f"{len(truth) - len(wrong)} of {len(truth)} tiles right. The model's samples were tiles "
        f"{', '.join(str(i + 1) for i in np.nonzero(truth)[0])}."
    ]
    for i in wrong:
        numbers = f"log p(x) = {log_p[i]:.1f} nats, nearest training digit {int(nn_dist[i])} pixels away"
        if truth[i]:
            lines.append(
                f"Tile {i + 1} is a sample (you took it for real): {numbers}. The model drew it pixel by "
                "pixel; it copies no training digit."
            )
        else:
            lines.append(
                f"Tile {i + 1} is a real test digit (you took it for a sample): {numbers}. The model never "
                "trained on it; a real digit can still look odd."
            )
    return not len(wrong), int(len(truth) - len(wrong)), lines
