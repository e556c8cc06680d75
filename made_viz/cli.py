"""The `made-viz` command line: train, evaluate and sample MADE models without the app.

    made-viz train digits8 --hidden 500 --masks 8 --epochs 20 --out digits.pt --json
    made-viz eval digits.pt digits8 --ensemble 8
    made-viz sample digits.pt --n 16 --out grid.png
    made-viz bench                      # bench/bench_train.py and bench/bench_sample.py (source checkout)
    made-viz app [--port P] [--class]   # start the app (python -m made_viz is the same)

Every user mistake (unknown data set, unreadable file, impossible architecture, bad number,
damaged checkpoint) ends with one line `made-viz: error: <message>` on stderr and exit status 2;
a diverged training run ends the same way with status 1. With --json the last line of stdout is
one JSON object. Progress goes to stderr.

This module is the parser and the entry point; what each command does is in `commands/` (a module a command), and
the training defaults shown in --help are `recipe.DEFAULTS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .commands import PROG, THREADS_ALL_CORES_ABOVE, cmd_app, cmd_bench, cmd_eval, cmd_sample, cmd_train
from .config import ACTIVATIONS, DEGREE_MODES, ORDERS, ConfigError
from .recipe import DEFAULTS, LR_SCHEDULES

EXIT_USAGE = 2  # the user's input cannot work
EXIT_FAILURE = 1  # a run that failed (divergence) or an internal error
THREADS_HELP = (
    f"torch CPU threads (default: chosen from the model's size: 1 for a model of at most "
    f"{THREADS_ALL_CORES_ABOVE:,} weights, where more threads only wait for each other; "
    f"every core above)"
)


class UsageError(Exception):
    """A command-line syntax error (raised instead of argparse's usage-and-exit)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(message)


# ---------------------------------------------------------------------------------------------
# parser


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = _Parser(
        prog=prog,
        description=("Train, evaluate and sample MADE models (Germain et al. 2015), and start the MADE Explorer app."),
    )
    p.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    _train_parser(sub)
    e = sub.add_parser(
        "eval", help="test NLL of a checkpoint", description="Test NLL with mask 0 and with an ensemble of K masks."
    )
    e.add_argument("checkpoint", metavar="CKPT")
    e.add_argument("data", metavar="DATA", nargs="?", help="data set (default: the one the checkpoint was trained on)")
    e.add_argument("--ensemble", type=int, default=None, metavar="K", help="number of masks to average (default: all)")
    e.add_argument("--binarize", default=None, choices=("threshold", "sample"))
    _common(e)
    e.set_defaults(func=cmd_eval)

    s = sub.add_parser(
        "sample",
        help="draw samples into a PNG grid",
        description=("Draw samples; each is shown beside its nearest training image (Hamming distance)."),
    )
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

    b = sub.add_parser(
        "bench",
        help="run the speed benchmarks of a source checkout",
        description=("Runs bench/bench_train.py and bench/bench_sample.py (each prints one JSON object)."),
    )
    b.add_argument("--only", choices=("train", "sample"), default=None)
    b.add_argument("--quick", action="store_true", help="fewer repeats")
    b.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: the benchmark's choice)")
    b.set_defaults(func=cmd_bench)
    _app_parser(sub)
    return p


def _app_parser(sub) -> None:
    a = sub.add_parser(
        "app",
        help="start the MADE Explorer app (python -m made_viz is the same)",
        description=(
            "Start the app from the installed package. Alone it listens on this machine only and prints the URL "
            "to open; with --class it listens on every address and prints the one students type. The server "
            "warms up (imports, one run of every page) before it accepts anyone, so the first class burst is "
            "as fast as a later one."
        ),
    )
    a.add_argument("--port", type=int, default=None, metavar="P", help="port to listen on (default 8501)")
    a.add_argument(
        "--class",
        dest="class_mode",
        action="store_true",
        help="serve a class: listen on every address and print this machine's address",
    )
    a.set_defaults(func=cmd_app)


# The command line's recipe (the library's TrainConfig keeps plain defaults, which the Train page and the
# tests rely on). Measured on the paper's binarized MNIST, one hidden layer of 500 and one mask (issue 15;
# bench/bench_paper.py): direct input->output connections are worth about 2.6 nats at equal epochs; a random
# order with Adam's L2 weight decay 1e-4 is the reference recipe's (93.44 in 100 epochs). `made-viz train
# mnist --hidden 500` with a cosine schedule over 30 epochs ends at test 92.14 (valid 93.12, best epoch 30:
# still falling); over 50 epochs at 91.56 (valid 92.49), under the 92.0: hence 50.
CLI_RECIPE = dict(order="random", direct=True, epochs=50, lr_schedule="cosine", weight_decay=1e-4, patience=10)


def _train_parser(sub) -> None:
    t = sub.add_parser(
        "train",
        help="train a MADE on a data set",
        description=(
            "Train a MADE by maximum likelihood (Adam). A data set with its own validation split uses it; "
            "otherwise --valid-fraction of the training data is held out."
        ),
    )
    t.add_argument("data", metavar="DATA", help="embedded data set (digits8, mnist, bars4, shapes8) or a file/folder")
    t.add_argument(
        "--hidden", default="500", metavar="SIZES", help="hidden layer sizes, e.g. 500 or 500,500 (default 500)"
    )
    t.add_argument(
        "--order",
        default=CLI_RECIPE["order"],
        help=f"{'|'.join(ORDERS)} or an explicit permutation 3,0,1,... (default {CLI_RECIPE['order']})",
    )
    t.add_argument(
        "--degrees", default="random", choices=DEGREE_MODES, help="hidden degrees (default random, as in the paper)"
    )
    t.add_argument(
        "--masks",
        type=int,
        default=1,
        metavar="K",
        help="number of masks for order/connectivity-agnostic training (default 1)",
    )
    t.add_argument("--activation", default="relu", choices=ACTIVATIONS, help="(default relu)")
    t.add_argument(
        "--direct",
        action=argparse.BooleanOptionalAction,
        default=CLI_RECIPE["direct"],
        help="direct input-to-output connections (default on; --no-direct turns them off)",
    )
    t.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the masks, the initial weights and the shuffling"
    )
    t.add_argument("--binarize", default="threshold", choices=("threshold", "sample"), help="for grey-level files")
    t.add_argument("--out", default=None, metavar="CKPT", help="write the trained model to this checkpoint file")
    _recipe_flags(t)
    _common(t)
    t.set_defaults(func=cmd_train)


