"""Property-based fuzzing of everything a student (or a link, or an upload) can feed the server.

The contract: a parser or loader either returns a valid object or raises its module's one clear
error type (`ConfigError` for configurations, `DataError` for files) with a one-line message.
Never another exception (a traceback in the app), never a hang. Inputs are random text, random
bytes, and valid files mutated by truncation, bit flips, byte overwrites and header edits.
"""

from __future__ import annotations

import gzip
import io
import struct
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from made_viz.config import MAX_D, Config, ConfigError, parse_layers
from made_viz.data import DataError, Dataset, load_bytes

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_CALL = 2.0  # seconds: one parse of a small input taking longer than this counts as a hang


def _timed(fn, *args, **kw):
    t = time.perf_counter()
    try:
        return fn(*args, **kw)
    finally:
        assert time.perf_counter() - t < SLOW_CALL, f"{fn.__name__} took too long on a small input"


def _one_line(e: Exception) -> None:
    msg = str(e)
    assert msg.strip(), "empty error message"
    assert "\n" not in msg.strip(), f"multi-line error message: {msg!r}"
    assert "Traceback" not in msg


# ---------------------------------------------------------------------------------------------
# configuration text

_NUMBERISH = st.sampled_from(
    [
        "0",
        "-1",
        "1",
        "2",
        "3",
        "7",
        "64",
        "4096",
        "4097",
        "1e9",
        "99999999999999999999",
        "nan",
        "inf",
        "-0",
        "+5",
        "0x10",
        "1.5",
        "",
        " ",
        "abc",
        "１２",
        "٣",
        "None",
        "none",
        "natural",
        "reverse",
        "random",
        "x",
        ",",
        ";",
        "8x8",
        "2x",
        "x2",
        "64x64",
        "65x65",
    ]
)
_TEXT = st.one_of(
    st.text(max_size=40), st.lists(_NUMBERISH, max_size=8).map(",".join), st.lists(_NUMBERISH, max_size=6).map(" ".join)
)
_KEYS = st.sampled_from(
    [
        "d",
        "shape",
        "hidden",
        "activation",
        "direct",
        "order",
        "degrees",
        "num_masks",
        "seed",
        "masking",
        "page",
        "unknown",
        "",
    ]
)


@FUZZ
@given(_TEXT)
def test_parse_layers_only_raises_config_error(text):
    try:
        layers = _timed(parse_layers, text)
    except ConfigError as e:
        _one_line(e)
        return
    assert isinstance(layers, tuple) and all(isinstance(n, int) and n >= 1 for n in layers)


@FUZZ
@given(st.dictionaries(_KEYS, _TEXT, max_size=6))
def test_from_query_only_raises_config_error(params):
    try:
        cfg = _timed(Config.from_query, params)
    except ConfigError as e:
        _one_line(e)
        return
    # whatever parses is a valid, bounded architecture that round-trips through the URL
    assert 2 <= cfg.d <= MAX_D
    assert Config.from_query(cfg.to_query()) == cfg


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "d": st.integers(-5, 5000).map(str),
            "hidden": st.lists(st.integers(-3, 5000), max_size=10).map(lambda v: ",".join(map(str, v))),
            "order": st.lists(st.integers(-2, 20), max_size=20).map(lambda v: ",".join(map(str, v))),
            "shape": st.tuples(st.integers(-1, 70), st.integers(-1, 70)).map(lambda t: f"{t[0]}x{t[1]}"),
            "num_masks": st.integers(-2, 100).map(str),
            "seed": st.integers(-5, 2**33).map(str),
        },
    )
)
def test_from_query_numeric_edges(params):
    """Numbers at and around every limit: either a valid Config or a ConfigError."""
    try:
        cfg = _timed(Config.from_query, params)
    except ConfigError as e:
        _one_line(e)
        return
    assert cfg.shape is None or cfg.shape[0] * cfg.shape[1] == cfg.d
    assert isinstance(cfg.order, str) or sorted(cfg.order) == list(range(cfg.d))


# ---------------------------------------------------------------------------------------------
# files


def _idx(images: np.ndarray) -> bytes:
    images = np.asarray(images, dtype=np.uint8)
    return struct.pack(">I", 0x803) + struct.pack(">3I", *images.shape) + images.tobytes()


def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


