"""Saving and loading trained MADE models, safely: safetensors, no pickle.

A checkpoint (format version 2, `safetensors_v2.py`) is a safetensors file whose metadata holds the
configuration, the active mask, the training history and settings, notes, and a checksum. Reading
it parses JSON and copies bytes; nothing in the file can run. Files of the older format (version 1,
`legacy_v1.py`: a `torch.save` zip written before safetensors, such as the shipped pre-trained models
and downloads from earlier versions) still load, through `torch.load(weights_only=True)` only, so a
pickle that tries to run code is refused, never executed. The format is told from the bytes, never
from the file name (`load.py`); only version 2 is written (`save.py`).

What a hostile file can make us allocate is bounded before anything is built: the file size, the
header length, the exact set of tensor names and their shapes (computed from the configuration,
so a configuration that promises a huge network is refused unless the file holds its weights).
Everything else is checked too (`checks.py`: format and version, checksum, configuration, finite
weights, masks equal to those rebuilt from the configuration). Any problem raises `CheckpointError`
with a one-line message.
"""

import sys
import types

from ..model import MADE  # noqa: F401 - settable here, as before the split (a test swaps it)
from . import base, checks, legacy_v1, load, safetensors_v2, save
from .base import (
    FORMAT,
    LEGACY_VERSION,
    MAX_BYTES,
    MAX_HEADER_BYTES,
    MAX_UNPACKED_BYTES,
    VERSION,
    Checkpoint,
    CheckpointError,
    describe,
)
from .checks import expected_shapes
from .load import load_checkpoint
from .safetensors_v2 import pack, unpack
from .save import checkpoint_bytes, save_checkpoint

__all__ = [
    "FORMAT",
    "LEGACY_VERSION",
    "MAX_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_UNPACKED_BYTES",
    "VERSION",
    "Checkpoint",
    "CheckpointError",
    "checkpoint_bytes",
    "describe",
    "expected_shapes",
    "load_checkpoint",
    "pack",
    "save_checkpoint",
    "unpack",
]
_PARTS = (base, checks, legacy_v1, load, safetensors_v2, save)


class _CheckpointPackage(types.ModuleType):
    """Setting a name on ``made_viz.checkpoint`` (an operator raising ``MAX_BYTES``, a test shrinking
    ``MAX_HEADER_BYTES`` or swapping ``MADE``) sets it in every part that reads it, as it did when
    this package was a single module."""

    def __setattr__(self, name, value):
        for part in _PARTS:
            if name in vars(part):
                setattr(part, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _CheckpointPackage
