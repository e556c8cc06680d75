"""The `made-viz` command line: train, evaluate and sample MADE models without the app.

    made-viz train digits8 --hidden 500 --masks 8 --epochs 20 --out digits.pt --json
    made-viz eval digits.pt digits8 --ensemble 8
    made-viz sample digits.pt --n 16 --out grid.png
    made-viz bench                      # bench/bench_train.py and bench/bench_sample.py (source checkout)

Every user mistake (unknown data set, unreadable file, impossible architecture, bad number,
damaged checkpoint) ends with one line `made-viz: error: <message>` on stderr and exit status 2;
a diverged training run ends the same way with status 1. With --json the last line of stdout is
one JSON object. Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import runpy
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import ACTIVATIONS, DEGREE_MODES, ORDERS, Config, ConfigError, parse_int_list, parse_layers

PROG = "made-viz"
EXIT_USAGE = 2     # the user's input cannot work
EXIT_FAILURE = 1   # a run that failed (divergence) or an internal error
MAX_SAMPLES = 1024


class UsageError(Exception):
    """A command-line syntax error (raised instead of argparse's usage-and-exit)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(message)


# ---------------------------------------------------------------------------------------------
# parser

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Train, evaluate and sample MADE models (Germain et al. 2015).")
    p.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a MADE on a data set", description="Train a MADE by maximum likelihood.")
    t.add_argument("data", metavar="DATA", help="embedded data set (digits8, mnist, bars4, shapes8) or a file/folder")
    t.add_argument("--hidden", default="500", help="hidden layer sizes, e.g. 500 or 500,500 (default 500)")
    t.add_argument("--order", default="natural", help=f"{'|'.join(ORDERS)} or an explicit permutation 3,0,1,...")
    t.add_argument("--degrees", default="random", choices=DEGREE_MODES, help="hidden degrees (default random, as in the paper)")
    t.add_argument("--masks", type=int, default=1, metavar="K", help="number of masks for order/connectivity-agnostic training")
    t.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    t.add_argument("--direct", action="store_true", help="direct input-to-output connections")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=100)
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--seed", type=int, default=0, help="seed of the masks, the initial weights and the shuffling")
    t.add_argument("--patience", type=int, default=None, help="early stopping after this many epochs without improvement")
    t.add_argument("--valid-fraction", type=float, default=0.1, help="share of the training data held out for validation")
    t.add_argument("--resample-every", type=int, default=1, help="minibatches between mask switches (K > 1)")
    t.add_argument("--binarize", default="threshold", choices=("threshold", "sample"), help="for grey-level files")
    t.add_argument("--out", default=None, metavar="CKPT", help="write the trained model to this checkpoint file")
    _common(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="test NLL of a checkpoint", description="Test NLL with mask 0 and with an ensemble of K masks.")
    e.add_argument("checkpoint", metavar="CKPT")
    e.add_argument("data", metavar="DATA", nargs="?", help="data set (default: the one the checkpoint was trained on)")
    e.add_argument("--ensemble", type=int, default=None, metavar="K", help="number of masks to average (default: all)")
    e.add_argument("--binarize", default=None, choices=("threshold", "sample"))
    _common(e)
    e.set_defaults(func=cmd_eval)

    s = sub.add_parser("sample", help="draw samples into a PNG grid", description=(
        "Draw samples; each is shown beside its nearest training image (Hamming distance)."))
    s.add_argument("checkpoint", metavar="CKPT")
    s.add_argument("--n", type=int, default=16, help="number of samples (default 16)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="samples.png", help="PNG file to write (default samples.png)")
    s.add_argument("--data", default=None, help="training data for nearest neighbours (default: the checkpoint's)")
    s.add_argument("--greedy", action="store_true", help="take the more likely value of each pixel")
    s.add_argument("--mask", type=int, default=None, help="which of the K masks (orderings) to sample with")
    s.add_argument("--method", default="fast", choices=("fast", "reference"))
    s.add_argument("--binarize", default=None, choices=("threshold", "sample"))
    _common(s)
    s.set_defaults(func=cmd_sample)

    b = sub.add_parser("bench", help="run the speed benchmarks of a source checkout", description=(
        "Runs bench/bench_train.py and bench/bench_sample.py (each prints one JSON object)."))
    b.add_argument("--only", choices=("train", "sample"), default=None)
    b.add_argument("--quick", action="store_true", help="fewer repeats")
    b.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    b.set_defaults(func=cmd_bench)
    return p


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def _version() -> str:
    from . import __version__
    return __version__


# ---------------------------------------------------------------------------------------------
# entry point

def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises for a user mistake)."""
    from .checkpoint import CheckpointError
    from .data import DataError
    from .train import TrainingDiverged

    parser = build_parser()
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
        args.argv = argv
        if getattr(args, "func", None) is None:
            raise UsageError(f"choose a command: train, eval, sample or bench (see {PROG} --help).")
        if getattr(args, "threads", None) is not None:
            from .train import limit_threads
            limit_threads(args.threads)
        return int(args.func(args) or 0)
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    except TrainingDiverged as e:
        return _error(str(e), EXIT_FAILURE)
    except (UsageError, ConfigError, DataError, CheckpointError, ValueError) as e:
        return _error(str(e), EXIT_USAGE)
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        return _error(f"{where}{e.strerror or e}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _error("interrupted.", 130)
    except Exception as e:  # noqa: BLE001 - a bug; still one line (MADE_VIZ_DEBUG=1 shows the traceback)
        if os.environ.get("MADE_VIZ_DEBUG"):
            raise
        return _error(f"internal error ({type(e).__name__}: {e}); set MADE_VIZ_DEBUG=1 for details.", EXIT_FAILURE)


def _error(message: str, code: int) -> int:
    text = " ".join(str(message).split()) or "unknown error"
    sys.stderr.write(f"{PROG}: error: {text}\n")
    sys.stderr.flush()
    return code


def _emit(args: argparse.Namespace, lines: list[str], summary: dict) -> None:
    """Human lines, then (with --json) one JSON object as the last line of stdout."""
    for line in lines:
        print(line)
    if args.json:
        print(json.dumps(_finite(summary), sort_keys=True))
    sys.stdout.flush()


def _finite(v: Any) -> Any:
    """NaN/inf -> None so the JSON line is strict JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------------
