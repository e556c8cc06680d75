#!/usr/bin/env python
"""The paper's Figure 2 and a recipe table on binarized MNIST, with the project's own MADE class.

    python bench/bench_paper.py [--quick] [--data DIR] [--only figure2|recipes|both] [--threads N]
    python bench/bench_paper.py --data DIR --run NAME [--set lr=2e-3 --set epochs=40 ...] --log FILE

Germain et al. (2015), Figure 2: test NLL (nats) of a MADE with one hidden layer of 500 units
against the number of masks used in training (1, 2, 4, 8, 32), each evaluated with a single mask
and with the ensemble of all its masks (log-mean-exp of the per-mask probabilities, never averaged
logits). The recipe table measures what each training ingredient buys for one hidden layer of 500
and ONE mask: ordering, direct input->output weights, weight decay (L2 inside Adam or decoupled,
AdamW), learning-rate schedule (step or cosine), learning rate, batch size and epochs.

Data: binarized MNIST made the paper's way (each pixel on with probability intensity/255, drawn
once; 50,000 train / 10,000 validation / 10,000 test). `--data DIR` reads `train.npy`,
`valid.npy`, `test.npy` (uint8 0/1, (N, 784)) from DIR; without it the shipped asset
`made_viz.data.load_dataset("mnist")` is used when it carries a validation split (`valid`).

The training loop is written here on purpose (plain minibatch Adam/AdamW on -log p(x), early
stopping on the validation split, the test NLL reported at the best validation epoch), so the
figures measure the recipe and not `made_viz.train.Trainer`'s own defaults. Every epoch prints
(or appends to --log) one JSON line, so a partial run still tells something.
Prints one JSON object (all rows) and then a plain-text table. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

try:
    import made_viz  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from made_viz.config import Config
from made_viz.model import MADE

D, SHAPE = 784, (28, 28)
EVAL_CHUNK = 2_500
FIGURE2_MASKS = (1, 2, 4, 8, 32)
PAPER_FIGURE2_SINGLE_MASK = 94.5  # read off the paper's Figure 2, one hidden layer of 500, one mask
REFERENCE_RECIPE_TEST = 93.44  # the reference PyTorch re-implementation's recipe on this data (MADE.md)


# ---------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class Splits:
    """The three splits as float 0/1 tensors, and where they came from."""

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    source: str

    def subset(self, n_train: int, n_eval: int) -> Splits:
        """The first n_train / n_eval rows: the --quick mode's smaller problem."""
        return Splits(
            self.train[:n_train], self.valid[:n_eval], self.test[:n_eval], self.source + f" (subset {n_train}/{n_eval})"
        )


def _as_tensor(a: np.ndarray, what: str) -> torch.Tensor:
    a = np.asarray(a)
    if a.ndim != 2 or a.shape[1] != D or not np.isin(a, (0, 1)).all():
        raise SystemExit(f"{what}: expected (N, {D}) binary 0/1 pixels, got {a.dtype} {a.shape}.")
    return torch.from_numpy(a.astype(np.float32))


def load_splits(data_dir: str | None) -> Splits:
    """--data DIR when given; otherwise the shipped `mnist` asset, if it has a validation split.

    The shipped asset only counts when it carries `valid`: the older 10,000-digit asset is not the
    paper's data set and its figures would not compare with the paper's."""
    if data_dir is not None:
        folder = Path(data_dir)
        missing = [n for n in ("train.npy", "valid.npy", "test.npy") if not (folder / n).is_file()]
        if missing:
            raise SystemExit(f"--data {folder}: missing {', '.join(missing)} (uint8 0/1 arrays of shape (N, 784)).")
        arrays = {n: np.load(folder / f"{n}.npy", allow_pickle=False) for n in ("train", "valid", "test")}
        return Splits(*(_as_tensor(arrays[n], f"{folder}/{n}.npy") for n in ("train", "valid", "test")), str(folder))
    from made_viz.data import load_dataset

    ds = load_dataset("mnist")
    if getattr(ds, "valid", None) is None:
        raise SystemExit(
            "the shipped 'mnist' data set has no validation split yet: pass --data DIR with "
            "train.npy, valid.npy and test.npy (binarized MNIST, 50,000/10,000/10,000)."
        )
    return Splits(
        _as_tensor(ds.train, "mnist train"),
        _as_tensor(ds.valid, "mnist valid"),
        _as_tensor(ds.test, "mnist test"),
        "made_viz.data.load_dataset('mnist')",
    )


