"""Binary image datasets for MADE Explorer: built-in sets, file loaders, generators, neighbours.

Everything a MADE model sees is a matrix of 0/1 pixels, ``(N, D)`` ``uint8``.  This package
provides them (numpy and the standard library only; importing it never loads torch):

* :mod:`.dataset`: the :class:`Dataset` type, :class:`DataError`, bit packing, :func:`binarize`;
* :mod:`.builtin`: the sets offered by name (:func:`list_datasets`, :func:`load_dataset`):
  ``digits8`` and ``mnist`` shipped inside the package, ``bars2`` ... ``bars8`` and ``shapes8``
  generated (:mod:`.generators`), all cached per process and read-only;
* :mod:`.files` and :mod:`.parsers`: the student's own files (IDX, ``.npz``, ``.npy``, ``.amat``,
  gzip), parsed as untrusted input;
* :mod:`.neighbours`: Hamming :func:`nearest_neighbors`;
* :mod:`.folder`: the operator's data folder (``MADE_VIZ_DATA_DIR``).

Every public name is importable from ``made_viz.data`` itself, so callers need not know the layout.

    >>> ds = load_dataset("digits8")
    >>> ds.train.shape, ds.shape
    ((1497, 64), (8, 8))
"""

from __future__ import annotations

import sys
import types

from . import parsers
from .builtin import (
    ASSETS_ENV,
    DEFAULT_DATASET,
    EMBEDDED,
    GENERATED_TEST,
    GENERATED_TRAIN,
    assets_dir,
    is_embedded_name,
    list_datasets,
    load_dataset,
)
from .dataset import MAX_PIXELS, DataError, Dataset, binarize, pack_bits, unpack_bits
from .files import TEST_FRACTION, load_bytes
from .folder import DATA_DIR_ENV, DATA_SUFFIXES, data_dir, list_data_files, resolve_data_file
from .generators import (
    GLYPHS,
    bars_and_stripes,
    bars_and_stripes_entropy,
    bars_and_stripes_patterns,
    pattern_entropy,
    shape_patterns,
    shapes,
    shapes_entropy,
)
from .neighbours import nearest_neighbors
from .parsers import MAX_BYTES

__all__ = [
    "ASSETS_ENV",
    "DATA_DIR_ENV",
    "DATA_SUFFIXES",
    "DEFAULT_DATASET",
    "EMBEDDED",
    "GENERATED_TEST",
    "GENERATED_TRAIN",
    "GLYPHS",
    "MAX_BYTES",
    "MAX_PIXELS",
    "TEST_FRACTION",
    "DataError",
    "Dataset",
    "assets_dir",
    "bars_and_stripes",
    "bars_and_stripes_entropy",
    "bars_and_stripes_patterns",
    "binarize",
    "data_dir",
    "is_embedded_name",
    "list_data_files",
    "list_datasets",
    "load_bytes",
    "load_dataset",
    "nearest_neighbors",
    "pack_bits",
    "pattern_entropy",
    "resolve_data_file",
    "shape_patterns",
    "shapes",
    "shapes_entropy",
    "unpack_bits",
]


class _DataPackage(types.ModuleType):
    """Setting ``made_viz.data.MAX_BYTES`` (an operator raising the limit, a test shrinking it)
    changes the limit the parsers read, as it did when this package was a single module."""

    def __setattr__(self, name, value):
        if name == "MAX_BYTES":
            parsers.MAX_BYTES = value
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _DataPackage
