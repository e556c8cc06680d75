"""What each `made-viz` command does (the parser and the entry point are in `cli.py`).

Each `cmd_*` takes the parsed arguments, prints human lines (and with --json one JSON object as the
last line of stdout) and returns the exit status; a user mistake raises ValueError (or one of the
library's errors), which `cli.main` turns into one line on stderr.
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

import numpy as np

from .config import ORDERS, Config, parse_int_list, parse_layers

PROG = "made-viz"
MAX_SAMPLES = 1024
THREADS_ALL_CORES_ABOVE = 1_000_000  # weights: above this, torch's threads pay for themselves


# ---------------------------------------------------------------------------------------------
# output and threads


def emit(args: argparse.Namespace, lines: list[str], summary: dict) -> None:
    """Human lines, then (with --json) one JSON object as the last line of stdout."""
    for line in lines:
        print(line)
    if args.json:
        print(json.dumps(json_safe(summary), sort_keys=True))
    sys.stdout.flush()


def json_safe(v):
    """NaN/inf -> None, recursively, so the JSON line is strict JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    return v


def threads_for(n_weights: int, cores: int | None = None) -> int:
    """Torch CPU threads for a model of `n_weights` weights: 1 for a small one, every core above
    THREADS_ALL_CORES_ABOVE. A small MADE's matrix products are too short to split: the threads
    only wait for each other (on a busy 2-core machine, 128-128 hidden units on 8x8 digits trained
    in 86 s with torch's default threads and in 9.6 s with one)."""
    cores = max(1, int(cores if cores is not None else (os.cpu_count() or 1)))
    return cores if n_weights > THREADS_ALL_CORES_ABOVE else 1


def use_threads(args: argparse.Namespace, model) -> int:
    """--threads if given, else `threads_for` the model's size; sets torch's thread count."""
    from .train import set_torch_threads

    n = (
        args.threads
        if getattr(args, "threads", None) is not None
        else threads_for(sum(p.numel() for p in model.parameters()))
    )
    set_torch_threads(n)
    return n


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


def train_configs(args: argparse.Namespace):
    """(the Config keywords but D and shape, the TrainConfig) the train command's flags ask for."""
    from .train import TrainConfig

    cfg_kw = dict(
        hidden=parse_layers(args.hidden),
        order=parse_order(args.order),
        degrees=args.degrees,
        num_masks=args.masks,
        activation=args.activation,
        direct=args.direct,
        seed=args.seed,
    )
    train_cfg = TrainConfig(
        lr=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        valid_fraction=args.valid_fraction,
        patience=args.patience,
        resample_every=args.resample_every,
        seed=args.seed,
        weight_decay=args.weight_decay,
        lr_schedule=args.lr_schedule,
        lr_step_epochs=args.lr_step_epochs,
        restore_best=not args.keep_last,
    )
    return cfg_kw, train_cfg


def cmd_train(args: argparse.Namespace) -> int:
    from .model import MADE
    from .train import Trainer, own_validation

    cfg_kw, train_cfg = train_configs(args)
    if args.out is not None:
        _check_writable(args.out)
    ds = load_data(args.data, args.binarize, args.seed)
    cfg = Config(d=ds.d, shape=ds.shape, **cfg_kw)
    model = MADE(cfg)
    threads = use_threads(args, model)
    trainer = Trainer(model, ds.train, train_cfg, valid_x=own_validation(ds))
    if not args.quiet:
        print(
            f"{PROG}: training on {ds.name}: {trainer.n_train} examples (validation {_n(trainer.valid_x)}), "
            f"D = {ds.d}, hidden {args.hidden}, K = {cfg.num_masks}, {trainer.total_steps} steps, "
            f"{threads} thread(s)",
            file=sys.stderr,
        )
    progress = _Progress(trainer, enabled=not args.quiet)
    t0 = time.perf_counter()
    try:
        trainer.run(callback=progress.update, seconds_per_callback=0.25)
    finally:
        progress.close()
    summary = train_summary(trainer, ds, time.perf_counter() - t0)
    if args.out is not None:
        from .checkpoint import save_checkpoint

        save_checkpoint(
            args.out,
            model,
            history=trainer.history,
            data=data_record(args.data, ds, args.binarize, args.seed),
            train_cfg=train_cfg,
            extra={
                "test_nll": summary["test_nll"],
                "test_nll_ensemble": summary["test_nll_ensemble"],
                "command": "made-viz train " + _argv_text(args),
            },
        )
        summary["out"] = str(args.out)
    emit(args, train_lines(summary, trainer), summary)
    return 0


