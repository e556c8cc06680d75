"""The version-1 checkpoint writer (a `torch.save` zip), as made_viz/checkpoint.py had it before
checkpoints became safetensors. The program only reads this format now (the shipped pre-trained
models and older downloads use it); the tests write it to check that such files still load, and
to build hostile files of the kind a pickle-based format invites."""

from __future__ import annotations

import io
import json

import torch

from made_viz.checkpoint import FORMAT, LEGACY_VERSION
from made_viz.model import MADE
from made_viz.train import TrainConfig


def legacy_payload(model: MADE, history=None, data=None, train_cfg=None, extra=None) -> dict:
    """The dict version 1 pickled: metadata as JSON text, the state_dict with bool masks."""
    if isinstance(train_cfg, TrainConfig):
        train_cfg = train_cfg.to_dict()
    state = {
        k: (v.detach().cpu().bool() if k.endswith("mask") else v.detach().cpu().clone())
        for k, v in model.state_dict().items()
    }
    return {
        "format": FORMAT,
        "version": LEGACY_VERSION,
        "config": json.dumps(model.cfg.to_dict(), sort_keys=True),
        "mask_index": int(model.mask_index),
        "state_dict": state,
        "history": json.dumps(history if history is not None else [], allow_nan=True),
        "data": json.dumps(data),
        "train_cfg": json.dumps(train_cfg),
        "extra": json.dumps(extra),
    }


def torch_save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def legacy_checkpoint_bytes(model: MADE, history=None, data=None, train_cfg=None, extra=None) -> bytes:
    """A version-1 checkpoint file, byte for byte what the previous `checkpoint_bytes` wrote."""
    return torch_save(legacy_payload(model, history, data, train_cfg, extra))
