"""The `Dataset` type, its one error type, bit packing and binarization (numpy only).

Everything a MADE model sees is a matrix of 0/1 pixels, ``(N, D)`` ``uint8``; a :class:`Dataset`
holds the train, test and (when its source has one) validation matrices, read-only, plus what a
page needs to draw and describe them.  Anything that cannot be used raises :class:`DataError`
with a one-line message naming the file or dataset, the only error students see from this package.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

MAX_PIXELS = 4096
"""Largest supported image (64x64 pixels); MADE's masks grow as D squared."""


# --------------------------------------------------------------------------- errors


class DataError(ValueError):
    """A file or dataset that cannot be used; the message is one readable line.

    Messages have the form ``"<file or dataset name>: <problem>"``.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def _fail(source: str, problem: str) -> NoReturn:
    raise DataError(f"{source}: {problem}")


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


# --------------------------------------------------------------------------- Dataset


@dataclass(frozen=True, eq=False)
class Dataset:
    """A binary dataset: train/test (and optional validation) matrices of 0/1 pixels plus metadata.

    ``train``, ``test`` and ``valid`` are ``(N, D)``, ``(M, D)`` and ``(V, D)`` ``uint8`` arrays
    of 0/1, read-only.  ``valid`` is the source's own validation split (binarized MNIST's
    ``valid_data``, the last 10,000 digits of MNIST's training file) or ``None`` when the source
    has none, in which case a trainer carves its own from ``train``.  ``shape`` is
    ``(height, width)`` with ``height * width == D`` when the rows are images, else ``None``.
    ``entropy`` is the exact entropy in nats of the generating distribution when it is known
    (generated sets), so a model's test NLL can be compared with the best possible value.
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    shape: tuple[int, int] | None
    description: str
    entropy: float | None = None
    labels_train: np.ndarray | None = None
    labels_test: np.ndarray | None = None
    valid: np.ndarray | None = None
    labels_valid: np.ndarray | None = None

    def __post_init__(self):
        for split in self._splits():
            if split.ndim != 2 or split.dtype != np.uint8:
                raise ValueError(f"Dataset arrays must be 2-D uint8, got {split.dtype} {split.shape}")
            if split.shape[1] != self.train.shape[1]:
                raise ValueError(f"train has {self.train.shape[1]} pixels, another split {split.shape[1]}")
        if self.shape is not None and self.shape[0] * self.shape[1] != self.d:
            raise ValueError(f"shape {self.shape} does not match D = {self.d}")
        for labels, split in (
            (self.labels_train, self.train),
            (self.labels_test, self.test),
            (self.labels_valid, self.valid),
        ):
            if labels is not None and (split is None or len(labels) != len(split)):
                raise ValueError("labels and images differ in length")

    def _splits(self) -> list[np.ndarray]:
        """The splits present: train, test, then valid if the source has one."""
        return [self.train, self.test] + ([] if self.valid is None else [self.valid])

    @property
    def d(self) -> int:
        """Number of pixels (binary variables) per example."""
        return int(self.train.shape[1])

    @functools.cached_property
    def fingerprint(self) -> str:
        """A hash of the contents (every split's packed bits, the image shape): the key for caches
        shared by sessions. Two uploads with the same name or the same pixel sums never share one."""
        h = hashlib.sha256()
        for split in self._splits():
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

    @property
    def n_valid(self) -> int:
        """Size of the source's own validation split (0 when it has none)."""
        return 0 if self.valid is None else int(self.valid.shape[0])

    def to_dict(self) -> dict:
        """JSON-able summary (no arrays), e.g. for checkpoints."""
        return {
            "name": self.name,
            "shape": None if self.shape is None else [int(s) for s in self.shape],
            "d": self.d,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_valid": self.n_valid,
            "description": self.description,
            "entropy": None if self.entropy is None else float(self.entropy),
        }

    def __repr__(self) -> str:
        valid = "" if self.valid is None else f", valid={self.valid.shape}"
        return (
            f"Dataset(name={self.name!r}, train={self.train.shape}, test={self.test.shape}{valid}, "
            f"shape={self.shape}, entropy={self.entropy})"
        )


def _readonly(array: np.ndarray | None) -> np.ndarray | None:
    if array is not None:
        array.setflags(write=False)
    return array


def _dataset(
    name,
    train,
    test,
    shape,
    description,
    entropy=None,
    labels_train=None,
    labels_test=None,
    valid=None,
    labels_valid=None,
) -> Dataset:
    """Build a :class:`Dataset` whose arrays are read-only."""
    return Dataset(
        name,
        _readonly(train),
        _readonly(test),
        shape,
        description,
        entropy,
        _readonly(labels_train),
        _readonly(labels_test),
        _readonly(valid),
        _readonly(labels_valid),
    )


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


def _check_pixels(d: int, source: str) -> None:
    if d > MAX_PIXELS:
        _fail(source, f"images have {d} pixels; images larger than 64x64 ({MAX_PIXELS} pixels) are not supported")
