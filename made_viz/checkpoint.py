"""Saving and loading trained MADE models, safely: safetensors, no pickle.

A checkpoint (format version 2) is a safetensors file (https://huggingface.co/docs/safetensors):

    8 bytes: N, the length of the header (little-endian)
    N bytes: a JSON header naming each tensor's dtype, shape and byte range, plus "__metadata__":
             {"format": "made-viz-checkpoint", "version": "2", "config": <Config as JSON>,
              "mask_index": "k", "history": <JSON>, "data": <JSON>, "train_cfg": <JSON>,
              "extra": <JSON>, "sha256": <hex digest of the header without it, then the tensor bytes>}
    the raw bytes of the tensors: the state_dict (weights and biases as float32, the active masks as bool).

Reading it parses JSON and copies bytes; nothing in the file can run. Files of the older format
(version 1, a `torch.save` zip written before safetensors, such as the shipped pre-trained models
and downloads from earlier versions) still load, through `torch.load(weights_only=True)` only, so a
pickle that tries to run code is refused, never executed. The format is told from the bytes, never
from the file name.

What a hostile file can make us allocate is bounded before anything is built: the file size, the
header length, the exact set of tensor names and their shapes (computed from the configuration,
so a configuration that promises a huge network is refused unless the file holds its weights).
Everything else is checked too (format and version, checksum, configuration, finite weights,
masks equal to those rebuilt from the configuration). Any problem raises `CheckpointError` with a
one-line message.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import os
import pickle
import struct
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import safetensors.torch
import torch

from .config import Config, ConfigError
from .model import MADE
from .train import TrainConfig

FORMAT = "made-viz-checkpoint"
VERSION = 2  # safetensors (written and read)
LEGACY_VERSION = 1  # torch.save zip (read only)
MAX_BYTES = 512 * 1024 * 1024  # the largest checkpoint file read (the unpacked size for a zip)
MAX_UNPACKED_BYTES = MAX_BYTES  # the name version 1 used
MAX_HEADER_BYTES = 8 * 1024 * 1024  # ~20 000 epochs of history; bounds the JSON a file makes us parse
_FIELDS = ("format", "version", "config", "mask_index", "history", "data", "train_cfg", "extra")
_KEYS = (*_FIELDS, "state_dict")  # a payload: the fields plus the tensors
_CHECKSUM = "sha256"
_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
_MASK_DTYPES = _FLOAT_DTYPES | {"BOOL"}
_NOT_A_CHECKPOINT = "not a MADE Explorer checkpoint (not a safetensors file, not a torch zip archive)."


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


def checkpoint_bytes(
    model: MADE,
    history: list | None = None,
    data: dict | None = None,
    train_cfg: TrainConfig | dict | None = None,
    extra: dict | None = None,
) -> bytes:
    """The checkpoint as bytes (e.g. for `st.download_button`)."""
    blob = pack(_payload(model, history, data, train_cfg, extra))
    if _header_length(blob) > MAX_HEADER_BYTES:
        raise ValueError(
            f"the checkpoint's history and notes are too long to save ({_header_length(blob) >> 20} MB "
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


def pack(payload: dict) -> bytes:
    """Low level (for tools and tests): a payload dict -> safetensors bytes, with its checksum.

    `payload["state_dict"]` (if present) holds the tensors; every other entry becomes a metadata
    string (kept as is if it is a string, else written as JSON). Nothing is validated here:
    `load_checkpoint` does that."""
    tensors = dict(payload.get("state_dict", {}))
    metadata = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items() if k != "state_dict"}
    unsigned = safetensors.torch.save(tensors, metadata=metadata)
    header, body = _split(unsigned, limit=None)
    return safetensors.torch.save(tensors, metadata={**metadata, _CHECKSUM: _digest(header, body)})


def unpack(raw: bytes) -> dict:
    """Low level (for tools and tests): safetensors bytes -> a payload dict (metadata strings and
    "state_dict"), the inverse of `pack`. Checks only the container (bounded header, byte ranges)."""
    header, _ = _split(raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.frombuffer warns that bytes are read-only; we copy on load
            tensors = safetensors.torch.load(raw)
    except Exception as e:  # noqa: BLE001 - every failure of an untrusted file is the file's fault
        raise CheckpointError(f"damaged checkpoint: {_first_line(e)}") from None
    return {**header.get("__metadata__", {}), "state_dict": tensors}


def _digest(header: dict, body: bytes) -> str:
    """SHA-256 of the header (without the checksum itself, keys sorted) and the tensor bytes: a
    flipped bit anywhere that matters shows (the zip of version 1 had CRCs; safetensors has none)."""
    meta = {k: v for k, v in header.get("__metadata__", {}).items() if k != _CHECKSUM}
    text = json.dumps({**header, "__metadata__": meta}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode() + b"\0" + body).hexdigest()


# ---------------------------------------------------------------------------------------------
# loading


def load_checkpoint(path_or_bytes: str | os.PathLike | bytes | bytearray | BinaryIO) -> Checkpoint:
    """Load a checkpoint from a path, bytes (an upload) or an open binary file.

    Never executes code from the file. Raises CheckpointError (one line) for anything that is
    not a complete, consistent checkpoint of a supported format version."""
    raw = _read(path_or_bytes)
    if not raw:
        raise CheckpointError("the checkpoint file is empty.")
    if len(raw) > MAX_BYTES:
        raise CheckpointError(_too_large(len(raw)))
    if raw.startswith(b"PK\x03\x04"):
        return _load_legacy(raw)
    if _is_safetensors(raw):
        return _load_safetensors(raw)
    raise CheckpointError(_NOT_A_CHECKPOINT)


def _too_large(size: int) -> str:
    return f"the checkpoint is too large ({size / 1e6:.0f} MB; at most {MAX_BYTES >> 20} MB)."


def _read(src) -> bytes:
    """The file's bytes, reading at most one byte more than MAX_BYTES (so that the size check fails)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    if hasattr(src, "read"):
        try:
            data = src.read(MAX_BYTES + 1)
        except OSError as e:
            raise CheckpointError(f"cannot read the checkpoint: {_first_line(e)}") from None
        if not isinstance(data, (bytes, bytearray)):
            raise CheckpointError("the checkpoint must be opened in binary mode.")
        return bytes(data)
    try:
        with Path(src).open("rb") as f:
            return f.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise CheckpointError(f"{src} is a folder, not a checkpoint file.") from None
    except FileNotFoundError:
        raise CheckpointError(f"no such checkpoint file: {src}") from None
    except (OSError, TypeError, ValueError) as e:
        raise CheckpointError(f"cannot read checkpoint {src}: {_first_line(e)}") from None


