"""A training worker warms up before it says it is ready (made_viz.worker_main.warm_up): a class's first Start
must not wait for the ~850 modules (the library's training path, torch's optimizer and distributed stubs,
plotly through the curves) that a first run loaded, seconds at the worker's low priority on a busy machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FIRST_RUN = """
import json, sys
import torch
torch.set_num_threads(1)
from made_viz import worker_main
if sys.argv[1] == "warm":
    worker_main.warm_up()
from made_viz import worker_protocol  # the worker's loop imports it before any command
before = set(sys.modules)
from made_viz.config import Config
from made_viz.data import load_dataset
from made_viz.recipe import TrainConfig
from made_viz.training_run import LocalRun
run = LocalRun(Config(d=64, shape=(8, 8), hidden=(128, 128), seed=0), load_dataset("digits8"), TrainConfig(epochs=5))
run.start()
assert run.advance(max_steps=3) == 3
run.snapshot(n=8, max_age=0)
run.stop()
worker_protocol.progress_record(run, worker_protocol.Cursor(), 1, True)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def modules_a_first_run_loads(mode: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", FIRST_RUN, mode], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_after_the_warm_up_a_first_run_loads_no_module_but_a_codec():
    cold = modules_a_first_run_loads("cold")
    assert len(cold) > 100 and "made_viz.train" in cold  # what the warm-up is for
    warm = modules_a_first_run_loads("warm")
    assert [m for m in warm if not m.startswith("encodings.")] == []
