"""The packed-bits ``.npz`` layout of the shipped data sets: one writer, one reader.

``train_bits``, ``test_bits`` and optionally ``valid_bits`` are the 0/1 images packed row-wise
with ``np.packbits(axis=1)`` (8 pixels a byte), plus ``<split>_labels`` (uint8, optional),
``shape`` (height, width) and ``n_<split>``.  No pickled objects.  Zip members carry a fixed
timestamp, so writing the same arrays twice gives the same bytes (the scripts that build the
assets, ``scripts/make_assets.py`` and ``scripts/make_mnist.py``, are reproducible).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .dataset import MAX_PIXELS, unpack_bits

SPLITS = ("train", "test", "valid")


class _Raw(NamedTuple):
    """Arrays as found in a file, before binarization; ``test`` and ``valid`` None if absent."""

    train: np.ndarray
    test: np.ndarray | None = None
    labels_train: np.ndarray | None = None
    labels_test: np.ndarray | None = None
    shape: tuple[int, int] | None = None
    valid: np.ndarray | None = None
    labels_valid: np.ndarray | None = None


def asset_arrays(
    bits: dict[str, np.ndarray], labels: dict[str, np.ndarray | None], shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """The arrays of the layout for splits ``bits`` ("train", "test", optionally "valid") of 0/1 images.

    Keys come in a fixed order (bits, labels, shape, sizes), so the written file is reproducible."""
    present = [s for s in SPLITS if s in bits]
    arrays = {f"{s}_bits": np.packbits(np.asarray(bits[s], dtype=np.uint8), axis=1) for s in present}
    arrays |= {f"{s}_labels": np.asarray(labels[s], dtype=np.uint8) for s in present if labels.get(s) is not None}
    arrays["shape"] = np.asarray(shape, dtype=np.int64)
    arrays |= {f"n_{s}": np.asarray(len(bits[s]), dtype=np.int64) for s in present}
    return arrays


def save_asset(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with a fixed member timestamp (byte-reproducible)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def _from_asset_layout(archive) -> _Raw:
    """Arrays in the packed-bits layout of ``scripts/make_assets.py`` and ``scripts/make_mnist.py``:
    ``train_bits``, ``test_bits`` and optionally ``valid_bits``, labels optional."""
    shape_array = np.asarray(archive["shape"])
    if shape_array.shape != (2,) or shape_array.dtype.kind not in "iu":
        raise ValueError(f"bad image shape array {shape_array.dtype} {shape_array.shape}")
    shape = (int(shape_array[0]), int(shape_array[1]))
    if min(shape) <= 0 or shape[0] * shape[1] > MAX_PIXELS:
        raise ValueError(f"bad image shape {shape}")
    d = shape[0] * shape[1]
    bits = {}
    for split in ("train", "test", "valid"):
        if split == "valid" and "valid_bits" not in archive.files:
            continue
        packed = archive[f"{split}_bits"]
        if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] != (d + 7) // 8:
            raise ValueError(
                f"{split}_bits must be uint8 of shape (N, {(d + 7) // 8}), not {packed.dtype} {packed.shape}"
            )
        bits[split] = unpack_bits(packed, d)
    labels = {s: archive[f"{s}_labels"] if f"{s}_labels" in archive.files else None for s in bits}
    return _Raw(
        bits["train"], bits["test"], labels["train"], labels["test"], shape, bits.get("valid"), labels.get("valid")
    )
