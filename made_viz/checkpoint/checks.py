"""The checks both format versions share, from the fields of a file to a working model: the format
tag and version, the configuration, the exact set of tensor names and shapes (computed from the
configuration, so a configuration that promises a huge network is refused unless the file holds its
weights), the JSON notes, finite weights, and masks equal to those rebuilt from the configuration."""

from __future__ import annotations

import itertools
import json
from typing import Any

import torch

from ..config import Config, ConfigError
from ..model import MADE
from ..train import TrainConfig
from .base import FORMAT, LEGACY_VERSION, VERSION, Checkpoint, CheckpointError, first_line


def check_fields(fields: dict, keys, version: int) -> None:
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


def check_shapes(cfg: Config, shapes: dict[str, Any]) -> None:
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


def assemble(cfg: Config, fields: dict, state: dict, mask_index: Any, version: int) -> Checkpoint:
    """The Checkpoint from checked fields and tensors (whose names and shapes are already checked)."""
    history = _load_json(fields["history"], "history", list)
    data = _load_json(fields["data"], "data", dict)
    extra = _load_json(fields["extra"], "extra", dict)
    tc = _load_json(fields["train_cfg"], "train_cfg", dict)
    try:
        train_cfg = None if tc is None else TrainConfig.from_dict(tc)
    except ConfigError as e:
        raise CheckpointError(f"invalid training settings in checkpoint: {first_line(e)}") from None
    model = _load_model(cfg, state, mask_index)
    return Checkpoint(
        model=model, config=cfg, history=history or [], data=data, train_cfg=train_cfg, extra=extra, version=version
    )


def load_config(text: Any) -> Config:
    """The configuration from its JSON text, validated by `Config.from_dict`."""
    if not isinstance(text, str):
        raise CheckpointError("invalid checkpoint: the configuration is not JSON text.")
    try:
        return Config.from_dict(json.loads(text))
    except (ValueError, RecursionError) as e:  # JSONDecodeError and ConfigError are both ValueErrors
        raise CheckpointError(f"invalid configuration in checkpoint: {first_line(e)}") from None


def _load_json(text: Any, what: str, kind: type) -> Any:
    if not isinstance(text, str):
        raise CheckpointError(f"invalid checkpoint: {what} is not JSON text.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"invalid checkpoint: {what} is not valid JSON ({first_line(e)}).") from None
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
