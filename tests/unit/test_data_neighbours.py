"""Hamming nearest neighbours (made_viz.data.neighbours): the packed-bits popcount search must give
exactly the brute-force answer, ties included, whatever D, k and chunking; and be fast enough for the
Sample page's "Copying?" check over all 50,000 MNIST training digits."""

from __future__ import annotations

import numpy as np
import pytest

from made_viz import data as D
from made_viz.data import neighbours as N


def brute_force(queries: np.ndarray, train: np.ndarray, k: int):
    """Reference: count differing pixels of every pair; a stable sort breaks ties by lower index."""
    dist = (queries[:, None, :].astype(np.int64) != train[None, :, :].astype(np.int64)).sum(-1)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(dist, order, axis=1)


@pytest.mark.parametrize("d", [1, 7, 63, 64, 65, 130, 784])
@pytest.mark.parametrize("k", [1, 3, 40])
def test_fast_path_equals_brute_force_with_ties(d, k):
    rng = np.random.default_rng(d * 100 + k)
    n_train = 300
    p = 0.5 if d > 20 else 0.3
    train = (rng.random((n_train, d)) < p).astype(np.uint8)
    train[50:60] = train[10]  # exact duplicates: ties at every distance
    queries = (rng.random((21, d)) < p).astype(np.uint8)
    queries[0] = train[10]  # distance 0 to 11 training images
    k = min(k, n_train)
    idx, dist = D.nearest_neighbors(queries, train, k=k, chunk_bytes=2048)  # many chunks of 256 rows
    ref_idx, ref_dist = brute_force(queries, train, k)
    if k == 1:
        ref_idx, ref_dist = ref_idx[:, 0], ref_dist[:, 0]
    np.testing.assert_array_equal(dist, ref_dist)
    np.testing.assert_array_equal(idx, ref_idx)
    assert dist.dtype == np.int64 and idx.dtype.kind == "i"


def test_ties_go_to_the_lower_index_across_chunks():
    train = np.zeros((1000, 70), np.uint8)  # every training image is the same
    idx, dist = D.nearest_neighbors(np.ones((2, 70), np.uint8), train, k=5, chunk_bytes=1)
    assert idx.tolist() == [[0, 1, 2, 3, 4]] * 2 and (dist == 70).all()


def test_bool_and_float_inputs_give_the_same_answer():
    rng = np.random.default_rng(3)
    train = rng.integers(0, 2, size=(200, 50), dtype=np.uint8)
    queries = rng.integers(0, 2, size=(9, 50), dtype=np.uint8)
    want = D.nearest_neighbors(queries, train, k=4)
    for cast in (bool, np.float32, np.int64):
        got = D.nearest_neighbors(queries.astype(cast), train.astype(cast), k=4)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_non_binary_values_are_refused():
    train = np.eye(8, dtype=np.uint8)
    with pytest.raises(ValueError, match="0/1"):
        D.nearest_neighbors(train * 2, train)
    with pytest.raises(ValueError, match="0/1"):
        D.nearest_neighbors(train, train - 1.0)


def test_byte_table_popcount_matches_numpy():
    """The fallback for numpy < 2 counts the same bits as np.bitwise_count."""
    words = np.random.default_rng(0).integers(0, 2**63, size=(7, 13), dtype=np.uint64)
    words[0, 0], words[0, 1] = np.uint64(2**64 - 1), np.uint64(0)
    expected = np.array([[int(w).bit_count() for w in row] for row in words])
    np.testing.assert_array_equal(N._popcount_by_bytes(words), expected)
    np.testing.assert_array_equal(N._popcount(words), expected)


def test_samples_against_all_mnist_training_digits_are_exact():
    """The Sample page's search (its speed is measured by bench/bench_nn.py, not asserted here:
    time limits inside correctness tests are flaky on a shared machine)."""
    ds = D.load_dataset("mnist")
    queries = ds.test[:16]
    idx, dist = D.nearest_neighbors(queries, ds.train, k=2)
    expected = np.array([[(q != ds.train[i]).sum() for i in row] for q, row in zip(queries, idx)])
    np.testing.assert_array_equal(dist, expected)
    every = (queries[:2, None, :] != ds.train[None, :, :]).sum(-1)  # brute force for two of them
    np.testing.assert_array_equal(dist[:2, 0], every.min(axis=1))
    np.testing.assert_array_equal(idx[:2, 0], every.argmin(axis=1))
