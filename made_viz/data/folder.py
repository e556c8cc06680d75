"""The operator's data folder (env var MADE_VIZ_DATA_DIR): the only place on the server the app
reads students' data files from.

The Train page lists the folder's entries and opens one by name only if it is one of them and
really lies inside the folder: ``..``, absolute paths, hidden files and links that leave the
folder are refused, so no other path on the server can ever be read.
"""

from __future__ import annotations

import os
from pathlib import Path

from .dataset import DataError

DATA_DIR_ENV = "MADE_VIZ_DATA_DIR"
DATA_SUFFIXES = (".npy", ".npz", ".amat", ".gz", "-ubyte", ".idx")


def data_dir() -> Path | None:
    """The folder the server operator named in MADE_VIZ_DATA_DIR (None if unset or missing)."""
    raw = os.environ.get(DATA_DIR_ENV, "").strip()
    if not raw:
        return None
    root = Path(raw).expanduser()
    return root if root.is_dir() else None


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


def list_data_files(root: Path) -> list[str]:
    """Names of the data files (and folders of MNIST IDX files) directly inside `root`, skipping
    hidden entries and anything (e.g. a symlink) that resolves outside the folder."""
    out = []
    try:
        entries = sorted(root.iterdir(), key=lambda p: p.name.lower())
    except OSError:
        return []
    for p in entries:
        if p.name.startswith(".") or not _inside(root, p):
            continue
        if (p.is_file() and p.name.lower().endswith(DATA_SUFFIXES)) or (p.is_dir() and _is_idx_folder(root, p)):
            out.append(p.name)
    return out


def _is_idx_folder(root: Path, folder: Path) -> bool:
    """A folder holding MNIST-style IDX images, none of whose entries is a link leading out of `root`."""
    try:
        children = list(folder.iterdir())
    except OSError:
        return False
    return any(c.name.startswith(("train-images", "t10k-images")) for c in children) and all(
        _inside(root, c) for c in children
    )


def resolve_data_file(root: Path, name: str) -> Path:
    """The path of entry `name` of the data folder; DataError unless it is one of
    `list_data_files(root)` (no other path can ever be read)."""
    if not isinstance(name, str) or name not in list_data_files(root):
        raise DataError(f"{name}: not a file of the server's data folder.")
    path = root / name
    if not _inside(root, path):  # checked again: the folder may have changed
        raise DataError(f"{name}: points outside the server's data folder; refused.")
    return path