# --- version 2: safetensors --------------------------------------------------------------------


def _is_safetensors(raw: bytes) -> bool:
    """A safetensors file: 8 length bytes, then a JSON object (our writer starts it with `{"`)."""
    return len(raw) >= 10 and raw[8:10] == b'{"'


def _header_length(raw: bytes) -> int:
    return struct.unpack("<Q", raw[:8])[0]


def _split(raw: bytes, limit: int | None = MAX_HEADER_BYTES) -> tuple[dict, bytes]:
    """(the parsed header, the tensor bytes), refusing a header longer than `limit` or than the
    file before parsing it, and JSON that is not one object with unique keys."""
    if len(raw) < 8:
        raise CheckpointError("damaged checkpoint: the file is truncated or corrupt.")
    n = _header_length(raw)
    if limit is not None and n > limit:
        raise CheckpointError(
            f"damaged or crafted checkpoint: its header claims {n} bytes (at most {MAX_HEADER_BYTES >> 20} MB)."
        )
    if n > len(raw) - 8:
        raise CheckpointError("damaged checkpoint: the file is truncated or corrupt (shorter than its header says).")
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"), object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CheckpointError("damaged checkpoint: its header is not valid JSON.") from None
    if not isinstance(header, dict):
        raise CheckpointError("damaged checkpoint: its header is not a JSON object.")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError("damaged checkpoint: its metadata is not a table of texts.")
    return header, raw[8 + n :]


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object whose keys are unique: a repeated key would mean different things to
    different readers (ours and the safetensors library)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("repeated key")
    return out


def _load_safetensors(raw: bytes) -> Checkpoint:
    header, body = _split(raw)
    meta = header.get("__metadata__", {})
    _check_fields(meta, [*_FIELDS, _CHECKSUM], VERSION)
    entries = _entries(header)
    if len(body) < max((e["data_offsets"][1] for e in entries.values()), default=0):
        raise CheckpointError("damaged checkpoint: the file is truncated or corrupt (its tensors are cut short).")
    if meta[_CHECKSUM] != _digest(header, body):
        raise CheckpointError("damaged checkpoint: it fails its checksum (the file was altered or corrupted).")
    cfg = _load_config(meta["config"])
    _check_shapes(cfg, {name: e["shape"] for name, e in entries.items()})
    for name, e in entries.items():
        if e["dtype"] not in (_MASK_DTYPES if name.endswith("mask") else _FLOAT_DTYPES):
            raise CheckpointError(
                f"invalid checkpoint: {name} has type {e['dtype']}, expected "
                f"{'bool or ' if name.endswith('mask') else ''}floating point."
            )
    state = unpack(raw)["state_dict"]
    return _assemble(cfg, meta, state, _mask_index(meta["mask_index"]), VERSION)


