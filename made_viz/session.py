"""One student's training run, as the Train page drives it (no streamlit: unit-testable).

Each browser session keeps its own `TrainingRun` in `st.session_state`. Where it trains depends on
MADE_VIZ_TRAIN_BACKEND:

* "process" (the default): `training_process.ProcessRun`, a handle on a run trained in one of the server's
  worker processes (`worker_pool`: one per core, at a lower OS priority), so a rerun never waits for the
  interpreter behind a student's training; progress, curves and weights stream back, and Start, Pause,
  Stop, Reset reach the worker at once;
* "thread": `training_run.LocalRun`, trained in the server's own threads by the page's fragment, a chunk
  per tick, with `pacer.PACER` sharing the process's training time (kept to measure the difference:
  bench/bench_rerun_under_training.py).

Both have the same API (`training_run.LocalRun`'s state machine, `training_views.RunViews`' curves,
progress, evaluation, peek and checkpoint), so the pages do not know which one they hold. This module
also has the small helpers the pages use to compare a run with the sidebar.
"""

from __future__ import annotations

import os

from .config import Config
from .data import Dataset
from .pacer import (  # noqa: F401
    CHUNK_SECONDS,
    FULL_RUN_CHUNK_SECONDS,
    MIN_CHUNK_SECONDS,
    PACER,
    PEEK_SECONDS,
    TICK_COVER,
    TICK_SECONDS,
    TICKS_PER_SECOND,
    Pacer,
)
from .training_process import ProcessRun
from .training_run import LocalRun
from .training_views import (  # noqa: F401
    DIVERGED,
    DONE,
    EXPLODE_FACTOR,
    FINISHED,
    IDLE,
    MAX_CURVE_POINTS,
    PAUSED,
    RUNNING,
    STATES,
    STOPPED,
    Snapshot,
    is_finite_number,
)

BACKENDS = {"process": ProcessRun, "thread": LocalRun}


def backend_name() -> str:
    """MADE_VIZ_TRAIN_BACKEND: "process" (default) or "thread"."""
    name = os.environ.get("MADE_VIZ_TRAIN_BACKEND", "").strip().lower() or "process"
    if name not in BACKENDS:
        raise ValueError(f"MADE_VIZ_TRAIN_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}.")
    return name


TrainingRun = BACKENDS[backend_name()]  # what the pages create: chosen once per server process


def describe_cfg(cfg: Config) -> str:
    """One short line for messages: 'D = 64, hidden 128-128, natural order, K = 1'."""
    hidden = "-".join(map(str, cfg.hidden)) or "none"
    order = cfg.order if isinstance(cfg.order, str) else "explicit"
    return f"D = {cfg.d}, hidden {hidden}, {order} order, K = {cfg.num_masks}"


def data_mismatch(ds: Dataset, cfg: Config) -> str | None:
    """Why `cfg` cannot model `ds` (None if it can): MADE has one input and one output per pixel."""
    if ds.d == cfg.d and not (ds.shape and cfg.shape and ds.shape != cfg.shape):
        return None
    h, w = ds.shape or (1, ds.d)
    reset = " (your explicit order resets to natural)" if isinstance(cfg.order, tuple) else ""
    return (
        f"These images have D = {h} × {w} = {ds.d} pixels, but your architecture has D = {cfg.d} inputs. "
        f"MADE needs one input and one output per pixel, so D must change{reset}."
    )


def config_for_data(cfg: Config, ds: Dataset) -> Config:
    """`cfg` with D and the image shape of `ds`; hidden layers, masks, seed... kept (an explicit
    order, which only fits the old D, becomes natural)."""
    return cfg.replace(
        d=ds.d, shape=ds.shape or (1, ds.d), order="natural" if isinstance(cfg.order, tuple) else cfg.order
    )


def stale_message(run: TrainingRun, cfg: Config, ds: Dataset | None) -> str | None:
    """If the sidebar's architecture or the picked data no longer match a (started) run, say so."""
    if run.state == IDLE or (run.cfg == cfg and (ds is None or run.dataset is ds)):
        return None
    what = "architecture" if run.cfg != cfg else "data"
    old_data = run.dataset.name if run.dataset is not None else "unknown data"
    new_data = ds.name if ds is not None else "no usable data"
    return (
        f"The trained model belongs to the old {what}: **{describe_cfg(run.cfg)}** on {old_data}; the sidebar "
        f"and the data picker now show **{describe_cfg(cfg)}** on {new_data}. Reset to train the new one."
    )