def _recipe_flags(t: argparse.ArgumentParser) -> None:
    """The training recipe: `recipe.DEFAULTS` with the command line's own recipe (`CLI_RECIPE`) on top."""
    d = DEFAULTS.replace(
        **{k: v for k, v in CLI_RECIPE.items() if k in ("epochs", "lr_schedule", "weight_decay", "patience")}
    )
    t.add_argument("--epochs", type=int, default=d.epochs, metavar="N", help=f"(default {d.epochs})")
    t.add_argument("--batch-size", type=int, default=d.batch_size, metavar="N", help=f"(default {d.batch_size})")
    t.add_argument(
        "--lr", type=float, default=d.lr, metavar="RATE", help=f"Adam learning rate at the start (default {d.lr:g})"
    )
    t.add_argument(
        "--lr-schedule",
        default=d.lr_schedule,
        choices=LR_SCHEDULES,
        help=(
            f"none; step: divide the rate by 10 every --lr-step-epochs epochs; cosine: from --lr down to 0 over "
            f"--epochs (default {d.lr_schedule})"
        ),
    )
    t.add_argument(
        "--lr-step-epochs",
        type=int,
        default=d.lr_step_epochs,
        metavar="N",
        help=f"epochs between the step schedule's divisions (default {d.lr_step_epochs})",
    )
    t.add_argument(
        "--weight-decay",
        type=float,
        default=d.weight_decay,
        metavar="L2",
        help=f"Adam's L2 penalty on the weights (not AdamW's; default {d.weight_decay:g})",
    )
    t.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        metavar="N",
        help=(
            "early stopping after this many epochs without a better validation NLL (default: off)"
            if d.patience is None
            else f"early stopping after this many epochs without improvement (default {d.patience})"
        ),
    )
    t.add_argument(
        "--keep-last", action="store_true", help="keep the last weights rather than those of the best validation epoch"
    )
    t.add_argument(
        "--valid-fraction",
        type=float,
        default=d.valid_fraction,
        metavar="F",
        help=(
            f"share of the training data held out for validation when the data set has no validation split "
            f"(default {d.valid_fraction:g})"
        ),
    )
    t.add_argument(
        "--resample-every",
        type=int,
        default=d.resample_every,
        metavar="N",
        help=f"minibatches between mask switches (K > 1; default {d.resample_every})",
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None, metavar="N", help=THREADS_HELP)
    p.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def _app_alias_parser(parser: argparse.ArgumentParser, prog: str) -> argparse.ArgumentParser:
    """The top parser with `app`'s help under the alias's name (the arguments are the same)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["app"].prog = prog
    return parser


def _version() -> str:
    from . import __version__

    return __version__


# ---------------------------------------------------------------------------------------------
# entry point


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run the command line; returns the exit status (never raises for a user mistake). `prog` names the
    command in --help (`python -m made_viz` runs `app`); errors always start with `made-viz: error:`."""
    from .checkpoint import CheckpointError
    from .data import DataError
    from .train import TrainingDiverged

    parser = build_parser()
    if prog != PROG:  # python -m made_viz: its --help shows the app's options under its own name
        parser = _app_alias_parser(parser, prog)
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
        args.argv = argv
        if getattr(args, "func", None) is None:
            raise UsageError(f"choose a command: train, eval, sample, bench or app (see {PROG} --help).")
        if getattr(args, "threads", None) is not None:  # checked now; set again by each command
            from .train import set_torch_threads

            set_torch_threads(args.threads)
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


if __name__ == "__main__":
    sys.exit(main())
