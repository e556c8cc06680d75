"""Version 2, the format written today: a safetensors container (https://huggingface.co/docs/safetensors)
with a checksum, and its reader.

    8 bytes: N, the length of the header (little-endian)
    N bytes: a JSON header naming each tensor's dtype, shape and byte range, plus "__metadata__":
             {"format": "made-viz-checkpoint", "version": "2", "config": <Config as JSON>,
              "mask_index": "k", "history": <JSON>, "data": <JSON>, "train_cfg": <JSON>,
              "extra": <JSON>, "sha256": <hex digest of the header without it, then the tensor bytes>}
    the raw bytes of the tensors: the state_dict (weights and biases as float32, the active masks as bool).

Reading it parses JSON and copies bytes; nothing in the file can run. The header's length is bounded
before it is parsed, and its tensor entries are checked against the configuration before any tensor
is read.
"""

from __future__ import annotations

import hashlib
import json
import struct
import warnings
from typing import Any

import safetensors.torch

from .base import FIELDS, MAX_HEADER_BYTES, VERSION, Checkpoint, CheckpointError, first_line
from .checks import assemble, check_fields, check_shapes, load_config

CHECKSUM = "sha256"
_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
_MASK_DTYPES = _FLOAT_DTYPES | {"BOOL"}


def pack(payload: dict) -> bytes:
    """Low level (for tools and tests): a payload dict -> safetensors bytes, with its checksum.

    `payload["state_dict"]` (if present) holds the tensors; every other entry becomes a metadata
    string (kept as is if it is a string, else written as JSON). Nothing is validated here:
    `load_checkpoint` does that."""
    tensors = dict(payload.get("state_dict", {}))
    metadata = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items() if k != "state_dict"}
    unsigned = safetensors.torch.save(tensors, metadata=metadata)
    header, body = _split(unsigned, limit=None)
    return safetensors.torch.save(tensors, metadata={**metadata, CHECKSUM: _digest(header, body)})


def unpack(raw: bytes) -> dict:
    """Low level (for tools and tests): safetensors bytes -> a payload dict (metadata strings and
    "state_dict"), the inverse of `pack`. Checks only the container (bounded header, byte ranges)."""
    header, _ = _split(raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.frombuffer warns that bytes are read-only; we copy on load
            tensors = safetensors.torch.load(raw)
    except Exception as e:  # noqa: BLE001 - every failure of an untrusted file is the file's fault
        raise CheckpointError(f"damaged checkpoint: {first_line(e)}") from None
    return {**header.get("__metadata__", {}), "state_dict": tensors}


def _digest(header: dict, body: bytes) -> str:
    """SHA-256 of the header (without the checksum itself, keys sorted) and the tensor bytes: a
    flipped bit anywhere that matters shows (the zip of version 1 had CRCs; safetensors has none)."""
    meta = {k: v for k, v in header.get("__metadata__", {}).items() if k != CHECKSUM}
    text = json.dumps({**header, "__metadata__": meta}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode() + b"\0" + body).hexdigest()


def is_safetensors(raw: bytes) -> bool:
    """A safetensors file: 8 length bytes, then a JSON object (our writer starts it with `{"`)."""
    return len(raw) >= 10 and raw[8:10] == b'{"'


def header_length(raw: bytes) -> int:
    """The header length the file's first 8 bytes claim (not yet checked against anything)."""
    return struct.unpack("<Q", raw[:8])[0]


def _split(raw: bytes, limit: int | None = MAX_HEADER_BYTES) -> tuple[dict, bytes]:
    """(the parsed header, the tensor bytes), refusing a header longer than `limit` or than the
    file before parsing it, and JSON that is not one object with unique keys."""
    if len(raw) < 8:
        raise CheckpointError("damaged checkpoint: the file is truncated or corrupt.")
    n = header_length(raw)
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


def load_safetensors(raw: bytes) -> Checkpoint:
    """A version-2 checkpoint from its bytes: container, checksum, configuration, tensor names,
    shapes and types are all checked before a tensor is read."""
    header, body = _split(raw)
    meta = header.get("__metadata__", {})
    check_fields(meta, [*FIELDS, CHECKSUM], VERSION)
    entries = _entries(header)
    if len(body) < max((e["data_offsets"][1] for e in entries.values()), default=0):
        raise CheckpointError("damaged checkpoint: the file is truncated or corrupt (its tensors are cut short).")
    if meta[CHECKSUM] != _digest(header, body):
        raise CheckpointError("damaged checkpoint: it fails its checksum (the file was altered or corrupted).")
    cfg = load_config(meta["config"])
    check_shapes(cfg, {name: e["shape"] for name, e in entries.items()})
    for name, e in entries.items():
        if e["dtype"] not in (_MASK_DTYPES if name.endswith("mask") else _FLOAT_DTYPES):
            raise CheckpointError(
                f"invalid checkpoint: {name} has type {e['dtype']}, expected "
                f"{'bool or ' if name.endswith('mask') else ''}floating point."
            )
    state = unpack(raw)["state_dict"]
    return assemble(cfg, meta, state, _mask_index(meta["mask_index"]), VERSION)


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
