"""What every part of a checkpoint shares: the format's name and versions, the size limits, the
loaded `Checkpoint` and the one-line `CheckpointError`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..config import Config
from ..model import MADE
from ..train import TrainConfig

FORMAT = "made-viz-checkpoint"
VERSION = 2  # safetensors (written and read)
LEGACY_VERSION = 1  # torch.save zip (read only)
MAX_BYTES = 512 * 1024 * 1024  # the largest checkpoint file read (the unpacked size for a zip)
MAX_UNPACKED_BYTES = MAX_BYTES  # the name version 1 used
MAX_HEADER_BYTES = 8 * 1024 * 1024  # ~20 000 epochs of history; bounds the JSON a file makes us parse
FIELDS = ("format", "version", "config", "mask_index", "history", "data", "train_cfg", "extra")


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


def too_large(size: int) -> str:
    """The message for a file (or a zip's unpacked contents) over MAX_BYTES."""
    return f"the checkpoint is too large ({size / 1e6:.0f} MB; at most {MAX_BYTES >> 20} MB)."


def first_line(e: BaseException) -> str:
    """An exception's message cut to one line of at most 200 characters, for a student to read."""
    text = str(e).strip() or type(e).__name__
    line = text.splitlines()[0].strip()
    return line if len(line) <= 200 else line[:197] + "..."
