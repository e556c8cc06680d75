"""Safe files and reproducible results on a server that a whole class shares.

* A checkpoint crafted to run code when unpickled runs nothing (a marker file it would create
  stays absent) and is refused with a CheckpointError — through the library and the CLI.
* Uploads are size-limited (the server's maxUploadSize, and the loaders' own byte limits, also
  after decompression).
* The operator's data folder (MADE_VIZ_DATA_DIR) is the only place the server reads from: `..`,
  absolute paths, hidden files and symlinks out of it are refused.
* The same seed gives the same masks, training curve and samples — also while other sessions
  (other threads of the same server process) build models at the same time.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import random
import re
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from made_viz import data as D
from made_viz.checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint
from made_viz.config import Config
from made_viz.data import DataError
from made_viz.masks import build_masks
from made_viz.model import MADE
from made_viz.sampling import sample
from made_viz.train import TrainConfig, Trainer

from .legacy_checkpoint import legacy_payload

ROOT = Path(__file__).resolve().parents[2]
SMALL = Config(d=16, shape=(4, 4), hidden=(32,), num_masks=2, order="random", seed=5)


# ---------------------------------------------------------------------------------------------
# malicious checkpoints


class MakesMarker:
    """Unpickling this object calls os.makedirs(marker): proof that code from the file ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _torch_save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _torch_zip_with_pickle(pickle_bytes: bytes) -> bytes:
    """A torch zip archive whose data.pkl is replaced by arbitrary pickle bytes."""
    good = _torch_save({"x": torch.zeros(2)})
    src, out = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info, pickle_bytes if info.filename.endswith("/data.pkl") else src.read(info))
    return out.getvalue()


def _payloads(marker: Path) -> dict[str, bytes]:
    """Pickle-based attacks: they target the version-1 checkpoint format (a torch zip), which the
    loader still reads; checkpoints are written as safetensors now, which hold no pickle at all."""
    evil = MakesMarker(marker)
    good = legacy_payload(MADE(SMALL))
    return {
        "torch.save of the object": _torch_save(evil),
        "inside a checkpoint-shaped dict": _torch_save({**good, "extra": evil}),
        "in place of a weight": _torch_save({**good, "state_dict": {**good["state_dict"], "layers.0.weight": evil}}),
        "bare pickle named .pt": pickle.dumps(evil),
        "pickle protocol 0": pickle.dumps(evil, protocol=0),
        "data.pkl swapped in a torch zip": _torch_zip_with_pickle(
            pickle.dumps({"format": "made-viz-checkpoint", "x": evil})
        ),
    }


def test_the_payloads_do_run_code_when_unpickled_naively(tmp_path):
    """Control: the crafted files really are dangerous (else the test below proves nothing)."""
    for i, name in enumerate(_payloads(tmp_path / "unused")):
        marker = tmp_path / f"ran-{i}"
        blob = _payloads(marker)[name]
        if blob.startswith(b"PK"):
            torch.load(io.BytesIO(blob), weights_only=False)
        else:
            pickle.loads(blob)
        assert marker.exists(), name


@pytest.mark.parametrize("case", list(_payloads(Path("x"))))
def test_malicious_checkpoint_runs_nothing(case, tmp_path):
    marker = tmp_path / "code-ran"
    blob = _payloads(marker)[case]
    path = tmp_path / "model.pt"
    path.write_bytes(blob)
    for source in (blob, path, io.BytesIO(blob)):
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(source)
        assert not marker.exists(), f"{case}: loading ran code from the file"
    msg = str(info.value)
    assert "refused" in msg or "not a torch zip archive" in msg or "not a MADE Explorer checkpoint" in msg, msg


def test_malicious_checkpoint_through_the_command_line_runs_nothing(tmp_path, capsys):
    from made_viz.cli import main

    marker = tmp_path / "code-ran"
    path = tmp_path / "model.pt"
    path.write_bytes(_payloads(marker)["inside a checkpoint-shaped dict"])
    assert main(["sample", str(path), "--out", str(tmp_path / "s.png")]) == 2
    assert main(["eval", str(path), "bars4"]) == 2
    assert not marker.exists()
    assert "refused" in capsys.readouterr().err


def test_a_real_checkpoint_still_loads():
    model = MADE(SMALL)
    ck = load_checkpoint(checkpoint_bytes(model, history=[{"epoch": 1}]))
    assert ck.config == SMALL
    assert all(torch.equal(a, b) for a, b in zip(ck.model.state_dict().values(), model.state_dict().values()))


# ---------------------------------------------------------------------------------------------
# upload limits


def test_server_upload_limit_is_set_and_below_the_loader_limit():
    text = (ROOT / ".streamlit" / "config.toml").read_text()
    server = text.split("[server]", 1)[1].split("\n[", 1)[0]  # the [server] table
    m = re.search(r"^\s*maxUploadSize\s*=\s*(\d+)", server, re.MULTILINE)
    assert m, "set [server] maxUploadSize in .streamlit/config.toml (Streamlit's default is 200 MB)"
    mb = int(m.group(1))
    assert 1 <= mb <= 200, "a classroom server needs a modest upload limit (MB)"
    assert mb * 2**20 <= D.MAX_BYTES, "the loaders must accept whatever the server lets through"


