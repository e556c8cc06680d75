"""Writing a checkpoint: always version 2 (safetensors), refused when its header would be too long
to load again, written to a path atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from ..model import MADE
from ..train import TrainConfig
from .base import FORMAT, MAX_HEADER_BYTES, VERSION
from .safetensors_v2 import header_length, pack


def checkpoint_bytes(
    model: MADE,
    history: list | None = None,
    data: dict | None = None,
    train_cfg: TrainConfig | dict | None = None,
    extra: dict | None = None,
) -> bytes:
    """The checkpoint as bytes (e.g. for `st.download_button`)."""
    blob = pack(_payload(model, history, data, train_cfg, extra))
    if header_length(blob) > MAX_HEADER_BYTES:
        raise ValueError(
            f"the checkpoint's history and notes are too long to save ({header_length(blob) >> 20} MB "
            f"of text; at most {MAX_HEADER_BYTES >> 20} MB)."
        )
    return blob


def save_checkpoint(
    path_or_file: str | os.PathLike | BinaryIO,
    model: MADE,
    history: list | None = None,
    data: dict | None = None,
    train_cfg: TrainConfig | dict | None = None,
    extra: dict | None = None,
) -> None:
    """Write a checkpoint to a path (atomically: a temporary file, then renamed) or to an open
    binary file. `data` describes the training data (e.g. `Dataset.to_dict()` plus how it was
    loaded); history, data and extra must be JSON-able."""
    blob = checkpoint_bytes(model, history, data, train_cfg, extra)
    if hasattr(path_or_file, "write"):
        path_or_file.write(blob)
        return
    path = Path(path_or_file)
    fd, tmp = tempfile.mkstemp(prefix=".made-viz-", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _payload(model: MADE, history, data, train_cfg, extra) -> dict:
    """The checkpoint as one dict: the metadata fields (JSON text) and the state_dict."""
    if not isinstance(model, MADE):
        raise TypeError(f"expected a MADE model, got {type(model).__name__}.")
    if isinstance(train_cfg, TrainConfig):
        train_cfg = train_cfg.to_dict()
    # masks are 0/1 and rebuilt from the config on load (then compared): store them as bool
    state = {
        k: (v.detach().cpu().bool() if k.endswith("mask") else v.detach().cpu().clone()).contiguous()
        for k, v in model.state_dict().items()
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": json.dumps(model.cfg.to_dict(), sort_keys=True),
        "mask_index": int(model.mask_index),
        "state_dict": state,
        "history": _json(history if history is not None else [], "history"),
        "data": _json(data, "data"),
        "train_cfg": _json(train_cfg, "train_cfg"),
        "extra": _json(extra, "extra"),
    }


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, default=_plain, allow_nan=True)
    except (TypeError, ValueError) as e:
        raise ValueError(f"checkpoint {what} must be JSON-able: {e}") from None


def _plain(v: Any) -> Any:
    """numpy / torch scalars and arrays -> plain JSON values."""
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    if isinstance(v, (np.ndarray, torch.Tensor)):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    raise TypeError(f"{type(v).__name__} is not JSON-able")
