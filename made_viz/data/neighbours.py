"""Nearest neighbours in Hamming distance: "is this sample just a copy of a training image?"

The Sample page asks it for 16 samples against all 50,000 MNIST training digits while a student
waits, so the search packs both sides to bits and counts differing pixels with a popcount of
their XOR, 64 pixels per machine word, over chunks of the training set of bounded size.
"""

from __future__ import annotations

import numpy as np


def nearest_neighbors(queries: np.ndarray, train: np.ndarray, k: int = 1,
                      *, chunk_bytes: int = 32 * 2**20) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` training images closest to each query in Hamming distance.

    ``queries`` is ``(n, D)`` (or one ``(D,)`` image), ``train`` is ``(N, D)``,
    both 0/1.  Returns ``(indices, distances)``: shape ``(n,)`` for ``k=1``,
    ``(n, k)`` sorted by distance otherwise (ties -> lower index first); a
    single ``(D,)`` query drops the first axis.  Distances are counts of
    differing pixels, ``int64``.

    Uses ``|q| + |t| - 2 q.t`` with float32 matrix products (exact for
    D <= 4096) over chunks of ``train`` bounded by ``chunk_bytes``.
    """
    q, t = np.asarray(queries), np.asarray(train)
    single = q.ndim == 1
    q = q[None] if single else q
    if q.ndim != 2 or t.ndim != 2 or q.shape[1] != t.shape[1]:
        raise ValueError(f"queries {q.shape} and train {t.shape} must be (n, D) and (N, D)")
    if not 1 <= k <= len(t):
        raise ValueError(f"k must be between 1 and {len(t)}, not {k}")
    for array, what in ((q, "queries"), (t, "train")):
        if array.size and (array.dtype.kind not in "biuf" or array.min() < 0 or array.max() > 1):
            raise ValueError(f"{what} must contain only 0/1 values")
    keys = np.concatenate([_nn_block(q[s : s + 1024], t, k, chunk_bytes) for s in range(0, len(q), 1024)])
    keys.sort(axis=1)
    indices, distances = keys % len(t), keys // len(t)
    if k == 1:
        indices, distances = indices[:, 0], distances[:, 0]
    return (indices[0], distances[0]) if single else (indices, distances)


def _nn_block(q: np.ndarray, t: np.ndarray, k: int, chunk_bytes: int) -> np.ndarray:
    """Keys ``distance * N + index`` of the k nearest rows of ``t`` for each row of ``q``."""
    n, d = len(t), t.shape[1]
    qf = q.astype(np.float32)
    q_norm = qf.sum(axis=1, keepdims=True)
    rows = max(256, chunk_bytes // (4 * d + 16 * len(q)))
    best = np.empty((len(q), 0), dtype=np.int64)
    for start in range(0, n, rows):
        tf = t[start : start + rows].astype(np.float32)
        dist = q_norm + tf.sum(axis=1) - 2 * (qf @ tf.T)
        key = np.rint(dist).astype(np.int64) * n + np.arange(start, start + len(tf))
        merged = np.concatenate([best, key], axis=1)
        best = np.partition(merged, k - 1, axis=1)[:, :k] if merged.shape[1] > k else merged
    return best