def train_summary(trainer, ds, train_seconds: float) -> dict:
    """The train command's JSON object: the run, and the test NLL with mask 0 and the K-mask ensemble."""
    from .metrics import bits_per_dim, independent_bernoulli_nll
    from .train import evaluate_nll

    model, d, k = trainer.model, ds.d, trainer.model.num_masks
    test_nll = evaluate_nll(model, ds.test)
    test_ens = evaluate_nll(model, ds.test, ensemble=k) if k > 1 else None
    valid_nll = trainer.evaluate(trainer.valid_x) if trainer.valid_x is not None else None
    hist = trainer.history
    examples = sum(h["examples"] for h in hist)
    train_time = sum(h["examples"] / h["examples_per_s"] for h in hist if h["examples_per_s"] > 0)
    return {
        "command": "train",
        "data": ds.name,
        "d": d,
        "n_train": trainer.n_train,
        "n_test": ds.n_test,
        "config": model.cfg.to_dict(),
        "train_config": trainer.cfg.to_dict(),
        "epochs": trainer.epoch,
        "steps": trainer.step,
        "stopped_reason": trainer.stopped_reason,
        "train_nll": hist[-1]["train_nll"] if hist else None,
        "valid_nll": valid_nll,
        "best_epoch": trainer.best_epoch,
        "test_nll": test_nll,
        "test_bpd": bits_per_dim(test_nll, d),
        "test_nll_ensemble": test_ens,
        "test_bpd_ensemble": bits_per_dim(test_ens, d),
        "bernoulli_test_nll": independent_bernoulli_nll(ds.train, ds.test),
        "entropy": ds.entropy,
        "train_examples_per_s": examples / train_time if train_time > 0 else None,
        "seconds": train_seconds,
        "out": None,
    }


def train_lines(summary: dict, trainer) -> list[str]:
    """The train command's human-readable result."""
    from .metrics import bits_per_dim

    d, test_nll, test_ens = summary["d"], summary["test_nll"], summary["test_nll_ensemble"]
    train_seconds, valid_nll = summary["seconds"], summary["valid_nll"]
    k = trainer.model.num_masks
    best = f" (best epoch {trainer.best_epoch})" if trainer.best_epoch else ""
    lines = [
        (
            f"stopped: {trainer.stopped_reason} after {trainer.epoch} epoch(s), {trainer.step} steps, "
            f"{train_seconds:.1f} s ({summary['train_examples_per_s'] or 0:.0f} examples/s)"
        ),
        f"valid NLL {_fmt(valid_nll)} nats{best}",
        f"test NLL {test_nll:.4f} nats = {bits_per_dim(test_nll, d):.4f} bits/dim (mask 0)",
    ]
    if test_ens is not None:
        lines.append(f"test NLL {test_ens:.4f} nats = {bits_per_dim(test_ens, d):.4f} bits/dim (ensemble of {k} masks)")
    lines.append(
        f"independent-Bernoulli baseline {summary['bernoulli_test_nll']:.4f} nats"
        + (f"; true entropy {summary['entropy']:.4f} nats" if summary["entropy"] is not None else "")
    )
    if summary["out"] is not None:
        lines.append(f"wrote {summary['out']}")
    return lines


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
            sys.stderr.write(
                f"\r[{'#' * done}{'.' * (self.width - done)}] {100 * frac:3.0f}% "
                f"epoch {min(trainer.epoch + 1, trainer.cfg.epochs)}/{trainer.cfg.epochs} "
                f"loss {loss:8.3f} valid {_fmt(valid)} {time.perf_counter() - self.t0:6.1f}s "
            )
            _Progress.active = True
        else:
            for r in records:
                if r["kind"] == "epoch":
                    sys.stderr.write(
                        f"epoch {r['epoch']}: train NLL {r['train_nll']:.4f}, valid NLL "
                        f"{_fmt(r['valid_nll'])} nats, {r['examples_per_s']:.0f} examples/s\n"
                    )
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
        print(
            f"{PROG}: note: the checkpoint's data set is not available ({e}); no nearest neighbours.", file=sys.stderr
        )
        return None
    if ds.d != ck.config.d:
        raise ValueError(f"data set {ds.name} has D = {ds.d} pixels but the checkpoint's model has D = {ck.config.d}.")
    return ds