def _entries(header: dict) -> dict[str, dict]:
    """The header's tensor entries, each {"dtype": text, "shape": [n, ...], "data_offsets": [start, end]}
    with whole numbers (the safetensors library checks the byte ranges against the file)."""
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    for name, e in entries.items():
        ok = (
            isinstance(e, dict)
            and isinstance(e.get("dtype"), str)
            and _whole_numbers(e.get("shape"))
            and _whole_numbers(e.get("data_offsets"))
            and len(e["data_offsets"]) == 2
            and e["data_offsets"][0] <= e["data_offsets"][1]
        )
        if not ok:
            raise CheckpointError(f"damaged checkpoint: the header's entry for {str(name)[:40]!r} is malformed.")
    return entries


def _whole_numbers(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in v)


def _mask_index(text: str) -> int | str:
    """The active mask's index from its metadata text (left as text if it is not a whole number,
    for the range check to report)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else text


# --- version 1: torch zip (read only) ----------------------------------------------------------


def _load_legacy(raw: bytes) -> Checkpoint:
    """A version-1 checkpoint: a torch zip, unpickled with weights_only=True (tensors and plain
    values only; anything else is refused and never run)."""
    _check_zip(raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        raise CheckpointError(
            "refused: the file contains objects other than weights and plain values (nothing in it was run)."
        ) from None
    except Exception as e:  # noqa: BLE001 - every failure of an untrusted file is the file's fault
        raise CheckpointError(f"damaged checkpoint: {_first_line(e)}") from None
    if not isinstance(obj, dict):
        raise CheckpointError("not a MADE Explorer checkpoint (no 'made-viz-checkpoint' format tag).")
    _check_fields(obj, _KEYS, LEGACY_VERSION)
    cfg = _load_config(obj["config"])
    state = obj["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("invalid checkpoint: the weights are not a dictionary of tensors.")
    _check_shapes(cfg, {k: list(v.shape) for k, v in state.items()})
    return _assemble(cfg, obj, state, obj["mask_index"], LEGACY_VERSION)


def _check_zip(raw: bytes) -> None:
    """Version-1 checkpoints are torch zip archives (never the legacy bare-pickle format)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = z.namelist()
            declared = sum(i.file_size for i in z.infolist())
            bad = z.testzip() if declared <= MAX_BYTES else None  # every member's CRC: a flipped bit shows
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, zlib.error):
        raise CheckpointError("damaged checkpoint: the zip archive is truncated or corrupt.") from None
    if declared > MAX_BYTES:
        raise CheckpointError(_too_large(declared))
    if bad is not None:
        raise CheckpointError(
            f"damaged checkpoint: {bad.rsplit('/', 1)[-1]} fails its checksum (the file was altered or corrupted)."
        )
    if not any(n.endswith("/data.pkl") for n in names):
        raise CheckpointError("not a MADE Explorer checkpoint (a zip archive, but not one written by torch.save).")


# --- checks shared by both versions ------------------------------------------------------------


def _check_fields(fields: dict, keys, version: int) -> None:
    """The format tag, the version this container holds, and every key present."""
    if fields.get("format") != FORMAT:
        raise CheckpointError("not a MADE Explorer checkpoint (no 'made-viz-checkpoint' format tag).")
    found = fields.get("version")
    if str(found) != str(version):
        shown = (
            found if isinstance(found, (int, str)) and str(found).isascii() and str(found).isdigit() else repr(found)
        )
        raise CheckpointError(
            f"checkpoint format version {shown} is not supported (this program reads version "
            f"{VERSION} safetensors files and version {LEGACY_VERSION} torch zip files)."
        )
    missing = [k for k in keys if k not in fields]
    if missing:
        raise CheckpointError(f"incomplete checkpoint: missing {', '.join(missing)}.")


def expected_shapes(cfg: Config) -> dict[str, tuple[int, ...]]:
    """The state_dict names and shapes of MADE(cfg), computed without building it (so that a
    crafted configuration cannot make us allocate a huge network before the weights are seen)."""
    sizes = [cfg.d, *cfg.hidden, cfg.d]
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        shapes.update(
            {
                f"layers.{i}.weight": (fan_out, fan_in),
                f"layers.{i}.bias": (fan_out,),
                f"layers.{i}.mask": (fan_out, fan_in),
            }
        )
    if cfg.direct:
        shapes.update({"direct.weight": (cfg.d, cfg.d), "direct.mask": (cfg.d, cfg.d)})
    return shapes


