"""Checkpoints: exact round trips, and every bad file refused with CheckpointError (never run)."""
from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from made_viz.checkpoint import (
    FORMAT, VERSION, Checkpoint, CheckpointError, checkpoint_bytes, load_checkpoint, save_checkpoint,
)
from made_viz.config import Config
from made_viz.model import MADE
from made_viz.sampling import sample
from made_viz.train import TrainConfig, Trainer


def trained_model(num_masks=3) -> tuple[MADE, Trainer]:
    x = (np.random.default_rng(0).random((300, 16)) < 0.4).astype(np.uint8)
    model = MADE(Config(d=16, hidden=(24, 24), order="random", num_masks=num_masks, direct=True,
                        shape=(4, 4), seed=3))
    tr = Trainer(model, x, TrainConfig(epochs=2, batch_size=30, lr=5e-3))
    tr.run()
    return model, tr


def test_round_trip_gives_identical_likelihoods_and_samples(tmp_path):
    model, tr = trained_model()
    model.set_mask(1)
    path = tmp_path / "m.pt"
    data = {"name": "toy", "shape": [4, 4], "source": "toy"}
    save_checkpoint(path, model, history=tr.history, data=data, train_cfg=tr.cfg, extra={"note": "hi"})
    ck = load_checkpoint(path)
    assert isinstance(ck, Checkpoint) and ck.version == VERSION
    assert ck.config == model.cfg and not ck.model.training and ck.model.mask_index == 1
    assert ck.history == json.loads(json.dumps(tr.history)) and ck.data == data
    assert ck.train_cfg == tr.cfg and ck.extra == {"note": "hi"}
    x = torch.as_tensor((np.random.default_rng(1).random((40, 16)) < 0.5), dtype=torch.float32)
    with torch.no_grad():
        for k in range(3):
            model.set_mask(k)
            ck.model.set_mask(k)
            assert torch.equal(model.log_prob(x), ck.model.log_prob(x))
        assert torch.equal(model.log_prob_ensemble(x), ck.model.log_prob_ensemble(x))
    a = sample(model, n=8, seed=4, mask=2)
    b = sample(ck.model, n=8, seed=4, mask=2)
    assert torch.equal(a.x, b.x) and torch.equal(a.probs, b.probs)


def test_bytes_and_file_objects():
    model, _ = trained_model(num_masks=1)
    blob = checkpoint_bytes(model)
    assert blob[:4] == b"PK\x03\x04"
    ck = load_checkpoint(blob)
    assert ck.history == [] and ck.data is None and ck.train_cfg is None
    buf = io.BytesIO()
    save_checkpoint(buf, model, history=[{"epoch": 1, "valid_nll": np.float32(2.5)}])
    buf.seek(0)
    assert load_checkpoint(buf).history == [{"epoch": 1, "valid_nll": 2.5}]


def _payload(model: MADE) -> dict:
    return torch.load(io.BytesIO(checkpoint_bytes(model)), weights_only=True)


def _save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


class _Evil:
    """Unpickling this would run a shell command creating a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("make", ["pickle", "torch_zip", "inside_payload"])
def test_malicious_pickles_are_refused_and_never_run(tmp_path, make):
    marker = tmp_path / "pwned"
    evil = _Evil(marker)
    if make == "pickle":
        blob = pickle.dumps(evil)
    elif make == "torch_zip":
        blob = _save({"format": FORMAT, "version": VERSION, "x": evil})
    else:
        model, _ = trained_model(num_masks=1)
        payload = _payload(model)
        payload["extra"] = evil
        blob = _save(payload)
    path = tmp_path / "evil.pt"
    path.write_bytes(blob)
    for src in (blob, path):
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(src)
        assert "\n" not in str(info.value)
    assert not marker.exists()


def test_damaged_and_foreign_files(tmp_path):
    model, _ = trained_model(num_masks=1)
    blob = checkpoint_bytes(model)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("hello.txt", "not a checkpoint")
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0xFF
    cases = {
        "empty": b"",
        "text": b"hello world",
        "random": np.random.default_rng(0).bytes(5000),
        "truncated": blob[: len(blob) // 2],
        "truncated_end": blob[:-30],
        "random_zip": zbuf.getvalue(),
        "bit_flip": bytes(flipped),
        "plain_tensor": _save(torch.zeros(3)),
        "foreign_dict": _save({"state_dict": model.state_dict()}),
    }
    for name, data in cases.items():
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(data)
        assert "\n" not in str(info.value), name
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)


def _tampered(change) -> bytes:
    model, _ = trained_model(num_masks=2)
    payload = _payload(model)
    change(payload)
    return _save(payload)


@pytest.mark.parametrize("change, match", [
    (lambda p: p.update(version=99), "version"),
    (lambda p: p.pop("state_dict"), "missing"),
    (lambda p: p.update(config=json.dumps({**json.loads(p["config"]), "hidden": [25, 24]})), "shape"),
    (lambda p: p.update(config=json.dumps({**json.loads(p["config"]), "d": 17, "shape": None})), "shape"),
    (lambda p: p.update(config=json.dumps({**json.loads(p["config"]), "direct": False})), "unexpected"),
    (lambda p: p.update(config=json.dumps({**json.loads(p["config"]), "seed": 4})), "mask"),
    (lambda p: p.update(config="{not json"), "configuration"),
    (lambda p: p.update(config=json.dumps({"d": 1})), "configuration"),
    (lambda p: p["state_dict"].pop("layers.0.bias"), "missing"),
    (lambda p: p["state_dict"]["layers.1.weight"].fill_(float("nan")), "NaN"),
    (lambda p: p.update(mask_index=7), "mask"),
    (lambda p: p.update(train_cfg=json.dumps({"lr": -1})), "training"),
    (lambda p: p.update(history=42), "history"),
])
def test_inconsistent_checkpoints(change, match):
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(_tampered(change))


def test_save_rejects_non_json_metadata():
    model, _ = trained_model(num_masks=1)
    with pytest.raises(ValueError, match="JSON"):
        checkpoint_bytes(model, extra={"f": object()})
