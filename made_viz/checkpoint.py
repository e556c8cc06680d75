"""Saving and loading trained MADE models, safely.

A checkpoint is a `torch.save` zip holding one dict of plain values:

    {"format": "made-viz-checkpoint", "version": 1,
     "config": <Config as JSON text>, "mask_index": int,
     "state_dict": {name: tensor},                # weights, biases and the active masks
     "history": <JSON text>, "data": <JSON text>, "train_cfg": <JSON text>, "extra": <JSON text>}

Loading uses `torch.load(..., weights_only=True, map_location="cpu")` only, so a file can hold
nothing but tensors and primitive values: a pickle that tries to run code is refused, never
executed. Everything else is checked (format name and version, configuration, exact set of
weight names and shapes, finite weights, masks equal to those rebuilt from the configuration).
Any problem raises `CheckpointError` with a one-line message.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from .config import Config, ConfigError
from .model import MADE
from .train import TrainConfig

FORMAT = "made-viz-checkpoint"
VERSION = 1
MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # torch zips are stored uncompressed: this bounds what loading reads
_KEYS = ("format", "version", "config", "mask_index", "state_dict", "history", "data", "train_cfg", "extra")


class CheckpointError(ValueError):
    """A file that is not a usable MADE Explorer checkpoint (one-line message)."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (CPU, eval mode, its saved active mask) and what came with it."""

    model: MADE
    config: Config
    history: list = field(default_factory=list)
    data: dict | None = None
    train_cfg: TrainConfig | None = None
    extra: dict | None = None
    version: int = VERSION


# ---------------------------------------------------------------------------------------------
# saving

def checkpoint_bytes(model: MADE, history: list | None = None, data: dict | None = None,
                     train_cfg: TrainConfig | dict | None = None, extra: dict | None = None) -> bytes:
    """The checkpoint as bytes (e.g. for `st.download_button`)."""
    buf = io.BytesIO()
    torch.save(_payload(model, history, data, train_cfg, extra), buf)
    return buf.getvalue()


def save_checkpoint(path_or_file: str | os.PathLike | BinaryIO, model: MADE, history: list | None = None,
                    data: dict | None = None, train_cfg: TrainConfig | dict | None = None,
                    extra: dict | None = None) -> None:
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
    if not isinstance(model, MADE):
        raise TypeError(f"expected a MADE model, got {type(model).__name__}.")
    if isinstance(train_cfg, TrainConfig):
        train_cfg = train_cfg.to_dict()
    # masks are 0/1 and rebuilt from the config on load (then compared): store them as bool
    state = {k: (v.detach().cpu().bool() if k.endswith("mask") else v.detach().cpu().clone())
             for k, v in model.state_dict().items()}
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


# ---------------------------------------------------------------------------------------------
# loading

def load_checkpoint(path_or_bytes: str | os.PathLike | bytes | bytearray | BinaryIO) -> Checkpoint:
    """Load a checkpoint from a path, bytes (an upload) or an open binary file.

    Never executes code from the file. Raises CheckpointError (one line) for anything that is
    not a complete, consistent checkpoint of this format version."""
    raw = _read(path_or_bytes)
    _check_zip(raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        raise CheckpointError("refused: the file contains objects other than weights and plain values "
                              "(nothing in it was run).") from None
    except Exception as e:  # noqa: BLE001 - every failure of an untrusted file is the file's fault
        raise CheckpointError(f"damaged checkpoint: {_first_line(e)}") from None
    return _from_payload(obj)


def _check_zip(raw: bytes) -> None:
    """Checkpoints are torch zip archives (never the legacy bare-pickle format)."""
    if not raw:
        raise CheckpointError("the checkpoint file is empty.")
    if not raw.startswith(b"PK\x03\x04"):
        raise CheckpointError("not a MADE Explorer checkpoint (not a torch zip archive).")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = z.namelist()
            declared = sum(i.file_size for i in z.infolist())
            bad = z.testzip() if declared <= MAX_UNPACKED_BYTES else None  # every member's CRC: a flipped bit shows
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, zlib.error):
        raise CheckpointError("damaged checkpoint: the zip archive is truncated or corrupt.") from None
    if declared > MAX_UNPACKED_BYTES:
        raise CheckpointError(f"the checkpoint is too large ({declared / 1e6:.0f} MB unpacked; at most {MAX_UNPACKED_BYTES >> 20} MB).")
    if bad is not None:
        raise CheckpointError(f"damaged checkpoint: {bad.rsplit('/', 1)[-1]} fails its checksum (the file was altered or corrupted).")
        raise CheckpointError("damaged checkpoint: the zip archive is truncated or corrupt.") from None
    if not any(n.endswith("/data.pkl") for n in names):
        raise CheckpointError("not a MADE Explorer checkpoint (a zip archive, but not one written by torch.save).")


