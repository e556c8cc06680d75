"""`made-viz train`: train a MADE on a data set, report the test NLL (one mask and the ensemble of
all K masks) against the independent-Bernoulli baseline, and save a checkpoint that remembers how
to reload its data."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from ..config import ORDERS, Config, parse_int_list, parse_layers
from .shared import PROG, check_writable, emit, fmt, load_data, use_threads


def parse_order(text: str) -> str | tuple[int, ...]:
    """'natural' | 'reverse' | 'random' | '3,0,1,2' (validated as a permutation by Config)."""
    text = str(text).strip()
    return text if text in ORDERS else parse_int_list(text, "order")


def data_record(source: str, ds, binarize: str, seed: int) -> dict:
    """What a checkpoint remembers about its data: enough to reload it (`source`)."""
    from ..data import is_embedded_name

    rec = ds.to_dict()
    rec["source"] = source if is_embedded_name(source) else str(Path(source).resolve())
    rec["binarize"] = binarize
    rec["split_seed"] = seed
    return rec


def train_configs(args: argparse.Namespace):
    """(the Config keywords but D and shape, the TrainConfig) the train command's flags ask for."""
    from ..train import TrainConfig

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
    from ..model import MADE
    from ..train import Trainer, own_validation

    cfg_kw, train_cfg = train_configs(args)
    if args.out is not None:
        check_writable(args.out)
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
        from ..checkpoint import save_checkpoint

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
    from ..metrics import bits_per_dim, independent_bernoulli_nll
    from ..train import evaluate_nll

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
    from ..metrics import bits_per_dim

    d, test_nll, test_ens = summary["d"], summary["test_nll"], summary["test_nll_ensemble"]
    train_seconds, valid_nll = summary["seconds"], summary["valid_nll"]
    k = trainer.model.num_masks
    best = f" (best epoch {trainer.best_epoch})" if trainer.best_epoch else ""
    lines = [
        (
            f"stopped: {trainer.stopped_reason} after {trainer.epoch} epoch(s), {trainer.step} steps, "
            f"{train_seconds:.1f} s ({summary['train_examples_per_s'] or 0:.0f} examples/s)"
        ),
        f"valid NLL {fmt(valid_nll)} nats{best}",
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


def _argv_text(args: argparse.Namespace) -> str:
    return " ".join(shlex.quote(str(a)) for a in getattr(args, "argv", [])[1:])


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
                f"loss {loss:8.3f} valid {fmt(valid)} {time.perf_counter() - self.t0:6.1f}s "
            )
            _Progress.active = True
        else:
            for r in records:
                if r["kind"] == "epoch":
                    sys.stderr.write(
                        f"epoch {r['epoch']}: train NLL {r['train_nll']:.4f}, valid NLL "
                        f"{fmt(r['valid_nll'])} nats, {r['examples_per_s']:.0f} examples/s\n"
                    )
        sys.stderr.flush()

    def close(self) -> None:
        if _Progress.active:
            sys.stderr.write("\n")
            sys.stderr.flush()
            _Progress.active = False
