"""From a file the student gives (a path, a folder of IDX files, an upload's bytes) to a Dataset.

Files are untrusted: they are read whole only up to :data:`made_viz.data.parsers.MAX_BYTES`,
parsed by :mod:`.parsers` (never unpickled), binarized (:func:`binarize`), flattened and, when
they carry no test split, split 90/10 by a seeded permutation.  Every failure, whatever the
low-level library raised, reaches the student as one :class:`DataError` line naming the file.
Parsers and limits are looked up on the :mod:`.parsers` module at call time, so changing
``made_viz.data.MAX_BYTES`` (or patching a parser in a test) acts on every path through here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import parsers as P
from .dataset import DataError, Dataset, _binarize, _check_method, _check_pixels, _dataset, _fail, _reason, _size
from .layout import _Raw
from .parsers import _FORMATS_HINT, _READ_ERRORS

TEST_FRACTION = 0.1
"""Share of images held out as test set when a file has no test split."""

_TRAIN_STEMS = ("train-images-idx3-ubyte", "train-images.idx3-ubyte")
_TEST_STEMS = ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte")
_TRAIN_LABEL_STEMS = ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte")
_TEST_LABEL_STEMS = ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte")


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
    if len(data) > P.MAX_BYTES:
        _fail(name, f"file is larger than {_size(P.MAX_BYTES)}")
    return _guarded(name, lambda: _load_bytes(data, name, binarize, seed))


def load_path(path: Path, binarize: str = "threshold", seed: int = 0) -> Dataset:
    """Load an existing file or IDX folder (see :func:`made_viz.data.load_dataset` for the formats)."""
    _check_method(binarize)
    if path.is_dir():
        return _guarded(path.name or str(path), lambda: _load_folder(path, binarize, seed))
    data = _guarded(path.name, lambda: _read_file(path, gunzip=False))
    return load_bytes(data, path.name, binarize=binarize, seed=seed)


def _load_bytes(data: bytes, name: str, method: str, seed: int) -> Dataset:
    inner = name
    if data[:2] == b"\x1f\x8b":
        data = P._gunzip(data, name)
        inner = name[:-3] if name.lower().endswith(".gz") else name
        if data[:2] == b"\x1f\x8b":
            _fail(name, "is compressed twice (gzip inside gzip); decompress it once first")
    raw = P._parse(data, name, inner.lower())
    return _build(name, raw, method, seed)


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
                    _fail(
                        f"{folder.name}/{path.name}",
                        "is a link to a file outside the folder, which is refused for safety",
                    )
                return path
    return None


def _read_file(path: Path, *, gunzip: bool = True) -> bytes:
    """The bytes of ``path`` (gzip decompressed if ``gunzip``), refusing more than P.MAX_BYTES."""
    if path.stat().st_size > P.MAX_BYTES:
        _fail(path.name, f"file is larger than {_size(P.MAX_BYTES)}")
    with path.open("rb") as file:
        data = file.read(P.MAX_BYTES + 1)  # the file may have grown since stat()
    if len(data) > P.MAX_BYTES:
        _fail(path.name, f"file is larger than {_size(P.MAX_BYTES)}")
    return P._gunzip(data, path.name) if gunzip and data[:2] == b"\x1f\x8b" else data


def _read_idx(path: Path, *, labels: bool = False) -> np.ndarray:
    return P._parse_idx(_read_file(path), path.name, labels=labels)


def _read_labels(folder: Path, stems, n: int) -> np.ndarray | None:
    path = _find(folder, stems)
    if path is None:
        return None
    labels = _read_idx(path, labels=True)
    if len(labels) != n:
        _fail(path.name, f"has {len(labels)} labels but the images file has {n} images")
    return labels


def _build(name: str, raw: _Raw, method: str, seed: int) -> Dataset:
    """Validate, binarize, flatten and (if needed) split file arrays into a Dataset."""
    single = raw.test is None
    for part in (raw.train, raw.test, raw.valid):
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
        test, labels_test = _other_split(raw.test, raw.labels_test, "test", train.shape[1], name, method, [seed, 1])
    valid, labels_valid = None, None
    if raw.valid is not None:
        valid, labels_valid = _other_split(
            raw.valid, raw.labels_valid, "validation", train.shape[1], name, method, [seed, 2]
        )
    size = f"{shape[0]}x{shape[1]} images" if shape else f"vectors of {train.shape[1]} bits"
    split = f", 90/10 split (seed {seed})" if single else ""
    n_valid = "" if valid is None else f"{len(valid):,} validation / "
    description = (
        f"{name}: {len(train):,} train / {n_valid}{len(test):,} test {size}, "
        f"binarized by {method}{split}; user file, licence as per its source"
    )
    return _dataset(
        name,
        np.ascontiguousarray(train),
        np.ascontiguousarray(test),
        shape,
        description,
        None,
        labels_train,
        labels_test,
        None if valid is None else np.ascontiguousarray(valid),
        labels_valid,
    )


def _other_split(images, labels, what: str, d: int, name: str, method: str, seed):
    """The test or validation images of a file binarized and flattened like its training images."""
    bits = _binarize(images, method, seed, None, f"{name} ({what} images)")
    bits = bits.reshape(len(bits), -1)
    if bits.shape[1] != d:
        _fail(name, f"train images have {d} pixels but {what} images have {bits.shape[1]}")
    return bits, _clean_labels(labels, len(bits))


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
    n_test = max(1, round(n * TEST_FRACTION))
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    pick = (lambda idx: None) if labels is None else (lambda idx: labels[idx])
    return bits[train_idx], bits[test_idx], pick(train_idx), pick(test_idx)
