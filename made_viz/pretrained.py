"""The pre-trained models shipped in `assets/pretrained/` (so a class can skip the waiting).

Each model is a checkpoint written by the command line (`made-viz train ... --out ...`); the
exact command, the data set and the test NLL (one mask and the ensemble of K masks) are listed
in `assets/pretrained/index.json` (and README.md beside it). `scripts/make_pretrained.sh`
rebuilds them all.

    >>> [p.name for p in list_pretrained()]
    ['digits8', 'mnist']
    >>> ck = load_pretrained("digits8")        # a fresh model on every call
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

INDEX = "index.json"


@dataclass(frozen=True)
class PretrainedInfo:
    """One entry of `index.json`."""

    name: str                 # key, e.g. "mnist"
    title: str                # one line for a picker
    dataset: str              # embedded data set it was trained on (made_viz.data)
    description: str          # architecture and training in a sentence
    test_nll_1: float         # test NLL in nats per example with one mask (mask 0)
    test_nll_ensemble: float  # ... with the ensemble of all K masks (log-mean-exp)
    K: int                    # number of masks
    command: str              # the exact command that made the file
    file: str                 # checkpoint file name inside the folder
    size_bytes: int = 0
    train_seconds: float = 0.0


def pretrained_dir() -> Path:
    """Folder of the shipped models (env var MADE_VIZ_PRETRAINED overrides, e.g. for tests)."""
    override = os.environ.get("MADE_VIZ_PRETRAINED")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "assets" / "pretrained"


def list_pretrained() -> list[PretrainedInfo]:
    """The entries of index.json whose checkpoint file is present (empty list if none)."""
    folder = pretrained_dir()
    try:
        entries = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = []
    for e in entries if isinstance(entries, list) else []:
        try:
            info = PretrainedInfo(**e)
        except TypeError:
            continue
        if _file(folder, info.file) is not None:
            out.append(info)
    return out


def get_info(name: str) -> PretrainedInfo:
    for info in list_pretrained():
        if info.name == name:
            return info
    names = ", ".join(i.name for i in list_pretrained()) or "none"
    raise KeyError(f"no pre-trained model called {name!r} (available: {names}).")


def load_pretrained(name: str):
    """The checkpoint of a shipped model (`made_viz.checkpoint.Checkpoint`); each call builds a new
    model, so a session may train it further without touching anyone else's copy."""
    from .checkpoint import load_checkpoint
    info = get_info(name)
    path = _file(pretrained_dir(), info.file)
    if path is None:  # pragma: no cover - list_pretrained checked it
        raise KeyError(f"the file of pre-trained model {name!r} is missing.")
    return load_checkpoint(path)


def _file(folder: Path, name: str) -> Path | None:
    """The file `name` inside `folder`, or None if absent or pointing outside the folder."""
    if not isinstance(name, str) or not name or Path(name).name != name:
        return None
    path = folder / name
    try:
        if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
            return None
    except OSError:
        return None
    return path
