#!/usr/bin/env python
"""Derive the embedded ``digits8`` data set in ``made_viz/assets/`` (one-off, offline).

Usage::

    python scripts/make_assets.py [--out made_viz/assets]

``made_viz/assets/digits8.npz``
    The 1,797 8x8 UCI optical digits shipped inside scikit-learn
    (``sklearn.datasets.load_digits``, grey levels 0..16), binarized as
    ``pixel = 1 iff value >= 8`` and split by a permutation seeded with 0 into
    1,497 training and 300 test images.

The ``mnist`` asset is made by ``scripts/make_mnist.py`` (all 70,000 MNIST digits, binarized
the MADE paper's way).  Both use the packed-bits layout of :mod:`made_viz.data.layout`
(``train_bits``, ``test_bits``, labels, ``shape``, split sizes), written with a fixed zip
timestamp, so re-running the script reproduces the file byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the library of this checkout, also when it is not installed

from made_viz.data.layout import asset_arrays, save_asset  # noqa: E402

SEED = 0
DIGITS_N_TEST = 300


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
    train, train_labels, test, test_labels = split(bits, labels, DIGITS_N_TEST)
    return asset_arrays({"train": train, "test": test}, {"train": train_labels, "test": test_labels}, (8, 8))


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
    parser.add_argument(
        "--out", type=Path, default=REPO / "made_viz" / "assets", help="output folder (default made_viz/assets/)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "digits8.npz"
    arrays = build_digits8()
    save_asset(path, arrays)
    print(describe(path, arrays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
