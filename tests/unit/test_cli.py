"""`made-viz` command line: train/eval/sample end to end, and one-line errors for user mistakes."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from made_viz.checkpoint import load_checkpoint
from made_viz.cli import main
from made_viz.commands import image_shape, sample_grid_image
from made_viz.config import Config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_npy(tmp_path_factory) -> Path:
    """200 8x8 binary images: a filled rectangle each, plus a little noise."""
    rng = np.random.default_rng(0)
    x = np.zeros((200, 8, 8), dtype=np.uint8)
    for img in x:
        r, c = rng.integers(0, 4, size=2)
        img[r : r + 4, c : c + 4] = 1
    x ^= (rng.random(x.shape) < 0.03).astype(np.uint8)
    path = tmp_path_factory.mktemp("data") / "tiny.npy"
    np.save(path, x)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_npy) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    code, stdout, _ = run_main(
        [
            "train",
            str(tiny_npy),
            "--hidden",
            "32,32",
            "--masks",
            "2",
            "--order",
            "random",
            "--epochs",
            "1",
            "--batch-size",
            "20",
            "--out",
            str(out),
            "--json",
            "-q",
        ]
    )
    assert code == 0
    return out, json.loads(stdout.strip().splitlines()[-1])


def run_main(argv):
    """main(argv) in this process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------------------------


def test_train_json_last_line(trained):
    out, summary = trained
    for key in (
        "test_nll",
        "test_bpd",
        "test_nll_ensemble",
        "epochs",
        "train_examples_per_s",
        "valid_nll",
        "d",
        "config",
    ):
        assert summary.get(key) is not None, key
    assert summary["d"] == 64 and summary["epochs"] == 1 and summary["config"]["num_masks"] == 2
    assert summary["test_bpd"] == pytest.approx(summary["test_nll"] / (64 * np.log(2)))
    assert 0 < summary["test_nll"] < 64 * np.log(2) * 1.5
    ck = load_checkpoint(out)
    assert ck.config.shape == (8, 8) and ck.data["source"].endswith("tiny.npy") and ck.history


