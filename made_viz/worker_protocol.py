"""What a training worker process and the server say to each other (see worker_main, training_process).

Messages are tuples pickled with the standard pickler over a private socket pair (never torch's tensor
reductions, which would pass shared-memory file descriptors): weights and images travel as numpy arrays.

Server → worker: ("open", rid, cfg, data_ref, train_cfg), ("start" | "pause" | "resume" | "stop", rid, seq),
("steps", rid, seq, n), ("report", rid, seq), ("peek", rid, seq, n, seed), ("tick", rid, seq, deadline),
("close", rid, seq).
Worker → server: ("ready", pid), ("progress", rid, record), ("ack", rid, seq, ok, error, record),
("snap", rid, snapshot).

A record (`progress_record`) carries the run's counters, the curve points made since the last record (so a
student's 4,000-point curve is not sent again every tick), its state and, now and then, its weights;
`TrainerMirror.apply` rebuilds on the server what `training_views.RunViews` reads from a `Trainer`.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import numpy as np
import torch

from .data import Dataset, is_embedded_name, load_dataset


def dumps(msg) -> bytes:
    return pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes):
    return pickle.loads(blob)


# --- data: embedded sets travel by name (MNIST's arrays are 160 MB), others as arrays ---------------------
def data_ref(ds: Dataset | None):
    if ds is not None and is_embedded_name(ds.name) and load_dataset(ds.name) is ds:
        return ("embedded", ds.name)
    return ("data", ds)


def resolve_data(ref) -> Dataset | None:
    kind, value = ref
    return load_dataset(value) if kind == "embedded" else value


def weights_of(model) -> dict[str, np.ndarray]:
    """The model's weights as plain numpy arrays (copies)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def load_weights(model, weights: dict[str, np.ndarray]) -> None:
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})


# --- worker side: what has been sent of one run ------------------------------------------------------------
@dataclass
class Cursor:
    """How much of a run's histories the server already has."""

    last_step: int = -1  # the last step_history entry sent
    n_history: int = 0  # epoch dicts sent
    sent_valid: bool = False


def progress_record(run, cursor: Cursor, seq: int, with_weights: bool) -> dict:
    """A `LocalRun`'s news since `cursor` (updated), for the server's mirror; `seq` is the last command
    of the server's for this run that the worker has carried out."""
    tr = run.trainer
    rec = dict(
        seq=seq,
        state=run.state,
        message=run.message,
        examples=run.examples,
        train_seconds=run.train_seconds,
        recent=list(run._recent),
        active_mask=run.active_mask if run.model is not None else 0,
    )
    if tr is None:
        return rec
    new_steps = []
    for r in reversed(tr.step_history):
        if r["step"] <= cursor.last_step:
            break
        new_steps.append(r)
    new_steps.reverse()
    if new_steps:
        cursor.last_step = new_steps[-1]["step"]
    rec["trainer"] = dict(
        step=tr.step,
        epoch=tr.epoch,
        done=tr.done,
        total_steps=tr.total_steps,
        progress=tr.progress,
        steps_per_epoch=tr.steps_per_epoch,
        batch_size=tr.batch_size,
        last_good_step=tr.last_good_step,
        best_epoch=tr.best_epoch,
        stopped_reason=tr.stopped_reason,
        stride=tr._step_stride,
        new_steps=new_steps,
        new_history=list(tr.history[cursor.n_history :]),
    )
    cursor.n_history = len(tr.history)
    if not cursor.sent_valid:
        valid = None if tr.valid_x is None else tr.valid_x[:1].cpu().numpy()
        rec["trainer"]["valid_x"] = valid
        cursor.sent_valid = True
    if with_weights:
        rec["weights"] = weights_of(run.model)
    return rec


# --- server side: the trainer as the views see it ----------------------------------------------------------
@dataclass
class TrainerMirror:
    """The fields of a `train.Trainer` that `RunViews` reads, as the worker last reported them."""

    cfg: object  # the TrainConfig (restore_best)
    step: int = 0
    epoch: int = 0
    done: bool = False
    total_steps: int = 0
    progress: float = 0.0
    steps_per_epoch: int = 1
    batch_size: int = 0
    last_good_step: int = 0
    best_epoch: int | None = None
    stopped_reason: str | None = None
    stride: int = 1
    valid_x: torch.Tensor | None = None
    history: list[dict] = field(default_factory=list)
    step_history: list[dict] = field(default_factory=list)

    def apply(self, t: dict) -> None:
        """Take in one record's trainer part."""
        for name in (
            "step",
            "epoch",
            "done",
            "total_steps",
            "progress",
            "steps_per_epoch",
            "batch_size",
            "last_good_step",
            "best_epoch",
            "stopped_reason",
        ):
            setattr(self, name, t[name])
        if "valid_x" in t and t["valid_x"] is not None:
            self.valid_x = torch.from_numpy(t["valid_x"])
        steps = self.step_history
        if t["stride"] != self.stride:  # the trainer thinned its history: thin ours the same way
            self.stride = t["stride"]
            steps = [r for r in steps if r["step"] % self.stride == 0]
        if t["new_steps"]:
            steps = steps + t["new_steps"]
        self.step_history = steps  # replaced, never changed in place: readers copy without a lock
        if t["new_history"]:
            self.history = self.history + t["new_history"]
