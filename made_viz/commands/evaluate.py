"""`made-viz eval`: a checkpoint's test NLL on its data set, with one mask and with the ensemble of
K masks (log-mean-exp of the masks' probabilities)."""

from __future__ import annotations

import argparse

from .shared import checkpoint_data, emit, use_threads


def cmd_eval(args: argparse.Namespace) -> int:
    from ..checkpoint import load_checkpoint
    from ..metrics import bits_per_dim
    from ..train import evaluate_nll

    ck = load_checkpoint(args.checkpoint)
    k_all = ck.config.num_masks
    k = k_all if args.ensemble is None else args.ensemble
    if not 1 <= k <= k_all:
        raise ValueError(f"--ensemble must be between 1 and {k_all} (the checkpoint has {k_all} mask(s)), got {k}.")
    ds = checkpoint_data(ck, args.data, args.binarize, required=True)
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