def test_train_on_bars4_embedded(tmp_path):
    code, out, err = run_main(
        ["train", "bars4", "--hidden", "64", "--epochs", "2", "--lr", "1e-2", "--json", "--threads", "1"]
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["data"] == "bars4" and summary["test_nll_ensemble"] is None
    assert summary["entropy"] == pytest.approx(np.log(30)) and summary["test_nll"] > summary["entropy"] - 0.2
    assert "epoch 1" in err  # progress on stderr (one line per epoch when not a tty)


def per_mask_log_probs(model, x: np.ndarray) -> torch.Tensor:
    """(K, N) log p_k(x) of every mask, each pixel's Bernoulli written out from the raw logits
    (independent of the library's evaluation code)."""
    xt = torch.tensor(np.asarray(x), dtype=torch.float64)
    rows = []
    with torch.no_grad():
        for k in range(model.num_masks):
            model.set_mask(k)
            p = torch.sigmoid(model(xt.float()).double())
            rows.append((xt * torch.log(p) + (1 - xt) * torch.log1p(-p)).sum(1))
    model.set_mask(0)
    return torch.stack(rows)


def expected_nlls(ckpt_path: Path, data: Path) -> tuple[float, float]:
    """(mask 0, log-mean-exp ensemble of all masks) test NLLs computed by hand for the CLI's split."""
    from made_viz.data import load_dataset

    ck = load_checkpoint(ckpt_path)
    test = load_dataset(str(data), binarize="threshold", seed=ck.data.get("split_seed", 0)).test
    lp = per_mask_log_probs(ck.model, test)
    ens = torch.logsumexp(lp, 0) - math.log(lp.shape[0])
    return float(-lp[0].mean()), float(-ens.mean())


def test_train_and_eval_figures_match_a_hand_computation(trained, tiny_npy):
    out, summary = trained
    one, ens = expected_nlls(out, tiny_npy)
    assert summary["test_nll"] == pytest.approx(one, rel=1e-5)
    assert summary["test_nll_ensemble"] == pytest.approx(ens, rel=1e-5)
    assert summary["test_bpd_ensemble"] == pytest.approx(ens / (64 * math.log(2)), rel=1e-5)
    assert abs(ens - one) > 1e-4  # two masks: the ensemble is a different model
    code, stdout, err = run_main(["eval", str(out), str(tiny_npy), "--ensemble", "2", "--json"])
    assert code == 0, err
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["test_nll"] == pytest.approx(one, rel=1e-5)
    assert result["test_nll_ensemble"] == pytest.approx(ens, rel=1e-5)
    assert f"{ens:.4f}" in stdout and "ensemble of 2 masks" in stdout


def test_eval_end_to_end(trained, tiny_npy):
    out, summary = trained
    code, stdout, err = run_main(["eval", str(out), str(tiny_npy), "--ensemble", "2", "--json"])
    assert code == 0, err
    assert "bits/dim" in stdout and "ensemble of 2 masks" in stdout
    code, stdout, _ = run_main(["eval", str(out)])  # data recorded in the checkpoint
    assert code == 0 and "1 mask" in stdout


def test_sample_end_to_end(trained, tmp_path, tiny_npy):
    out, _ = trained
    png = tmp_path / "grid.png"
    code, stdout, err = run_main(["sample", str(out), "--n", "9", "--seed", "3", "--out", str(png), "--json"])
    assert code == 0, err
    result = json.loads(stdout.strip().splitlines()[-1])
    samples = sampled_images(out, 9, 3)
    from made_viz.data import load_dataset

    train = load_dataset(str(tiny_npy), binarize="threshold", seed=0).train
    brute = (samples[:, None, :] != train[None, :, :]).sum(2)  # (9, N) Hamming distances
    assert result["distances"] == brute.min(1).tolist()
    assert [brute[i, j] for i, j in enumerate(result["neighbors"])] == result["distances"]
    assert "Hamming distance" in stdout
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > im.height > 0
    code, _, err = run_main(["sample", str(out), "--n", "4", "--greedy", "--out", str(tmp_path / "g.png")])
    assert code == 0 and (tmp_path / "g.png").is_file(), err


def test_sample_without_data_when_recorded_data_is_gone(tmp_path, tiny_npy):
    moved = tmp_path / "gone.npy"
    moved.write_bytes(tiny_npy.read_bytes())
    ckpt = tmp_path / "m.pt"
    assert run_main(["train", str(moved), "--hidden", "16", "--epochs", "1", "--out", str(ckpt), "-q"])[0] == 0
    moved.unlink()
    code, stdout, err = run_main(["sample", str(ckpt), "--n", "4", "--out", str(tmp_path / "s.png")])
    assert code == 0 and "note" in err and (tmp_path / "s.png").is_file()
    code, _, err = run_main(["sample", str(ckpt), "--n", "4", "--out", str(tmp_path / "s.png"), "--data", "bars4"])
    assert code != 0 and "D = 16" in err  # wrong D for this model


def _bad_checkpoint(tmp_path: Path) -> Path:
    p = tmp_path / "bad.pt"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    return p


BAD = {
    "unknown dataset": ["train", "no_such_dataset_xyz"],
    "missing file": ["train", "/nonexistent/folder/data.npy"],
    "hidden 0,-3": ["train", "bars4", "--hidden", "0,-3"],
    "hidden text": ["train", "bars4", "--hidden", "big"],
    "lr nan": ["train", "bars4", "--lr", "nan"],
    "lr -1": ["train", "bars4", "--lr", "-1"],
    "lr text": ["train", "bars4", "--lr", "fast"],
    "epochs -1": ["train", "bars4", "--epochs", "-1"],
    "batch 0": ["train", "bars4", "--batch-size", "0"],
    "masks 0": ["train", "bars4", "--masks", "0"],
    "order not a permutation": ["train", "bars4", "--order", "0,1,2"],
    "order repeated": ["train", "bars4", "--order", ",".join(["0"] * 16)],
    "bad activation": ["train", "bars4", "--activation", "swish"],
    "patience without validation": ["train", "bars4", "--patience", "2", "--valid-fraction", "0"],
    "threads 0": ["train", "bars4", "--threads", "0"],
    "out in a missing folder": ["train", "bars4", "--out", "/nonexistent/dir/m.pt"],
    "no command": [],
    "unknown option": ["train", "bars4", "--frobnicate"],
    "eval missing ckpt": ["eval", "/nonexistent/m.pt", "bars4"],
    "eval bad ckpt": ["eval", "BADCKPT", "bars4"],
    "sample bad ckpt": ["sample", "BADCKPT"],
    "sample n 0": ["sample", "BADCKPT", "--n", "0"],
    "app port 0": ["app", "--port", "0"],
    "app port text": ["app", "--port", "eighty"],
    "app unknown option": ["app", "--public"],
}


@pytest.mark.parametrize("name", list(BAD))
def test_user_mistakes_give_one_line(name, tmp_path):
    argv = [str(_bad_checkpoint(tmp_path)) if a == "BADCKPT" else a for a in BAD[name]]
    code, out, err = run_main(argv)
    assert code in (1, 2)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("made-viz: error: "), err
    assert "Traceback" not in err + out


def test_eval_errors_for_a_real_checkpoint(trained):
    out, _ = trained
    for argv, match in (
        (["eval", str(out), "--ensemble", "5"], "between 1 and 2"),
        (["eval", str(out), "bars4"], "D = 16"),
        (["sample", str(out), "--mask", "2", "--out", "x.png"], "--mask"),
    ):
        code, _, err = run_main(argv)
        assert code == 2 and match in err and len(err.strip().splitlines()) == 1


def test_help_exits_zero():
    code, out, _ = run_main(["--help"])
    assert code == 0 and "train" in out


def sampled_images(ckpt_path: Path, n: int, seed: int) -> np.ndarray:
    """The samples `made-viz sample --n n --seed seed` draws, from the library directly."""
    from made_viz import sample

    ck = load_checkpoint(ckpt_path)
    return sample(ck.model, n=n, seed=seed, method="fast").x.cpu().numpy().round().astype(np.uint8)


def test_image_shape_and_grid():
    assert image_shape(Config(d=64, shape=(4, 16))) == (4, 16)
    assert image_shape(Config(d=49)) == (7, 7)
    assert image_shape(Config(d=12), {"shape": [3, 4]}) == (3, 4)
    assert image_shape(Config(d=12)) == (1, 12)
    x = np.eye(4, 16, dtype=np.uint8)
    im = sample_grid_image(x, (4, 4), neighbors=1 - x)
    arr = np.asarray(im)
    assert set(np.unique(arr)) <= {0, 128, 255} and im.mode == "L"
    # the grid's layout: pad 4, cells of a sample and its neighbour (scale 16, 2 px apart); ink is white
    scale, pad, inner, cols = 16, 4, 2, 2
    cell_w = 2 * 4 * scale + inner
    for i in range(4):
        r, c = divmod(i, cols)
        y, xo = pad + r * (4 * scale + pad), pad + c * (cell_w + pad)
        left = arr[y : y + 4 * scale : scale, xo : xo + 4 * scale : scale]
        right = arr[y : y + 4 * scale : scale, xo + 4 * scale + inner : xo + cell_w : scale]
        assert (left == x[i].reshape(4, 4) * 255).all() and (right == (1 - x[i]).reshape(4, 4) * 255).all()
    assert (arr[:pad] == 128).all() and (arr[:, :pad] == 128).all()


def test_threads_follow_the_models_size():
    from made_viz.commands import THREADS_ALL_CORES_ABOVE, threads_for

    assert threads_for(33_000, cores=8) == 1  # 8x8 digits, hidden 128,128
    assert threads_for(THREADS_ALL_CORES_ABOVE, cores=8) == 1
    assert threads_for(THREADS_ALL_CORES_ABOVE + 1, cores=8) == 8
    assert threads_for(2 * 784 * 8000, cores=2) == 2  # the paper's 8000-unit MNIST layers
    assert threads_for(5_000_000, cores=None) == (os.cpu_count() or 1)
    code, out, _ = run_main(["train", "--help"])
    assert code == 0 and "model's size" in " ".join(out.split())


def test_threads_flag_wins_over_the_choice(monkeypatch):
    seen = []
    monkeypatch.setattr(torch, "set_num_threads", seen.append)
    code, _, err = run_main(["train", "bars4", "--hidden", "16", "--epochs", "1", "-q"])
    assert code == 0, err
    assert seen[-1] == 1  # 16 -> 16 -> 16 weights: one thread
    code, _, err = run_main(["train", "bars4", "--hidden", "16", "--epochs", "1", "-q", "--threads", "2"])
    assert code == 0, err
    assert seen[-1] == 2


def test_python_dash_m_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    bad = subprocess.run(
        [sys.executable, "-m", "made_viz.cli", "train", "bars4", "--masks", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()] and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("made-viz: error: number of masks")


@pytest.fixture
def served(monkeypatch):
    """What `made-viz app` asks the launcher for (no server starts)."""
    from made_viz import launch

    calls = []
    monkeypatch.setattr(launch, "serve", lambda port, class_mode: calls.append((port, class_mode)))
    return calls


def test_app_parses_its_port_and_class_mode(served):
    assert run_main(["app"])[0] == 0
    assert run_main(["app", "--port", "8600"])[0] == 0
    assert run_main(["app", "--class", "--port", "9000"])[0] == 0
    assert served == [(8501, False), (8600, False), (9000, True)]


def test_python_dash_m_made_viz_is_the_app_command(served, monkeypatch):
    import runpy

    monkeypatch.setattr(sys, "argv", ["made_viz", "--class", "--port", "8702"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("made_viz", run_name="__main__")
    assert done.value.code == 0 and served == [(8702, True)]


def test_python_dash_m_made_viz_help_shows_the_apps_options(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", "made_viz", "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m made_viz [-h] [--port P] [--class]")
    bad = subprocess.run(
        [sys.executable, "-m", "made_viz", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr == "made-viz: error: --port must be between 1 and 65535, got 0.\n"


def test_top_help_lists_every_command():
    code, out, _ = run_main(["--help"])
    assert code == 0
    for command in ("train", "eval", "sample", "bench", "app"):
        assert f"    {command} " in out
