"""Checkpoints: exact round trips, and every bad file refused with CheckpointError (never run).

Version 2 (written now) is safetensors; version 1 (a torch zip: the shipped pre-trained models,
older downloads) is still read. Hostile files are built in both formats."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

import made_viz.checkpoint as C
from made_viz.checkpoint import (
    FORMAT,
    LEGACY_VERSION,
    VERSION,
    Checkpoint,
    CheckpointError,
    checkpoint_bytes,
    describe,
    expected_shapes,
    load_checkpoint,
    pack,
    save_checkpoint,
    unpack,
)
from made_viz.config import Config
from made_viz.model import MADE
from made_viz.sampling import sample
from made_viz.train import TrainConfig, Trainer

from .legacy_checkpoint import legacy_checkpoint_bytes, legacy_payload, torch_save

ROOT = Path(__file__).resolve().parents[2]
V1_FIXTURE = Path(__file__).parent / "data" / "checkpoint_v1.pt"


def trained_model(num_masks=3) -> tuple[MADE, Trainer]:
    x = (np.random.default_rng(0).random((300, 16)) < 0.4).astype(np.uint8)
    model = MADE(Config(d=16, hidden=(24, 24), order="random", num_masks=num_masks, direct=True, shape=(4, 4), seed=3))
    tr = Trainer(model, x, TrainConfig(epochs=2, batch_size=30, lr=5e-3))
    tr.run()
    return model, tr


def binary_data(n: int, d: int, seed: int = 1) -> torch.Tensor:
    return torch.as_tensor((np.random.default_rng(seed).random((n, d)) < 0.5), dtype=torch.float32)


def assert_same_model(a: MADE, b: MADE, x: torch.Tensor) -> None:
    """Identical log-likelihoods under every mask and the ensemble, and identical masks."""
    active = a.mask_index
    assert b.mask_index == active
    with torch.no_grad():
        for k in range(a.num_masks):
            a.set_mask(k)
            b.set_mask(k)
            assert torch.equal(a.log_prob(x), b.log_prob(x)), k
            for name, t in a.state_dict().items():
                if name.endswith("mask"):
                    assert torch.equal(t, b.state_dict()[name]), (k, name)
        assert torch.equal(a.log_prob_ensemble(x), b.log_prob_ensemble(x))
    a.set_mask(active)
    b.set_mask(active)


# ---------------------------------------------------------------------------------------------
# round trips


def test_round_trip_gives_identical_likelihoods_and_samples(tmp_path):
    model, tr = trained_model()
    model.set_mask(1)
    path = tmp_path / "m.safetensors"
    data = {"name": "toy", "shape": [4, 4], "source": "toy"}
    save_checkpoint(path, model, history=tr.history, data=data, train_cfg=tr.cfg, extra={"note": "hi"})
    ck = load_checkpoint(path)
    assert isinstance(ck, Checkpoint) and ck.version == VERSION == 2
    assert ck.config == model.cfg and not ck.model.training and ck.model.mask_index == 1
    assert ck.history == json.loads(json.dumps(tr.history)) and ck.data == data
    assert ck.train_cfg == tr.cfg and ck.extra == {"note": "hi"}
    assert_same_model(model, ck.model, binary_data(40, 16))
    a = sample(model, n=8, seed=4, mask=2)
    b = sample(ck.model, n=8, seed=4, mask=2)
    assert torch.equal(a.x, b.x) and torch.equal(a.probs, b.probs)


@pytest.mark.parametrize(
    "cfg",
    [
        Config(d=4, shape=(2, 2), hidden=(8,)),
        Config(d=6, shape=(2, 3), hidden=(), direct=True, order=[5, 0, 3, 1, 4, 2]),
        Config(
            d=9,
            shape=(3, 3),
            hidden=(7, 5, 3),
            num_masks=4,
            order="random",
            degrees="even",
            activation="tanh",
            direct=False,
            seed=11,
        ),
    ],
)
def test_round_trip_of_several_architectures(cfg):
    model = MADE(cfg)
    model.set_mask(cfg.num_masks - 1)
    ck = load_checkpoint(checkpoint_bytes(model))
    assert ck.config == cfg
    assert_same_model(model, ck.model, binary_data(30, cfg.d))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), ck.model.state_dict().values()))


def test_the_file_is_safetensors_with_json_metadata_and_no_pickle():
    model, tr = trained_model(num_masks=2)
    blob = checkpoint_bytes(model, history=tr.history, extra={"note": "hi"})
    assert not blob.startswith(b"PK") and b"\x80\x02" not in blob[:2]
    tensors = safetensors.torch.load(blob)  # any safetensors reader can open it
    assert set(tensors) == set(model.state_dict())
    assert all(tensors[k].dtype == (torch.bool if k.endswith("mask") else torch.float32) for k in tensors)
    fields = unpack(blob)
    assert fields["format"] == FORMAT and fields["version"] == "2" and fields["mask_index"] == "0"
    assert Config.from_dict(json.loads(fields["config"])) == model.cfg
    assert json.loads(fields["extra"]) == {"note": "hi"} and len(json.loads(fields["history"])) == 2


def test_bytes_and_file_objects():
    model, _ = trained_model(num_masks=1)
    blob = checkpoint_bytes(model)
    assert blob[8:10] == b'{"'  # safetensors: header length, then a JSON header
    ck = load_checkpoint(blob)
    assert ck.history == [] and ck.data is None and ck.train_cfg is None
    buf = io.BytesIO()
    save_checkpoint(buf, model, history=[{"epoch": 1, "valid_nll": np.float32(2.5)}])
    buf.seek(0)
    assert load_checkpoint(buf).history == [{"epoch": 1, "valid_nll": 2.5}]


def test_expected_shapes_are_those_of_the_model():
    for cfg in (
        Config(d=4, shape=(2, 2), hidden=(8,)),
        Config(d=6, shape=(2, 3), hidden=(), direct=True),
        Config(d=9, shape=(3, 3), hidden=(7, 5, 3), direct=False),
    ):
        assert expected_shapes(cfg) == {k: tuple(v.shape) for k, v in MADE(cfg).state_dict().items()}


# ---------------------------------------------------------------------------------------------
# version 1 (torch zip) still loads


def test_a_version_1_file_written_by_the_previous_code_still_loads():
    """The fixture was written by the previous checkpoint.py (torch.save); its `extra` recorded
    log p(x) of all 64 binary inputs under each mask and the ensemble at that time."""
    ck = load_checkpoint(V1_FIXTURE)
    assert ck.version == LEGACY_VERSION == 1 and ck.model.mask_index == 2
    assert ck.config == Config(d=6, shape=(2, 3), hidden=(10, 8), num_masks=3, order="random", direct=True, seed=7)
    assert ck.data["name"] == "toy6" and len(ck.history) == 2 and ck.train_cfg.batch_size == 20
    grid = torch.tensor([[(i >> j) & 1 for j in range(6)] for i in range(64)], dtype=torch.float32)
    with torch.no_grad():
        for k, expected in enumerate(ck.extra["log_prob_all_64_inputs_per_mask"]):
            ck.model.set_mask(k)
            # float32 sums: another CPU's kernels may round the last bit differently (seen: 2.4e-7);
            # a wrong mask or weight moves these by tenths
            np.testing.assert_allclose(ck.model.log_prob(grid).numpy(), expected, rtol=0, atol=1e-5, err_msg=str(k))
        ck.model.set_mask(2)
        ens = ck.model.log_prob_ensemble(grid)
    np.testing.assert_allclose(ens.numpy(), ck.extra["log_prob_ensemble"], rtol=0, atol=1e-5)
    assert float(torch.logsumexp(ens, 0)) == pytest.approx(0.0, abs=1e-6)  # a distribution over all 64


def test_a_version_1_file_round_trips_like_before():
    model, tr = trained_model()
    model.set_mask(2)
    ck = load_checkpoint(legacy_checkpoint_bytes(model, history=tr.history, train_cfg=tr.cfg, extra={"a": 1}))
    assert ck.version == 1 and ck.train_cfg == tr.cfg and ck.extra == {"a": 1}
    assert_same_model(model, ck.model, binary_data(40, 16))
    again = load_checkpoint(checkpoint_bytes(ck.model, history=ck.history))  # re-saved: now version 2
    assert again.version == 2
    assert_same_model(model, again.model, binary_data(40, 16))


SHIPPED = sorted(
    p for p in (ROOT / "made_viz" / "assets" / "pretrained").iterdir() if p.suffix in (".pt", ".safetensors")
)


def test_the_shipped_models_are_found():
    assert {p.stem for p in SHIPPED} >= {"digits8", "mnist", "bars4"}, SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_pretrained_models_still_load(path):
    ck = load_checkpoint(path)
    assert ck.version == (1 if path.suffix == ".pt" else 2) and ck.history and ck.config.d in (16, 64, 784)
    assert "valid NLL" in describe(ck)


# ---------------------------------------------------------------------------------------------
# malicious and damaged files


class _Evil:
    """Unpickling this would run a shell command creating a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("make", ["pickle", "torch_zip", "inside_payload", "pickle_in_safetensors_metadata"])