# ---------------------------------------------------------------------------------------------
# one training recipe


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a run. Defaults: the recipe this benchmark recommends."""

    name: str = "recommended"
    hidden: tuple[int, ...] = (500,)
    order: str = "random"  # "natural" | "random" (each mask its own ordering)
    direct: bool = True  # direct input->output weights
    masks: int = 1  # K masks used in training, cycled one per minibatch
    lr: float = 1e-3
    weight_decay: float = 1e-4
    decay_kind: str = "l2"  # "l2": Adam's weight_decay (added to the gradient); "adamw": decoupled
    schedule: str = "cosine"  # "none" | "step" (lr / 10 at step_epoch) | "cosine" (to 0 at `epochs`)
    step_epoch: int = 45
    epochs: int = 50
    batch: int = 100
    patience: int = 10  # stop after this many epochs without a better validation NLL; 0 = never
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.decay_kind not in ("l2", "adamw"):
            raise SystemExit(f"decay_kind must be 'l2' or 'adamw', got {self.decay_kind!r}.")
        if self.schedule not in ("none", "step", "cosine"):
            raise SystemExit(f"schedule must be 'none', 'step' or 'cosine', got {self.schedule!r}.")

    def config(self) -> Config:
        return Config(
            d=D,
            shape=SHAPE,
            hidden=self.hidden,
            order=self.order,
            direct=self.direct,
            num_masks=self.masks,
            seed=self.seed,
        )

    def with_settings(self, settings: list[str]) -> Recipe:
        """A copy with `field=value` strings applied (the --set option)."""
        types = {f.name: f.type for f in fields(self)}
        changes = {}
        for s in settings:
            key, _, raw = s.partition("=")
            if key not in types:
                raise SystemExit(f"--set {s}: unknown field; use one of {', '.join(types)}.")
            changes[key] = _parse_value(key, raw)
        return replace(self, **changes)


def _parse_value(key: str, raw: str):
    if key == "hidden":
        return tuple(int(v) for v in raw.replace("x", ",").split(",") if v)
    if key == "direct":
        return raw.lower() in ("1", "true", "yes", "on")
    if key in ("lr", "weight_decay"):
        return float(raw)
    if key in ("name", "order", "decay_kind", "schedule"):
        return raw
    return int(raw)


def make_optimizer(model: MADE, recipe: Recipe) -> torch.optim.Optimizer:
    """Adam with L2 in the gradient (what the reference and `TrainConfig.weight_decay` do), or AdamW."""
    cls = torch.optim.AdamW if recipe.decay_kind == "adamw" else torch.optim.Adam
    try:
        return cls(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return cls(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)


def learning_rate(recipe: Recipe, step: int, steps_per_epoch: int) -> float:
    """The schedule as a function of the global step: step decay counts whole epochs, cosine
    anneals smoothly from lr to 0 over the planned `epochs` (early stopping may end it sooner)."""
    if recipe.schedule == "step":
        return recipe.lr * (0.1 if step // steps_per_epoch >= recipe.step_epoch else 1.0)
    if recipe.schedule == "cosine":
        total = recipe.epochs * steps_per_epoch
        return 0.5 * recipe.lr * (1.0 + math.cos(math.pi * min(step, total) / total))
    return recipe.lr


@torch.no_grad()
def mask_log_probs(model: MADE, x: torch.Tensor, masks: list[int]) -> torch.Tensor:
    """(len(masks), N) log p_k(x) in nats, in chunks; restores the active mask."""
    active, out = model.mask_index, []
    try:
        for k in masks:
            model.set_mask(k)
            out.append(torch.cat([model.log_prob(x[i : i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)]))
    finally:
        model.set_mask(active)
    return torch.stack(out)


def single_and_ensemble(model: MADE, x: torch.Tensor) -> dict:
    """Mean NLL of mask 0 alone, the mean over masks of each single mask's NLL, and the ensemble's
    (log-mean-exp over all K masks: p(x) = (1/K) sum_k p_k(x), a proper mixture)."""
    lp = mask_log_probs(model, x, list(range(model.num_masks)))
    ens = torch.logsumexp(lp.double(), dim=0) - math.log(lp.shape[0])
    return {
        "single": -float(lp[0].double().mean()),
        "single_mean_over_masks": -float(lp.double().mean()),
        "ensemble": -float(ens.mean()),
    }


def train_recipe(recipe: Recipe, data: Splits, log: Callable[[dict], None] = lambda rec: None) -> dict:
    """Train one recipe; early stopping on the validation NLL of mask 0; returns the figures at the
    best validation epoch (single mask and, for K > 1, the K-mask ensemble) and the wall time."""
    torch.manual_seed(recipe.seed)
    model = MADE(recipe.config())
    opt = make_optimizer(model, recipe)
    gen = torch.Generator().manual_seed(recipe.seed)
    n = len(data.train)
    steps_per_epoch = math.ceil(n / recipe.batch)
    best = {"valid": math.inf, "epoch": 0, "state": None}
    step, t0, train_seconds_total = 0, time.perf_counter(), 0.0
    for epoch in range(1, recipe.epochs + 1):
        te, ce = time.perf_counter(), time.process_time()
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, recipe.batch):
            if recipe.masks > 1:
                model.set_mask(step % recipe.masks)
            for g in opt.param_groups:
                g["lr"] = learning_rate(recipe, step, steps_per_epoch)
            xb = data.train.index_select(0, perm[i : i + recipe.batch])
            loss = -model.log_prob(xb).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
            step += 1
        train_seconds = time.perf_counter() - te
        train_seconds_total += train_seconds
        model.eval()
        valid = -float(mask_log_probs(model, data.valid, [0]).mean())
        test = -float(mask_log_probs(model, data.test, [0]).mean())
        if not math.isfinite(total):
            log({"recipe": recipe.name, "epoch": epoch, "diverged": True})
            break
        if valid < best["valid"]:
            best = {"valid": valid, "epoch": epoch, "state": copy.deepcopy(model.state_dict())}
        log(
            {
                "recipe": recipe.name,
                "epoch": epoch,
                "train": total / n,
                "valid": valid,
                "test": test,
                "lr": opt.param_groups[0]["lr"],
                "epoch_seconds": round(time.perf_counter() - te, 1),
                "epoch_cpu_seconds": round(time.process_time() - ce, 1),
                "train_examples_per_s": round(n / train_seconds),
                "elapsed_s": round(time.perf_counter() - t0),
            }
        )
        if recipe.patience and epoch - best["epoch"] >= recipe.patience:
            break
    wall = time.perf_counter() - t0
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    model.eval()
    figs = single_and_ensemble(model, data.test)
    return {
        "recipe": asdict(recipe),
        "best_epoch": best["epoch"],
        "epochs_run": epoch,
        "valid": best["valid"],
        "test": figs["single"],
        "test_single_mean_over_masks": figs["single_mean_over_masks"],
        "test_ensemble": figs["ensemble"],
        "wall_s": round(wall, 1),
        "train_examples_per_s": round(epoch * n / train_seconds_total),
    }


# ---------------------------------------------------------------------------------------------
# the two experiments


def recipe_rows(base: Recipe) -> list[Recipe]:
    """The recommended recipe and its ablations: one ingredient changed per row."""
    return [
        replace(base, name="natural order, no decay, constant lr", order="natural", weight_decay=0.0, schedule="none"),
        # the reference's 100 epochs with lr / 10 after 45, scaled with --epochs / --quick
        replace(
            base,
            name="reference (random, Adam L2 1e-4, lr/10 at 45%, 2x epochs)",
            schedule="step",
            step_epoch=max(1, int(0.9 * base.epochs)),
            epochs=2 * base.epochs,
            lr=1e-3,
            weight_decay=1e-4,
            decay_kind="l2",
            direct=False,
            patience=0,
        ),
        base,
        replace(base, name="- natural order", order="natural"),
        replace(base, name="- no weight decay", weight_decay=0.0),
        replace(base, name="- AdamW 1e-2 instead of L2", decay_kind="adamw", weight_decay=1e-2),
        replace(base, name="- step schedule", schedule="step", step_epoch=max(1, int(base.epochs * 0.45))),
        replace(
            base, name="- no direct connections" if base.direct else "- + direct connections", direct=not base.direct
        ),
        replace(base, name="- lr 2e-3", lr=2e-3),
        replace(base, name="- lr 3e-3", lr=3e-3),
        replace(base, name="- batch 50", batch=50),
        replace(base, name="- batch 200", batch=200),
    ]


def figure2_rows(base: Recipe, mask_counts: tuple[int, ...]) -> list[Recipe]:
    """One hidden layer of 500, random orderings, K masks in training (the paper's Figure 2)."""
    return [replace(base, name=f"figure2 K={k}", masks=k, order="random") for k in mask_counts]


def run_all(recipes: list[Recipe], data: Splits, log: Callable[[dict], None]) -> list[dict]:
    """Train each recipe once: a row identical to an earlier one but for its name (Figure 2's K = 1
    is the recommended recipe) reuses that result."""
    done: dict[str, dict] = {}
    rows = []
    for r in recipes:
        key = json.dumps({**asdict(r), "name": ""}, sort_keys=True)
        if key not in done:
            done[key] = train_recipe(r, data, log)
            log({"row": {k: v for k, v in done[key].items() if k != "recipe"}, "recipe": r.name})
        rows.append({**done[key], "recipe": asdict(r)})
    return rows


def table(rows: list[dict]) -> str:
    head = f"{'run':52s} {'K':>3s} {'epochs':>9s} {'valid':>7s} {'test 1':>7s} {'test ens':>8s} {'wall':>7s}"
    lines = [head, "-" * len(head)]
    for r in rows:
        ens = f"{r['test_ensemble']:8.2f}" if r["recipe"]["masks"] > 1 else f"{'':8s}"
        lines.append(
            f"{r['recipe']['name'][:52]:52s} {r['recipe']['masks']:3d} "
            f"{r['best_epoch']:4d}/{r['epochs_run']:<4d} {r['valid']:7.2f} {r['test']:7.2f} {ens} "
            f"{r['wall_s'] / 60:6.1f}m"
        )
    return "\n".join(lines)


def _logger(path: str | None) -> Callable[[dict], None]:
    def log(rec: dict) -> None:
        line = json.dumps(rec)
        if path:
            with open(path, "a") as f:
                f.write(line + "\n")
        else:
            print(line, file=sys.stderr, flush=True)

    return log


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--data", help="folder with train.npy, valid.npy, test.npy (default: the shipped 'mnist')")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes: 5,000 training digits, 1,000 valid/test, 3 epochs, K up to 8, fewer rows",
    )
    ap.add_argument(
        "--subset",
        type=int,
        default=None,
        metavar="N",
        help="train on the first N training digits only (valid/test: N/5 each)",
    )
    ap.add_argument("--only", choices=("figure2", "recipes", "both"), default="both")
    ap.add_argument("--run", metavar="NAME", help="train one recipe (the recommended one, changed by --set) and stop")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change a recipe field, e.g. lr=2e-3, schedule=step, direct=1, hidden=500,500",
    )
    ap.add_argument("--epochs", type=int, default=None, help="epochs of every run (default 50; 3 with --quick)")
    ap.add_argument("--masks", default=None, help="comma-separated K for Figure 2 (default 1,2,4,8,32; quick 1,2,4,8)")
    ap.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (use 1 on a machine shared with other jobs: 2 threads fighting for "
        "busy cores waste most of their time waiting for each other)",
    )
    ap.add_argument("--log", help="append the per-epoch JSON lines to this file (default: stderr)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = load_splits(args.data)
    base = Recipe().with_settings(args.set)
    if args.epochs:
        base = replace(base, epochs=args.epochs)
    if args.quick:
        data = data.subset(args.subset or 5_000, (args.subset or 5_000) // 5)
        base = replace(base, epochs=args.epochs or 3)
    elif args.subset:
        data = data.subset(args.subset, args.subset // 5)
    log = _logger(args.log)
    if args.run:
        rows = [train_recipe(replace(base, name=args.run), data, log)]
    else:
        counts = (
            tuple(int(k) for k in args.masks.split(","))
            if args.masks
            else ((1, 2, 4, 8) if args.quick else FIGURE2_MASKS)
        )
        recipes = []
        if args.only in ("recipes", "both"):
            all_rows = recipe_rows(base)
            recipes += [all_rows[i] for i in (0, 2, 3, 7)] if args.quick else all_rows
        if args.only in ("figure2", "both"):
            recipes += figure2_rows(base, counts)
        rows = run_all(recipes, data, log)
    out = {
        "data": data.source,
        "n_train": len(data.train),
        "quick": args.quick,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "paper_figure2_single_mask": PAPER_FIGURE2_SINGLE_MASK,
        "reference_recipe_test": REFERENCE_RECIPE_TEST,
        "rows": rows,
    }
    print(json.dumps(out, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