def cmd_eval(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .metrics import bits_per_dim
    from .train import evaluate_nll

    ck = load_checkpoint(args.checkpoint)
    k_all = ck.config.num_masks
    k = k_all if args.ensemble is None else args.ensemble
    if not 1 <= k <= k_all:
        raise ValueError(f"--ensemble must be between 1 and {k_all} (the checkpoint has {k_all} mask(s)), got {k}.")
    ds = _checkpoint_data(ck, args.data, args.binarize, required=True)
    use_threads(args, ck.model)
    d = ds.d
    nll1 = evaluate_nll(ck.model, ds.test)
    nllk = evaluate_nll(ck.model, ds.test, ensemble=k) if k > 1 else nll1
    lines = [
        f"{ds.name}: {ds.n_test} test examples, D = {d}",
        f"test NLL {nll1:.4f} nats = {bits_per_dim(nll1, d):.4f} bits/dim (1 mask)",
    ]
    if k > 1:
        lines.append(f"test NLL {nllk:.4f} nats = {bits_per_dim(nllk, d):.4f} bits/dim (ensemble of {k} masks)")
    summary = {
        "command": "eval",
        "data": ds.name,
        "d": d,
        "n_test": ds.n_test,
        "ensemble": k,
        "test_nll": nll1,
        "test_bpd": bits_per_dim(nll1, d),
        "test_nll_ensemble": nllk,
        "test_bpd_ensemble": bits_per_dim(nllk, d),
        "config": ck.config.to_dict(),
    }
    emit(args, lines, summary)
    return 0


# ---------------------------------------------------------------------------------------------
# sample


def image_shape(cfg: Config, data: dict | None = None) -> tuple[int, int]:
    """(h, w) to draw D pixels: the config's shape, the data's, a square, else one row."""
    if cfg.shape is not None:
        return tuple(cfg.shape)
    shape = (data or {}).get("shape")
    if (
        isinstance(shape, (list, tuple))
        and len(shape) == 2
        and all(isinstance(v, int) for v in shape)
        and shape[0] * shape[1] == cfg.d
    ):
        return int(shape[0]), int(shape[1])
    side = math.isqrt(cfg.d)
    return (side, side) if side * side == cfg.d else (1, cfg.d)


def sample_grid_image(
    samples: np.ndarray, shape: tuple[int, int], neighbors: np.ndarray | None = None, cols: int | None = None
):
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
            canvas[y : y + cell_h, xo : xo + w * scale] = img
    return Image.fromarray(canvas, mode="L")


def cmd_sample(args: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .sampling import sample

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
        raise ValueError(
            f"--mask must be between 0 and {cfg.num_masks - 1} (the checkpoint has {cfg.num_masks} mask(s))."
        )
    ds = _checkpoint_data(ck, args.data, args.binarize, required=False)
    use_threads(args, ck.model)
    traj = sample(ck.model, n=args.n, seed=args.seed, method=args.method, greedy=args.greedy, mask=args.mask)
    x = traj.x.cpu().numpy().round().astype(np.uint8)
    shape = image_shape(cfg, ck.data)
    idx = dist = None
    lines = []
    if ds is not None:
        from .data import nearest_neighbors

        idx, dist = nearest_neighbors(x, ds.train, k=1)
        for i in range(len(x)):
            lines.append(
                f"sample {i}: nearest training image #{int(idx[i])} of {ds.name}, "
                f"Hamming distance {int(dist[i])} of {cfg.d} pixels"
            )
        lines.append(
            f"mean Hamming distance {float(np.mean(dist)):.2f}; exact copies of training images: "
            f"{int(np.sum(dist == 0))} of {len(x)}"
        )
    image = sample_grid_image(x, shape, None if ds is None else ds.train[idx])
    image.save(args.out, format="PNG")
    layout = "each beside its nearest training image" if ds is not None else "no nearest neighbours"
    lines.append(f"wrote {args.out} ({len(x)} samples of {shape[0]}x{shape[1]} with mask {traj.mask_index}, {layout})")
    summary = {
        "command": "sample",
        "out": str(args.out),
        "n": len(x),
        "seed": args.seed,
        "mask": traj.mask_index,
        "greedy": args.greedy,
        "shape": list(shape),
        "log_prob": traj.log_prob().tolist(),
        "neighbors": None if idx is None else [int(v) for v in idx],
        "distances": None if dist is None else [int(v) for v in dist],
    }
    emit(args, lines, summary)
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
        raise ValueError(
            "the benchmarks live in the bench/ folder of a source checkout of MADE Explorer; "
            "run this command from such a checkout (pip install -e .)."
        )
    extra = (["--quick"] if args.quick else []) + ([f"--threads={args.threads}"] if args.threads else [])
    status = 0
    for name in ("train", "sample"):
        if args.only not in (None, name):
            continue
        script = folder / f"bench_{name}.py"
        module = runpy.run_path(str(script), run_name="made_viz_bench")
        status = max(status, int(module["main"](extra) or 0))
    return status


# ---------------------------------------------------------------------------------------------
# app


def cmd_app(args: argparse.Namespace) -> int:
    """Start the app from the installed package (`made_viz.launch`): warm up, print the URL, serve until Ctrl-C."""
    from . import launch

    launch.serve(port=launch.DEFAULT_PORT if args.port is None else args.port, class_mode=args.class_mode)
    return 0