def _read(src) -> bytes:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    if hasattr(src, "read"):
        try:
            data = src.read()
        except OSError as e:
            raise CheckpointError(f"cannot read the checkpoint: {_first_line(e)}") from None
        if not isinstance(data, (bytes, bytearray)):
            raise CheckpointError("the checkpoint must be opened in binary mode.")
        return bytes(data)
    try:
        return Path(src).read_bytes()
    except IsADirectoryError:
        raise CheckpointError(f"{src} is a folder, not a checkpoint file.") from None
    except FileNotFoundError:
        raise CheckpointError(f"no such checkpoint file: {src}") from None
    except (OSError, TypeError) as e:
        raise CheckpointError(f"cannot read checkpoint {src}: {_first_line(e)}") from None


def _from_payload(obj: Any) -> Checkpoint:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError("not a MADE Explorer checkpoint (no 'made-viz-checkpoint' format tag).")
    version = obj.get("version")
    if version != VERSION:
        raise CheckpointError(f"checkpoint format version {version!r} is not supported (this program reads version {VERSION}).")
    missing = [k for k in _KEYS if k not in obj]
    if missing:
        raise CheckpointError(f"incomplete checkpoint: missing {', '.join(missing)}.")
    cfg = _load_config(obj["config"])
    history = _load_json(obj["history"], "history", list)
    data = _load_json(obj["data"], "data", dict)
    extra = _load_json(obj["extra"], "extra", dict)
    tc = _load_json(obj["train_cfg"], "train_cfg", dict)
    try:
        train_cfg = None if tc is None else TrainConfig.from_dict(tc)
    except ConfigError as e:
        raise CheckpointError(f"invalid training settings in checkpoint: {_first_line(e)}") from None
    model = _load_model(cfg, obj["state_dict"], obj["mask_index"])
    return Checkpoint(model=model, config=cfg, history=history or [], data=data, train_cfg=train_cfg,
                      extra=extra, version=version)


def _load_config(text: Any) -> Config:
    if not isinstance(text, str):
        raise CheckpointError("invalid checkpoint: the configuration is not JSON text.")
    try:
        return Config.from_dict(json.loads(text))
    except ValueError as e:  # JSONDecodeError and ConfigError are both ValueErrors
        raise CheckpointError(f"invalid configuration in checkpoint: {_first_line(e)}") from None


def _load_json(text: Any, what: str, kind: type) -> Any:
    if not isinstance(text, str):
        raise CheckpointError(f"invalid checkpoint: {what} is not JSON text.")
    try:
        value = json.loads(text)
    except ValueError as e:
        raise CheckpointError(f"invalid checkpoint: {what} is not valid JSON ({_first_line(e)}).") from None
    if value is not None and not isinstance(value, kind):
        raise CheckpointError(f"invalid checkpoint: {what} should be a {kind.__name__}.")
    return value


def _load_model(cfg: Config, state: Any, mask_index: Any) -> MADE:
    if isinstance(mask_index, bool) or not isinstance(mask_index, int) or not 0 <= mask_index < cfg.num_masks:
        raise CheckpointError(f"invalid checkpoint: active mask {mask_index!r} is not one of the {cfg.num_masks} mask(s).")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("invalid checkpoint: the weights are not a dictionary of tensors.")
    model = MADE(cfg)
    model.set_mask(mask_index)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(map(str, unexpected[:3]))}"
        raise CheckpointError(f"the weights do not match the configuration ({what}).")
    for name, ref in expected.items():
        t = state[name]
        if tuple(t.shape) != tuple(ref.shape):
            raise CheckpointError(f"the weights do not match the configuration: {name} has shape "
                                  f"{tuple(t.shape)}, expected {tuple(ref.shape)}.")
        if not (t.is_floating_point() or t.dtype == torch.bool):
            raise CheckpointError(f"invalid checkpoint: {name} has type {t.dtype}, expected floating point.")
        if not bool(torch.isfinite(t.float()).all()):
            raise CheckpointError(f"the checkpoint's {name} contains NaN or infinite values (a diverged model?).")
        if name.endswith("mask") and not torch.equal(t.to(ref.dtype), ref):
            raise CheckpointError(f"the checkpoint's {name} differs from the mask its configuration builds "
                                  "(written by an incompatible version?).")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    model.eval()
    return model


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    line = text.splitlines()[0].strip()
    return line if len(line) <= 200 else line[:197] + "..."


def describe(ck: Checkpoint) -> str:
    """One line for listings: architecture, data and the last recorded validation NLL."""
    cfg = ck.config
    hidden = "-".join(map(str, cfg.hidden)) or "none"
    parts = [f"D={cfg.d}", f"hidden {hidden}", f"K={cfg.num_masks}", f"order {cfg.order if isinstance(cfg.order, str) else 'custom'}"]
    if ck.data and ck.data.get("name"):
        parts.append(f"data {ck.data['name']}")
    last = next((h for h in reversed(ck.history) if isinstance(h, dict) and h.get("valid_nll") is not None), None)
    if last is not None and isinstance(last["valid_nll"], (int, float)) and math.isfinite(last["valid_nll"]):
        parts.append(f"valid NLL {last['valid_nll']:.3f} nats")
    return ", ".join(parts)