def test_malicious_pickles_are_refused_and_never_run(tmp_path, make):
    marker = tmp_path / "pwned"
    evil = _Evil(marker)
    if make == "pickle":
        blob = pickle.dumps(evil)
    elif make == "torch_zip":
        blob = torch_save({"format": FORMAT, "version": LEGACY_VERSION, "x": evil})
    elif make == "inside_payload":
        model, _ = trained_model(num_masks=1)
        payload = legacy_payload(model)
        payload["extra"] = evil
        blob = torch_save(payload)
    else:  # a pickle hidden in a metadata text: it stays text (and is not a JSON dict)
        model, _ = trained_model(num_masks=1)
        payload = unpack(checkpoint_bytes(model))
        payload["extra"] = pickle.dumps(evil).decode("latin-1")
        blob = pack(payload)
    path = tmp_path / "evil.pt"
    path.write_bytes(blob)
    for src in (blob, path):
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(src)
        assert "\n" not in str(info.value)
    assert not marker.exists()


def _header_replaced(blob: bytes, header: bytes, length: int | None = None) -> bytes:
    """The file with its JSON header replaced (and its length field set to `length`, default: the truth)."""
    n = struct.unpack("<Q", blob[:8])[0]
    return struct.pack("<Q", len(header) if length is None else length) + header + blob[8 + n :]


