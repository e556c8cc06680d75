"""`made-viz bench`: run the benchmark scripts of a source checkout's bench/ folder."""

from __future__ import annotations

import argparse
import runpy
from pathlib import Path


def bench_dir() -> Path | None:
    """The source checkout's bench/ folder (absent from an installed wheel)."""
    folder = Path(__file__).resolve().parents[2] / "bench"
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
