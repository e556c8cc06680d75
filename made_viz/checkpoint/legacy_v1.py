"""Version 1, read only: a `torch.save` zip, written before checkpoints became safetensors (the
shipped pre-trained models and downloads from earlier versions). It is unpickled through
`torch.load(weights_only=True)` only, so a pickle that tries to run code is refused, never executed."""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
import zlib

import torch

from .base import FIELDS, LEGACY_VERSION, MAX_BYTES, Checkpoint, CheckpointError, first_line, too_large
from .checks import assemble, check_fields, check_shapes, load_config

_KEYS = (*FIELDS, "state_dict")  # a version-1 payload: the fields plus the tensors


def is_zip(raw: bytes) -> bool:
    """A zip archive, as `torch.save` writes (told from the bytes, never from the file name)."""
    return raw.startswith(b"PK\x03\x04")


def load_legacy(raw: bytes) -> Checkpoint:
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
        raise CheckpointError(f"damaged checkpoint: {first_line(e)}") from None
    if not isinstance(obj, dict):
        raise CheckpointError("not a MADE Explorer checkpoint (no 'made-viz-checkpoint' format tag).")
    check_fields(obj, _KEYS, LEGACY_VERSION)
    cfg = load_config(obj["config"])
    state = obj["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("invalid checkpoint: the weights are not a dictionary of tensors.")
    check_shapes(cfg, {k: list(v.shape) for k, v in state.items()})
    return assemble(cfg, obj, state, obj["mask_index"], LEGACY_VERSION)


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
        raise CheckpointError(too_large(declared))
    if bad is not None:
        raise CheckpointError(
            f"damaged checkpoint: {bad.rsplit('/', 1)[-1]} fails its checksum (the file was altered or corrupted)."
        )
    if not any(n.endswith("/data.pkl") for n in names):
        raise CheckpointError("not a MADE Explorer checkpoint (a zip archive, but not one written by torch.save).")