# train

def parse_order(text: str) -> str | tuple[int, ...]:
    """'natural' | 'reverse' | 'random' | '3,0,1,2' (validated as a permutation by Config)."""
    text = str(text).strip()
    return text if text in ORDERS else parse_int_list(text, "order")


def load_data(source: str, binarize: str = "threshold", seed: int = 0):
    """`data.load_dataset`, with a folder/file name in the error."""
    from .data import load_dataset
    return load_dataset(source, binarize=binarize, seed=seed)


def data_record(source: str, ds, binarize: str, seed: int) -> dict:
    """What a checkpoint remembers about its data: enough to reload it (`source`)."""
    from .data import is_embedded_name
    rec = ds.to_dict()
    rec["source"] = source if is_embedded_name(source) else str(Path(source).resolve())
    rec["binarize"] = binarize
    rec["split_seed"] = seed
    return rec


def cmd_train(args: argparse.Namespace) -> int:
    from .checkpoint import save_checkpoint
    from .model import MADE
    from .train import Trainer, TrainConfig, bits_per_dim, evaluate_nll, independent_bernoulli_nll

    cfg_kw = dict(hidden=parse_layers(args.hidden), order=parse_order(args.order), degrees=args.degrees,
                  num_masks=args.masks, activation=args.activation, direct=args.direct, seed=args.seed)
    train_cfg = TrainConfig(lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                            valid_fraction=args.valid_fraction, patience=args.patience,
                            resample_every=args.resample_every, seed=args.seed, weight_decay=args.weight_decay)
    if args.out is not None:
        _check_writable(args.out)
    ds = load_data(args.data, args.binarize, args.seed)
    cfg = Config(d=ds.d, shape=ds.shape, **cfg_kw)
    model = MADE(cfg)
    trainer = Trainer(model, ds.train, train_cfg)
    if not args.quiet:
        print(f"{PROG}: training on {ds.name}: {trainer.n_train} examples (validation {_n(trainer.valid_x)}), "
              f"D = {ds.d}, hidden {args.hidden}, K = {cfg.num_masks}, {trainer.total_steps} steps", file=sys.stderr)
    progress = _Progress(trainer, enabled=not args.quiet)
    t0 = time.perf_counter()
    try:
        trainer.run(callback=progress.update, seconds_per_callback=0.25)
    finally:
        progress.close()
    train_seconds = time.perf_counter() - t0

    d = ds.d
    test_nll = evaluate_nll(model, ds.test)
    test_ens = evaluate_nll(model, ds.test, ensemble=cfg.num_masks) if cfg.num_masks > 1 else None
    valid_nll = trainer.evaluate(trainer.valid_x) if trainer.valid_x is not None else None
    hist = trainer.history
    examples = sum(h["examples"] for h in hist)
    train_time = sum(h["examples"] / h["examples_per_s"] for h in hist if h["examples_per_s"] > 0)
    summary = {
        "command": "train", "data": ds.name, "d": d, "n_train": trainer.n_train, "n_test": ds.n_test,
        "config": cfg.to_dict(), "train_config": train_cfg.to_dict(),
        "epochs": trainer.epoch, "steps": trainer.step, "stopped_reason": trainer.stopped_reason,
        "train_nll": hist[-1]["train_nll"] if hist else None,
        "valid_nll": valid_nll, "best_epoch": trainer.best_epoch,
        "test_nll": test_nll, "test_bpd": bits_per_dim(test_nll, d),
        "test_nll_ensemble": test_ens, "test_bpd_ensemble": bits_per_dim(test_ens, d),
        "bernoulli_test_nll": independent_bernoulli_nll(ds.train, ds.test),
        "entropy": ds.entropy,
        "train_examples_per_s": examples / train_time if train_time > 0 else None,
        "seconds": train_seconds, "out": None,
    }
    if args.out is not None:
        save_checkpoint(args.out, model, history=hist, data=data_record(args.data, ds, args.binarize, args.seed),
                        train_cfg=train_cfg, extra={"test_nll": test_nll, "test_nll_ensemble": test_ens,
                                                    "command": "made-viz train " + _argv_text(args)})
        summary["out"] = str(args.out)
    lines = [f"stopped: {trainer.stopped_reason} after {trainer.epoch} epoch(s), {trainer.step} steps, "
             f"{train_seconds:.1f} s ({summary['train_examples_per_s'] or 0:.0f} examples/s)",
             f"valid NLL {_fmt(valid_nll)} nats" + (f" (best epoch {trainer.best_epoch})" if trainer.best_epoch else ""),
             f"test NLL {test_nll:.4f} nats = {bits_per_dim(test_nll, d):.4f} bits/dim (mask 0)"]
    if test_ens is not None:
        lines.append(f"test NLL {test_ens:.4f} nats = {bits_per_dim(test_ens, d):.4f} bits/dim "
                     f"(ensemble of {cfg.num_masks} masks)")
    lines.append(f"independent-Bernoulli baseline {summary['bernoulli_test_nll']:.4f} nats"
                 + (f"; true entropy {ds.entropy:.4f} nats" if ds.entropy is not None else ""))
    if args.out is not None:
        lines.append(f"wrote {args.out}")
    _emit(args, lines, summary)
    return 0