def _check_shapes(cfg: Config, shapes: dict[str, Any]) -> None:
    """Exactly the tensors the configuration builds, each of its shape."""
    expected = expected_shapes(cfg)
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected), key=str)
    if missing or unexpected:
        what = f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(map(str, unexpected[:3]))}"
        raise CheckpointError(f"the weights do not match the configuration ({what}).")
    for name, ref in expected.items():
        shape = shapes[name]
        if not isinstance(shape, (list, tuple)) or tuple(shape) != ref:
            shown = tuple(shape) if isinstance(shape, (list, tuple)) else shape
            raise CheckpointError(
                f"the weights do not match the configuration: {name} has shape {shown}, expected {ref}."
            )


def _assemble(cfg: Config, fields: dict, state: dict, mask_index: Any, version: int) -> Checkpoint:
    """The Checkpoint from checked fields and tensors (whose names and shapes are already checked)."""
    history = _load_json(fields["history"], "history", list)
    data = _load_json(fields["data"], "data", dict)
    extra = _load_json(fields["extra"], "extra", dict)
    tc = _load_json(fields["train_cfg"], "train_cfg", dict)
    try:
        train_cfg = None if tc is None else TrainConfig.from_dict(tc)
    except ConfigError as e:
        raise CheckpointError(f"invalid training settings in checkpoint: {_first_line(e)}") from None
    model = _load_model(cfg, state, mask_index)
    return Checkpoint(
        model=model, config=cfg, history=history or [], data=data, train_cfg=train_cfg, extra=extra, version=version
    )


def _load_config(text: Any) -> Config:
    if not isinstance(text, str):
        raise CheckpointError("invalid checkpoint: the configuration is not JSON text.")
    try:
        return Config.from_dict(json.loads(text))
    except (ValueError, RecursionError) as e:  # JSONDecodeError and ConfigError are both ValueErrors
        raise CheckpointError(f"invalid configuration in checkpoint: {_first_line(e)}") from None


def _load_json(text: Any, what: str, kind: type) -> Any:
    if not isinstance(text, str):
        raise CheckpointError(f"invalid checkpoint: {what} is not JSON text.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"invalid checkpoint: {what} is not valid JSON ({_first_line(e)}).") from None
    if value is not None and not isinstance(value, kind):
        raise CheckpointError(f"invalid checkpoint: {what} should be a {kind.__name__}.")
    return value


def _load_model(cfg: Config, state: dict, mask_index: Any) -> MADE:
    """MADE(cfg) with the file's weights, after checking types, finiteness and masks."""
    if isinstance(mask_index, bool) or not isinstance(mask_index, int) or not 0 <= mask_index < cfg.num_masks:
        raise CheckpointError(
            f"invalid checkpoint: active mask {mask_index!r} is not one of the {cfg.num_masks} mask(s)."
        )
    for name, t in state.items():
        if not (t.is_floating_point() or (name.endswith("mask") and t.dtype == torch.bool)):
            raise CheckpointError(f"invalid checkpoint: {name} has type {t.dtype}, expected floating point.")
        if not bool(torch.isfinite(t.float()).all()):
            raise CheckpointError(f"the checkpoint's {name} contains NaN or infinite values (a diverged model?).")
    model = MADE(cfg)
    model.set_mask(mask_index)
    expected = model.state_dict()
    for name, ref in expected.items():
        if name.endswith("mask") and not torch.equal(state[name].to(ref.dtype), ref):
            raise CheckpointError(
                f"the checkpoint's {name} differs from the mask its configuration builds "
                "(written by an incompatible version?)."
            )
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
    parts = [
        f"D={cfg.d}",
        f"hidden {hidden}",
        f"K={cfg.num_masks}",
        f"order {cfg.order if isinstance(cfg.order, str) else 'custom'}",
    ]
    if ck.data and ck.data.get("name"):
        parts.append(f"data {ck.data['name']}")
    last = next((h for h in reversed(ck.history) if isinstance(h, dict) and h.get("valid_nll") is not None), None)
    if last is not None and isinstance(last["valid_nll"], (int, float)) and math.isfinite(last["valid_nll"]):
        parts.append(f"valid NLL {last['valid_nll']:.3f} nats")
    return ", ".join(parts)