_rng = np.random.default_rng(0)
_IMAGES = (_rng.random((12, 4, 4)) * 255).astype(np.uint8)
VALID_FILES = {
    "digits.idx3-ubyte": _idx(_IMAGES),
    "digits.idx3-ubyte.gz": gzip.compress(_idx(_IMAGES), mtime=0),
    "bits.npy": _npy((_IMAGES > 127).astype(np.uint8).reshape(12, 16)),
    "grey.npy": _npy(_IMAGES.astype(np.float32) / 255),
    "split.npz": _npz(x_train=_IMAGES[:8], x_test=_IMAGES[8:]),
    "mnist.npz": _npz(
        train_data=(_IMAGES[:6] > 127).reshape(6, 16).astype(np.float32),
        valid_data=(_IMAGES[6:9] > 127).reshape(3, 16).astype(np.float32),
        test_data=(_IMAGES[9:] > 127).reshape(3, 16).astype(np.float32),
    ),
    "bits.amat": "\n".join(" ".join(str(int(v > 127)) for v in img.ravel()) for img in _IMAGES).encode(),
}


def _check_load(data: bytes, name: str) -> None:
    try:
        ds = _timed(load_bytes, data, name)
    except DataError as e:
        _one_line(e)
        return
    # anything accepted is a proper binary dataset
    assert isinstance(ds, Dataset)
    assert ds.train.dtype == np.uint8 and ds.train.ndim == 2 and ds.train.shape[0] >= 1
    assert set(np.unique(ds.train)) <= {0, 1} and set(np.unique(ds.test)) <= {0, 1}
    assert 1 <= ds.d <= MAX_D


def test_valid_seed_files_load():
    """The fuzzing seeds themselves are valid (else the mutations below test little)."""
    for name, data in VALID_FILES.items():
        ds = load_bytes(data, name)
        assert ds.d == 16, name


@FUZZ
@given(
    st.binary(max_size=2000),
    st.sampled_from(
        ["upload", "x.npy", "x.npz", "x.amat", "train-images-idx3-ubyte", "x.gz", "x.txt", "x.pt", "../../etc/passwd"]
    ),
)
def test_random_bytes_only_raise_data_error(data, name):
    _check_load(data, name)


@FUZZ
@given(
    st.binary(max_size=300),
    st.sampled_from(
        [b"\x93NUMPY", b"PK\x03\x04", b"\x1f\x8b", b"\x00\x00\x08\x03", b"\x80\x04", b"\x80\x02", b"\x00\x00\x08\x01"]
    ),
)
def test_random_bytes_behind_magic_only_raise_data_error(tail, magic):
    """Random bodies behind every magic number the loader dispatches on."""
    _check_load(magic + tail, "upload")


@st.composite
def _mutated(draw):
    name = draw(st.sampled_from(sorted(VALID_FILES)))
    data = bytearray(VALID_FILES[name])
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "header"]))
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    elif kind == "overwrite":
        i = draw(st.integers(0, len(data) - 1))
        chunk = draw(st.binary(min_size=1, max_size=16))
        data[i : i + len(chunk)] = chunk
    elif kind == "insert":
        i = draw(st.integers(0, len(data)))
        data[i:i] = draw(st.binary(min_size=1, max_size=16))
    else:  # rewrite a 4-byte big-endian header field (IDX dims, npy header length...) with an extreme value
        i = draw(st.integers(0, min(16, len(data) - 4)))
        data[i : i + 4] = struct.pack(">I", draw(st.sampled_from([0, 1, 2**16, 2**31 - 1, 2**32 - 1])))
    return bytes(data), name


@FUZZ
@given(_mutated())
def test_mutated_valid_files_only_raise_data_error(case):
    data, name = case
    _check_load(data, name)


@pytest.mark.parametrize("dims", [(2**31, 28, 28), (10, 2**16, 2**16), (1, 65, 65), (3, 0, 5), (0, 4, 4)])
def test_idx_header_with_huge_or_zero_dims_is_refused_without_allocating(dims):
    """An IDX header may promise anything; only a tiny body follows. Must fail fast, cleanly."""
    data = struct.pack(">I", 0x803) + struct.pack(">3I", *dims) + b"\x00" * 64
    with pytest.raises(DataError):
        _timed(load_bytes, data, "evil-idx3-ubyte")


@pytest.mark.parametrize("shape", [(2**40,), (2**20, 2**20), (10**6, 4096), (2**62,)])
def test_npy_header_with_huge_shape_is_refused_without_allocating(shape):
    """A .npy header may promise terabytes; only a few bytes follow. A DataError, not a MemoryError."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with pytest.raises(DataError, match="huge.npy"):
        _timed(load_bytes, header.getvalue() + b"\x00" * 800, "huge.npy")


def test_encrypted_npz_member_is_a_data_error():
    """Flag bit 0 (encrypted) set on a member: zipfile raises RuntimeError/NotImplementedError."""
    data = bytearray(VALID_FILES["split.npz"])
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            flag_at = i + (6 if sig == b"PK\x03\x04" else 8)
            data[flag_at] |= 0x01
            start = i + 4
    with pytest.raises(DataError, match="split.npz"):
        _timed(load_bytes, bytes(data), "split.npz")
