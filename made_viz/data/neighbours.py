"""Nearest neighbours in Hamming distance: "is this sample just a copy of a training image?"

The Sample page asks it for 16 samples against all 50,000 MNIST training digits while a student
waits, so the search packs both sides to bits and counts differing pixels with a popcount of
their XOR, 64 pixels per machine word, over chunks of the training set of bounded size.
"""

from __future__ import annotations

import numpy as np


def nearest_neighbors(
    queries: np.ndarray, train: np.ndarray, k: int = 1, *, chunk_bytes: int = 2 * 2**20
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` training images closest to each query in Hamming distance.

    ``queries`` is ``(n, D)`` (or one ``(D,)`` image), ``train`` is ``(N, D)``,
    both 0/1.  Returns ``(indices, distances)``: shape ``(n,)`` for ``k=1``,
    ``(n, k)`` sorted by distance otherwise (ties -> lower index first); a
    single ``(D,)`` query drops the first axis.  Distances are counts of
    differing pixels, ``int64``.

    Exact: both sides are packed 64 pixels to a word and the distance is the popcount of their
    XOR, summed word by word over chunks of ``train`` bounded by ``chunk_bytes`` (small enough
    for the working set to stay in the processor's cache).  16 queries against the 50,000 MNIST
    training digits take about 0.25 s on a busy 2-core machine (``bench/bench_nn.py``).
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
    words_t = _pack_words(t).T.copy()  # (words, N): each word of every training image is contiguous
    words_q = _pack_words(q)
    keys = np.concatenate([_nn_block(words_q[s : s + 1024], words_t, k, chunk_bytes) for s in range(0, len(q), 1024)])
    keys.sort(axis=1)
    indices, distances = keys % len(t), keys // len(t)
    if k == 1:
        indices, distances = indices[:, 0], distances[:, 0]
    return (indices[0], distances[0]) if single else (indices, distances)


def _pack_words(bits: np.ndarray) -> np.ndarray:
    """0/1 rows ``(n, D)`` as ``(n, ceil(D / 64))`` uint64 words, zero-padded (padding never differs)."""
    packed = np.packbits(bits.astype(np.uint8, copy=False), axis=1)
    pad = -packed.shape[1] % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


def _popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per uint64 element (numpy >= 2 has it built in; older ones count bytes in a table)."""
    return np.bitwise_count(words) if hasattr(np, "bitwise_count") else _popcount_by_bytes(words)


def _popcount_by_bytes(words: np.ndarray) -> np.ndarray:
    """Set bits per uint64 element from a 256-entry table of byte counts (for numpy < 2)."""
    return _BYTE_POPCOUNT[words[..., None].view(np.uint8)].sum(axis=-1, dtype=np.uint8)


_BYTE_POPCOUNT = np.array([i.bit_count() for i in range(256)], dtype=np.uint8)


def _nn_block(q: np.ndarray, t: np.ndarray, k: int, chunk_bytes: int) -> np.ndarray:
    """Keys ``distance * N + index`` of the k nearest training images for each query.

    ``q`` is ``(n, words)`` packed queries, ``t`` is ``(words, N)`` packed training images
    (transposed, so one word of all images is one contiguous row).  Distances fit uint16 since
    D <= 4096; a key orders by distance, then by index (ties -> lower index first)."""
    n = t.shape[1]
    rows = max(256, chunk_bytes // (12 * len(q)))  # the XOR (8 bytes), its count and the sum (2 + 2)
    best = np.empty((len(q), 0), dtype=np.int64)
    for start in range(0, n, rows):
        chunk = t[:, start : start + rows]
        dist = np.zeros((len(q), chunk.shape[1]), dtype=np.uint16)
        for w in range(chunk.shape[0]):
            dist += _popcount(q[:, w, None] ^ chunk[w][None, :])
        key = dist.astype(np.int64) * n + np.arange(start, start + chunk.shape[1])
        merged = np.concatenate([best, key], axis=1)
        best = np.partition(merged, k - 1, axis=1)[:, :k] if merged.shape[1] > k else merged
    return best
