"""What the `made-viz` commands share: the program's name, how a result is printed (human lines,
then with --json one JSON object), how many torch threads a model gets, the data a command names or
a checkpoint records, and the check that an output file can be written before any work is done."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

PROG = "made-viz"
THREADS_ALL_CORES_ABOVE = 1_000_000  # weights: above this, torch's threads pay for themselves


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
    from ..train import set_torch_threads

    n = (
        args.threads
        if getattr(args, "threads", None) is not None
        else threads_for(sum(p.numel() for p in model.parameters()))
    )
    set_torch_threads(n)
    return n


def load_data(source: str, binarize: str = "threshold", seed: int = 0):
    """`data.load_dataset`, with a folder/file name in the error."""
    from ..data import load_dataset

    return load_dataset(source, binarize=binarize, seed=seed)


def checkpoint_data(ck, data_arg: str | None, binarize: str | None, required: bool):
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


def check_writable(path: str) -> None:
    """Fail before the work, not after, when the output (a checkpoint, a PNG) cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"--out {path} is a folder; give a file name such as model.pt.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"--out {path}: folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"--out {path}: folder {parent} is not writable.")


def fmt(v: float | None) -> str:
    """A NLL to four decimals, or n/a when there is none (no validation split)."""
    return "n/a" if v is None else f"{v:.4f}"