def _n(x) -> int:
    return 0 if x is None else int(x.shape[0])


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def _argv_text(args: argparse.Namespace) -> str:
    return " ".join(shlex.quote(str(a)) for a in getattr(args, "argv", [])[1:])


def _check_writable(path: str) -> None:
    """Fail before training, not after, when the checkpoint cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"--out {path} is a folder; give a file name such as model.pt.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"--out {path}: folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"--out {path}: folder {parent} is not writable.")


class _Progress:
    """A text progress bar on stderr (carriage returns on a terminal, one line per epoch otherwise)."""

    active = False

    def __init__(self, trainer, enabled: bool = True, width: int = 30):
        self.trainer, self.enabled, self.width = trainer, enabled, width
        self.tty = enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def update(self, trainer, records: list[dict]) -> None:
        if not self.enabled:
            return
        if self.tty:
            frac = trainer.progress
            done = int(self.width * frac)
            loss = next((r["loss"] for r in reversed(records) if r["kind"] == "step"), float("nan"))
            valid = trainer.history[-1]["valid_nll"] if trainer.history else None
            sys.stderr.write(f"\r[{'#' * done}{'.' * (self.width - done)}] {100 * frac:3.0f}% "
                             f"epoch {min(trainer.epoch + 1, trainer.cfg.epochs)}/{trainer.cfg.epochs} "
                             f"loss {loss:8.3f} valid {_fmt(valid)} {time.perf_counter() - self.t0:6.1f}s ")
            _Progress.active = True
        else:
            for r in records:
                if r["kind"] == "epoch":
                    sys.stderr.write(f"epoch {r['epoch']}: train NLL {r['train_nll']:.4f}, valid NLL "
                                     f"{_fmt(r['valid_nll'])} nats, {r['examples_per_s']:.0f} examples/s\n")
        sys.stderr.flush()

    def close(self) -> None:
        if _Progress.active:
            sys.stderr.write("\n")
            sys.stderr.flush()
            _Progress.active = False


# ---------------------------------------------------------------------------------------------
# eval

def _checkpoint_data(ck, data_arg: str | None, binarize: str | None, required: bool):
    """The data set named on the command line, else the one recorded in the checkpoint.
    Returns None (with a note) when the recorded one is gone and `required` is False."""
    rec = ck.data or {}
    source = data_arg if data_arg is not None else rec.get("source") or rec.get("name")
    if source is None:
        if required:
            raise ValueError("the checkpoint does not record its data set; name one (e.g. digits8).")
        return None
    method = binarize or rec.get("binarize") or "threshold"
    seed = rec.get("split_seed", 0) if isinstance(rec.get("split_seed", 0), int) else 0
    try:
        ds = load_data(source, method, seed)
    except ValueError as e:
        if data_arg is not None or required:
            raise
        print(f"{PROG}: note: the checkpoint's data set is not available ({e}); no nearest neighbours.", file=sys.stderr)
        return None
    if ds.d != ck.config.d:
        raise ValueError(f"data set {ds.name} has D = {ds.d} pixels but the checkpoint's model has D = {ck.config.d}.")
    return ds


def cmd_eval(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .train import bits_per_dim, evaluate_nll

    ck = load_checkpoint(args.checkpoint)
    k_all = ck.config.num_masks
    k = k_all if args.ensemble is None else args.ensemble
    if not 1 <= k <= k_all:
        raise ValueError(f"--ensemble must be between 1 and {k_all} (the checkpoint has {k_all} mask(s)), got {k}.")
    ds = _checkpoint_data(ck, args.data, args.binarize, required=True)
    d = ds.d
    nll1 = evaluate_nll(ck.model, ds.test)
    nllk = evaluate_nll(ck.model, ds.test, ensemble=k) if k > 1 else nll1
    lines = [f"{ds.name}: {ds.n_test} test examples, D = {d}",
             f"test NLL {nll1:.4f} nats = {bits_per_dim(nll1, d):.4f} bits/dim (1 mask)"]
    if k > 1:
        lines.append(f"test NLL {nllk:.4f} nats = {bits_per_dim(nllk, d):.4f} bits/dim (ensemble of {k} masks)")
    summary = {"command": "eval", "data": ds.name, "d": d, "n_test": ds.n_test, "ensemble": k,
               "test_nll": nll1, "test_bpd": bits_per_dim(nll1, d),
               "test_nll_ensemble": nllk, "test_bpd_ensemble": bits_per_dim(nllk, d),
               "config": ck.config.to_dict()}
    _emit(args, lines, summary)
    return 0


# ---------------------------------------------------------------------------------------------
# sample

def image_shape(cfg: Config, data: dict | None = None) -> tuple[int, int]:
    """(h, w) to draw D pixels: the config's shape, the data's, a square, else one row."""
    if cfg.shape is not None:
        return tuple(cfg.shape)
    shape = (data or {}).get("shape")
    if isinstance(shape, (list, tuple)) and len(shape) == 2 and all(isinstance(v, int) for v in shape) \
            and shape[0] * shape[1] == cfg.d:
        return int(shape[0]), int(shape[1])
    side = math.isqrt(cfg.d)
    return (side, side) if side * side == cfg.d else (1, cfg.d)


def sample_grid_image(samples: np.ndarray, shape: tuple[int, int], neighbors: np.ndarray | None = None,
                      cols: int | None = None):
    """A PIL image: the samples in a grid, each followed by its nearest training image (if given).
    Ink (1) is white on black; cells are separated by grey."""
    from PIL import Image

    h, w = shape
    n = len(samples)
    scale = max(1, min(16, 96 // max(h, w)))
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    per = 2 if neighbors is not None else 1
    pad, inner = 4, 2
    cell_w = per * w * scale + (per - 1) * inner
    cell_h = h * scale
    canvas = np.full((rows * (cell_h + pad) + pad, cols * (cell_w + pad) + pad), 128, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * (cell_h + pad), pad + c * (cell_w + pad)
        pics = [samples[i]] if neighbors is None else [samples[i], neighbors[i]]
        for j, pic in enumerate(pics):
            img = np.kron(np.asarray(pic, dtype=np.uint8).reshape(h, w) * 255, np.ones((scale, scale), np.uint8))
            xo = x + j * (w * scale + inner)
            canvas[y:y + cell_h, xo:xo + w * scale] = img
    return Image.fromarray(canvas, mode="L")


def cmd_sample(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .sample import sample

    if not 1 <= args.n <= MAX_SAMPLES:
        raise ValueError(f"--n must be between 1 and {MAX_SAMPLES}, got {args.n}.")
    if args.seed < 0:
        raise ValueError(f"--seed must be 0 or positive, got {args.seed}.")
    if not str(args.out).lower().endswith(".png"):
        raise ValueError(f"--out {args.out}: the grid is written as PNG; use a name ending in .png.")
    _check_writable(args.out)
    ck = load_checkpoint(args.checkpoint)
    cfg = ck.config
    if args.mask is not None and not 0 <= args.mask < cfg.num_masks:
        raise ValueError(f"--mask must be between 0 and {cfg.num_masks - 1} (the checkpoint has {cfg.num_masks} mask(s)).")
    ds = _checkpoint_data(ck, args.data, args.binarize, required=False)
    traj = sample(ck.model, n=args.n, seed=args.seed, method=args.method, greedy=args.greedy, mask=args.mask)
    x = traj.x.cpu().numpy().round().astype(np.uint8)
    shape = image_shape(cfg, ck.data)
    idx = dist = None
    lines = []
    if ds is not None:
        from .data import nearest_neighbors
        idx, dist = nearest_neighbors(x, ds.train, k=1)
        for i in range(len(x)):
            lines.append(f"sample {i}: nearest training image #{int(idx[i])} of {ds.name}, "
                         f"Hamming distance {int(dist[i])} of {cfg.d} pixels")
        lines.append(f"mean Hamming distance {float(np.mean(dist)):.2f}; exact copies of training images: "
                     f"{int(np.sum(dist == 0))} of {len(x)}")
    image = sample_grid_image(x, shape, None if ds is None else ds.train[idx])
    image.save(args.out, format="PNG")
    layout = "each beside its nearest training image" if ds is not None else "no nearest neighbours"
    lines.append(f"wrote {args.out} ({len(x)} samples of {shape[0]}x{shape[1]} with mask {traj.mask_index}, {layout})")
    summary = {"command": "sample", "out": str(args.out), "n": len(x), "seed": args.seed, "mask": traj.mask_index,
               "greedy": args.greedy, "shape": list(shape), "log_prob": traj.log_prob().tolist(),
               "neighbors": None if idx is None else [int(v) for v in idx],
               "distances": None if dist is None else [int(v) for v in dist]}
    _emit(args, lines, summary)
    return 0


# ---------------------------------------------------------------------------------------------
# bench

def bench_dir() -> Path | None:
    """The source checkout's bench/ folder (absent from an installed wheel)."""
    folder = Path(__file__).resolve().parent.parent / "bench"
    return folder if (folder / "bench_train.py").is_file() else None


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark scripts' main() in this process (runpy), one JSON object each."""
    folder = bench_dir()
    if folder is None:
        raise ValueError("the benchmarks live in the bench/ folder of a source checkout of MADE Explorer; "
                         "run this command from such a checkout (pip install -e .).")
    extra = (["--quick"] if args.quick else []) + ([f"--threads={args.threads}"] if args.threads else [])
    status = 0
    for name in ("train", "sample"):
        if args.only not in (None, name):
            continue
        script = folder / f"bench_{name}.py"
        module = runpy.run_path(str(script), run_name="made_viz_bench")
        status = max(status, int(module["main"](extra) or 0))
    return status


if __name__ == "__main__":
    sys.exit(main())
