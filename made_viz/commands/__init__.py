"""What each `made-viz` command does (the parser and the entry point are in `cli.py`), one module
a command: `train`, `evaluate` (eval), `sample`, `bench`, `app`; what they share is in `shared`.

Each `cmd_*` takes the parsed arguments, prints human lines (and with --json one JSON object as the
last line of stdout) and returns the exit status; a user mistake raises ValueError (or one of the
library's errors), which `cli.main` turns into one line on stderr.
"""

from .app import cmd_app
from .bench import bench_dir, cmd_bench
from .evaluate import cmd_eval
from .sample import MAX_SAMPLES, cmd_sample, image_shape, sample_grid_image
from .shared import PROG, THREADS_ALL_CORES_ABOVE, emit, json_safe, load_data, threads_for, use_threads
from .train import cmd_train, data_record, parse_order, train_configs, train_lines, train_summary

__all__ = [
    "MAX_SAMPLES",
    "PROG",
    "THREADS_ALL_CORES_ABOVE",
    "bench_dir",
    "cmd_app",
    "cmd_bench",
    "cmd_eval",
    "cmd_sample",
    "cmd_train",
    "data_record",
    "emit",
    "image_shape",
    "json_safe",
    "load_data",
    "parse_order",
    "sample_grid_image",
    "threads_for",
    "train_configs",
    "train_lines",
    "train_summary",
    "use_threads",
]
