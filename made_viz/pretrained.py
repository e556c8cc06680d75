"""The pre-trained models shipped in the package's `made_viz/assets/pretrained/` (so a class can
skip the waiting; a wheel installed anywhere carries them).

Each model is a checkpoint written by the command line (`made-viz train ... --out ...`); the
exact command, the data set and the test NLL (one mask and the ensemble of K masks) are listed
in `made_viz/assets/pretrained/index.json` (and README.md beside it). `scripts/make_pretrained.sh`
rebuilds them all. A missing index means "no models"; an index that cannot be read or is not a
list of complete entries raises `PretrainedIndexError`, so a damaged install is never mistaken
for an empty one (tests that depend on the models would silently turn into skips).

    >>> [p.name for p in list_pretrained()]
    ['digits8', 'mnist', 'bars4']
    >>> ck = load_pretrained("digits8")        # a fresh model on every call
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

INDEX = "index.json"
PRETRAINED_ENV = "MADE_VIZ_PRETRAINED"


class PretrainedIndexError(RuntimeError):
    """The index of the shipped models exists but cannot be used (unreadable, not JSON, bad entries)."""


@dataclass(frozen=True)
class PretrainedInfo:
    """One entry of `index.json`."""

    name: str  # key, e.g. "mnist"
    title: str  # one line for a picker
    dataset: str  # embedded data set it was trained on (made_viz.data)
    description: str  # architecture and training in a sentence
    test_nll_1: float  # test NLL in nats per example with one mask (mask 0)
    test_nll_ensemble: float  # ... with the ensemble of all K masks (log-mean-exp)
    K: int  # number of masks
    command: str  # the exact command that made the file
    file: str  # checkpoint file name inside the folder
    size_bytes: int = 0
    train_seconds: float = 0.0


def pretrained_dir() -> Path:
    """Folder of the shipped models: `$MADE_VIZ_PRETRAINED` (e.g. for tests), else `pretrained/`
    inside the assets folder (`made_viz.data.assets_dir()`: the package's own, or `$MADE_VIZ_ASSETS`)."""
    override = os.environ.get(PRETRAINED_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from .data import assets_dir

    return assets_dir() / "pretrained"


def list_pretrained() -> list[PretrainedInfo]:
    """The entries of index.json whose checkpoint file is present (empty list if there is no index).

    Raises PretrainedIndexError if the index exists but cannot be read or parsed, or an entry
    lacks a field: a damaged install must say so rather than look like one without models."""
    folder = pretrained_dir()
    path = folder / INDEX
    if not path.exists():
        return []
    return [info for info in _read_index(path) if _file(folder, info.file) is not None]


def _read_index(path: Path) -> list[PretrainedInfo]:
    """Every entry of the index file at `path`, or PretrainedIndexError naming the problem."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError) as exc:
        raise PretrainedIndexError(f"{path}: the index of pre-trained models cannot be read ({exc}).") from exc
    except ValueError as exc:
        raise PretrainedIndexError(f"{path}: the index of pre-trained models is not valid JSON ({exc}).") from exc
    if not isinstance(entries, list):
        raise PretrainedIndexError(f"{path}: the index of pre-trained models must be a JSON list of entries.")
    infos = []
    for i, entry in enumerate(entries):
        try:
            infos.append(PretrainedInfo(**entry))
        except TypeError as exc:
            raise PretrainedIndexError(
                f"{path}: entry {i + 1} of the index of pre-trained models is incomplete or malformed ({exc})."
            ) from exc
    return infos


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