def _json_header(blob: bytes) -> dict:
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8 : 8 + n])


def test_damaged_and_foreign_files(tmp_path):
    model, _ = trained_model(num_masks=1)
    blob = checkpoint_bytes(model)
    legacy = legacy_checkpoint_bytes(model)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("hello.txt", "not a checkpoint")
    cases = {
        "empty": b"",
        "text": b"hello world",
        "random": np.random.default_rng(0).bytes(5000),
        "random_zip": zbuf.getvalue(),
        "plain_tensor": torch_save(torch.zeros(3)),
        "foreign_dict": torch_save({"state_dict": model.state_dict()}),
        "foreign_safetensors": safetensors.torch.save(model.state_dict()),
        "foreign_safetensors_with_metadata": safetensors.torch.save(model.state_dict(), metadata={"format": "pt"}),
    }
    for fmt, good in (("safetensors", blob), ("zip", legacy)):
        flipped = bytearray(good)
        flipped[len(good) // 2] ^= 0xFF
        cases |= {
            f"{fmt}_truncated": good[: len(good) // 2],
            f"{fmt}_truncated_end": good[:-30],
            f"{fmt}_truncated_tiny": good[:7],
            f"{fmt}_bit_flip": bytes(flipped),
        }
    flipped_end = bytearray(blob)
    flipped_end[-5] ^= 0x01  # the last weights: caught by the checksum (the zip's
    cases |= {
        "safetensors_bit_flip_end": bytes(flipped_end),  # reader tolerates both of these)
        "safetensors_appended": blob + b"\x00" * 16,
    }
    for name, data in cases.items():
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(data)
        assert "\n" not in str(info.value), name
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)


def test_safetensors_headers_that_lie_are_refused_before_parsing():
    model, _ = trained_model(num_masks=1)
    blob = checkpoint_bytes(model)
    n = struct.unpack("<Q", blob[:8])[0]
    header = blob[8 : 8 + n]
    cases = {
        "length 2**63": (_header_replaced(blob, header, 2**63), "header claims"),
        "length over the limit": (_header_replaced(blob, header, C.MAX_HEADER_BYTES + 1), "header claims"),
        "length past the end": (_header_replaced(blob, header, len(blob)), "truncated"),
        "not JSON": (_header_replaced(blob, b'{"' + b"\xff" * 40), "not valid JSON"),
        "repeated key": (_header_replaced(blob, b'{"__metadata__": {"format": "a", "format": "b"}}'), "not valid JSON"),
        "deep nesting": (_header_replaced(blob, b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "JSON"),
        "metadata not texts": (_header_replaced(blob, b'{"__metadata__": {"format": 1}}'), "metadata"),
        "no metadata": (
            _header_replaced(blob, b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'),
            "format tag",
        ),
    }
    for data, match in cases.values():
        with pytest.raises(CheckpointError, match=match):
            load_checkpoint(data)


def test_unpack_refuses_a_header_that_is_not_an_object():
    with pytest.raises(CheckpointError, match="not a JSON object"):
        unpack(struct.pack("<Q", 6) + b"[1, 2]")


def test_a_malformed_tensor_entry_is_refused():
    model, _ = trained_model(num_masks=1)
    blob = checkpoint_bytes(model)
    header = _json_header(blob)
    for bad in (
        {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]},
        {"dtype": "F32", "shape": [1]},
        {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]},
        "a text",
        {"dtype": 3, "shape": [1], "data_offsets": [0, 4]},
    ):
        h = {**header, "layers.0.bias": bad}
        with pytest.raises(CheckpointError, match="malformed"):
            load_checkpoint(_header_replaced(blob, json.dumps(h).encode()))


def test_tampering_without_fixing_the_checksum_is_detected():
    model, _ = trained_model(num_masks=2)
    blob = checkpoint_bytes(model)
    header = _json_header(blob)
    header["__metadata__"]["mask_index"] = "1"  # a valid value, but not what was written
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(_header_replaced(blob, json.dumps(header).encode()))


def _tampered(fmt: str, change) -> bytes:
    """A good file of the given format whose payload (metadata fields and state_dict) `change`
    edited; version 2 files get a correct checksum, so the check under test is the one that fires."""
    model, _ = trained_model(num_masks=2)
    payload = unpack(checkpoint_bytes(model)) if fmt == "safetensors" else legacy_payload(model)
    change(payload)
    return pack(payload) if fmt == "safetensors" else torch_save(payload)


def _set_config(**changes):
    return lambda p: p.update(config=json.dumps({**json.loads(p["config"]), **changes}))


def _set_tensor(name, value):
    def change(p):
        p["state_dict"][name] = value(p["state_dict"][name])

    return change


@pytest.mark.parametrize("fmt", ["safetensors", "zip"])
@pytest.mark.parametrize(
    "change, match",
    [
        (lambda p: p.update(version=99), "version 99 is not supported"),
        (lambda p: p.update(format="something-else"), "format tag"),
        (lambda p: p.pop("history"), "missing history"),
        (lambda p: p.pop("state_dict"), "missing"),
        (_set_config(hidden=[25, 24]), "shape"),
        (_set_config(d=17, shape=None), "shape"),
        (_set_config(direct=False), "unexpected"),
        (_set_config(seed=4), "mask"),
        (lambda p: p.update(config="{not json"), "configuration"),
        (lambda p: p.update(config=json.dumps({"d": 1})), "configuration"),
        (lambda p: p["state_dict"].pop("layers.0.bias"), "missing"),
        (lambda p: p["state_dict"].update(extra_tensor=torch.zeros(2)), "unexpected"),
        (_set_tensor("layers.1.weight", lambda t: t.clone().fill_(float("nan"))), "NaN"),
        (_set_tensor("layers.0.bias", lambda t: t.clone().fill_(float("inf"))), "infinite"),
        (_set_tensor("layers.0.weight", lambda t: t[:, :-1].contiguous()), "shape"),
        (_set_tensor("layers.0.weight", lambda t: t.t().contiguous()), "shape"),
        (_set_tensor("layers.0.weight", lambda t: t.to(torch.int32)), "type"),
        (_set_tensor("layers.0.bias", lambda t: t > 0), "type"),
        (_set_tensor("layers.0.mask", lambda t: torch.ones_like(t)), "differs from the mask"),
        (_set_tensor("direct.mask", lambda t: ~t), "differs from the mask"),
        (lambda p: p.update(mask_index=7), "mask"),
        (lambda p: p.update(mask_index=-1), "mask"),
        (lambda p: p.update(train_cfg=json.dumps({"lr": -1})), "training"),
        (lambda p: p.update(history=42), "history"),
        (lambda p: p.update(history="{oops"), "history is not valid JSON"),
        (lambda p: p.update(data="[1, 2]"), "data should be a dict"),
    ],
)
def test_inconsistent_checkpoints(fmt, change, match):
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(_tampered(fmt, change))


def test_the_untampered_payload_loads_in_both_formats():
    """The catalogue above is not rejecting everything: unpack/pack and the version-1 writer give loadable files."""
    for fmt in ("safetensors", "zip"):
        assert load_checkpoint(_tampered(fmt, lambda p: None)).config.num_masks == 2


def test_a_configuration_promising_a_huge_network_is_refused_before_building_it(monkeypatch):
    """The file holds a tiny network's weights but a configuration of ~170 million weights: refused
    from the header alone (MADE is never built)."""
    huge = {
        **Config(d=4, shape=(2, 2), hidden=(8,)).to_dict(),
        "d": 4096,
        "shape": [64, 64],
        "hidden": [4096] * 8,
        "direct": True,
    }

    files = [_tampered(fmt, lambda p: p.update(config=json.dumps(huge))) for fmt in ("safetensors", "zip")]

    def no_model(cfg):
        raise AssertionError("MADE was built from an unchecked configuration")

    monkeypatch.setattr(C, "MADE", no_model)
    for blob in files:
        with pytest.raises(CheckpointError, match="do not match the configuration"):
            load_checkpoint(blob)


def test_files_over_the_size_limit_are_refused_without_reading_them_whole(monkeypatch, tmp_path):
    model, _ = trained_model(num_masks=1)
    blob = checkpoint_bytes(model)
    monkeypatch.setattr(C, "MAX_BYTES", len(blob) - 1)
    path = tmp_path / "big.safetensors"
    path.write_bytes(blob)
    reads = []

    class Recorder(io.BytesIO):
        def read(self, n=-1):
            reads.append(n)
            return super().read(n)

    for src in (blob, path, Recorder(blob)):
        with pytest.raises(CheckpointError, match="too large"):
            load_checkpoint(src)
    assert reads == [len(blob)]  # at most one byte over the limit was asked for
    monkeypatch.setattr(C, "MAX_BYTES", len(blob))
    assert load_checkpoint(path).config == model.cfg


def test_saving_refuses_a_header_over_the_reading_limit(monkeypatch):
    """What is saved must load: a history too long for the header limit is refused when saving."""
    model, _ = trained_model(num_masks=1)
    history = [{"epoch": i, "train_nll": 1.0, "valid_nll": 1.0} for i in range(200)]
    size = struct.unpack("<Q", checkpoint_bytes(model, history=history)[:8])[0]
    monkeypatch.setattr(C, "MAX_HEADER_BYTES", size - 1)
    with pytest.raises(ValueError, match="too long to save"):
        checkpoint_bytes(model, history=history)
    monkeypatch.setattr(C, "MAX_HEADER_BYTES", size)
    assert len(load_checkpoint(checkpoint_bytes(model, history=history)).history) == 200


def test_save_rejects_non_json_metadata():
    model, _ = trained_model(num_masks=1)
    with pytest.raises(ValueError, match="JSON"):
        checkpoint_bytes(model, extra={"f": object()})
