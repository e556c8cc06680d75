"""Reading a checkpoint from a path, bytes (an upload) or an open file: the size is bounded before
anything is parsed, and the format version is told from the bytes, never from the file name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from .base import MAX_BYTES, Checkpoint, CheckpointError, first_line, too_large
from .legacy_v1 import is_zip, load_legacy
from .safetensors_v2 import is_safetensors, load_safetensors

_NOT_A_CHECKPOINT = "not a MADE Explorer checkpoint (not a safetensors file, not a torch zip archive)."


def load_checkpoint(path_or_bytes: str | os.PathLike | bytes | bytearray | BinaryIO) -> Checkpoint:
    """Load a checkpoint from a path, bytes (an upload) or an open binary file.

    Never executes code from the file. Raises CheckpointError (one line) for anything that is
    not a complete, consistent checkpoint of a supported format version."""
    raw = _read(path_or_bytes)
    if not raw:
        raise CheckpointError("the checkpoint file is empty.")
    if len(raw) > MAX_BYTES:
        raise CheckpointError(too_large(len(raw)))
    if is_zip(raw):
        return load_legacy(raw)
    if is_safetensors(raw):
        return load_safetensors(raw)
    raise CheckpointError(_NOT_A_CHECKPOINT)


def _read(src) -> bytes:
    """The file's bytes, reading at most one byte more than MAX_BYTES (so that the size check fails)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    if hasattr(src, "read"):
        try:
            data = src.read(MAX_BYTES + 1)
        except OSError as e:
            raise CheckpointError(f"cannot read the checkpoint: {first_line(e)}") from None
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
        raise CheckpointError(f"cannot read checkpoint {src}: {first_line(e)}") from None