@pytest.fixture
def small_limit(monkeypatch):
    """Shrink the loaders' byte limit so the check can be exercised without 512 MB of data."""
    monkeypatch.setattr(D, "MAX_BYTES", 64 * 1024)
    return D.MAX_BYTES


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_loader_refuses_files_over_the_limit(small_limit, tmp_path):
    blob = _npy(np.zeros((small_limit // 16 + 10, 16), np.uint8))
    with pytest.raises(DataError, match="larger than"):
        D.load_bytes(blob, "big.npy")
    path = tmp_path / "big.npy"
    path.write_bytes(blob)
    with pytest.raises(DataError, match="larger than"):
        D.load_dataset(str(path))


def test_gzip_is_limited_after_decompression(small_limit):
    blob = gzip.compress(_npy(np.zeros((small_limit // 16 + 10, 16), np.uint8)))
    assert len(blob) < small_limit
    with pytest.raises(DataError, match="decompresses to more than"):
        D.load_bytes(blob, "bomb.npy.gz")


def test_npz_is_limited_after_decompression(small_limit):
    buf = io.BytesIO()
    np.savez_compressed(buf, train=np.zeros((small_limit // 16 + 10, 16), np.uint8))
    assert len(buf.getvalue()) < small_limit
    with pytest.raises(DataError, match="bomb.npz"):
        D.load_bytes(buf.getvalue(), "bomb.npz")


def test_files_under_the_limit_still_load(small_limit):
    ds = D.load_bytes(_npy(np.eye(16, dtype=np.uint8)), "ok.npy")
    assert ds.d == 16


# ---------------------------------------------------------------------------------------------
# reproducibility


def test_same_seed_same_masks():
    for k in range(SMALL.num_masks):
        a, b = build_masks(SMALL, k), build_masks(SMALL, k)
        assert all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks))
        assert all(np.array_equal(x, y) for x, y in zip(a.degrees, b.degrees))
    other = build_masks(SMALL.replace(seed=6), 0)
    assert not all(np.array_equal(x, y) for x, y in zip(build_masks(SMALL, 0).masks, other.masks))


def _curve_and_samples(seed: int = 0):
    x = D.load_dataset("bars4").train[:400]
    model = MADE(SMALL)
    trainer = Trainer(model, x, TrainConfig(epochs=2, batch_size=50, seed=seed))
    while not trainer.done:
        trainer.step_chunk(max_steps=3)
    curve = [(h["train_nll"], h["valid_nll"]) for h in trainer.history]
    steps = [r["loss"] for r in trainer.step_history]
    traj = sample(model, n=6, seed=11)
    return curve, steps, traj.x.clone(), traj.probs.clone()


def test_same_seed_same_training_curve_and_samples():
    a, b = _curve_and_samples(), _curve_and_samples()
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    c = _curve_and_samples(seed=1)
    assert c[1] != a[1], "a different training seed must change the curve"


def test_results_do_not_depend_on_the_global_random_state():
    """Another session calling torch.manual_seed / drawing numbers must not change ours."""
    a = _curve_and_samples()
    torch.manual_seed(12345)
    torch.rand(1000)
    np.random.seed(7)
    b = _curve_and_samples()
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


def test_models_built_concurrently_get_their_seeds_weights():
    """Streamlit runs each session in its own thread: eight students pressing 'Train' together
    must each get exactly the initial weights their seed gives when alone."""
    cfgs = [Config(d=64, shape=(8, 8), hidden=(256, 256), seed=s) for s in range(8)]
    alone = {c.seed: _initial_weights(c) for c in cfgs}
    wrong: list[int] = []
    start = threading.Barrier(len(cfgs))

    def build(c):
        start.wait()
        for _ in range(15):
            if not _same_weights(_initial_weights(c), alone[c.seed]):
                wrong.append(c.seed)
                return

    threads = [threading.Thread(target=build, args=(c,)) for c in cfgs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong, f"seeds {sorted(wrong)} got other initial weights while other sessions built models"


def _initial_weights(cfg: Config) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in MADE(cfg).state_dict().items()}


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _global_random_states() -> tuple:
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def test_initial_weights_neither_draw_from_nor_change_the_global_random_state():
    """The weights come from a private generator seeded with cfg.seed alone. A build that draws
    from torch's global generator gives other weights after another session's torch.manual_seed;
    a build that seeds the global generator with cfg.seed gives the same weights but changes
    everybody else's random stream. Both are caught here (the threaded test above may miss them:
    threads rarely interleave inside a small build)."""
    cfg = Config(d=16, shape=(4, 4), hidden=(32, 32), num_masks=2, direct=True, seed=5)
    torch.manual_seed(1)
    first = _initial_weights(cfg)
    torch.manual_seed(2)
    torch.rand(7)
    assert _same_weights(first, _initial_weights(cfg)), "the global random state changed the initial weights"
    for global_seed in (0, cfg.seed, 12345):
        torch.manual_seed(global_seed)
        np.random.seed(global_seed)
        random.seed(global_seed)
        t, n, p = _global_random_states()
        MADE(cfg)
        t2, n2, p2 = _global_random_states()
        assert torch.equal(t, t2), "building a model drew from or reseeded torch's global generator"
        assert all(np.array_equal(a, b) for a, b in zip(n, n2)) and p == p2, "building a model used a global RNG"
    assert not _same_weights(first, _initial_weights(cfg.replace(seed=6))), "the seed must change the weights"
