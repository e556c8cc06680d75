"""Small numeric ideas used everywhere, each with one home (numpy only, no torch, no plotting).

* nats per example <-> bits per dimension: bpd = NLL / (D ln 2), which puts images of different
  sizes on one scale;
* the independent-pixel (Bernoulli) baseline: one probability per pixel fitted on the training set
  with add-alpha smoothing, its NLL in nats per example and its per-pixel surprise.
"""

from __future__ import annotations

import math

import numpy as np

UNITS = ("nats", "bits")


def bits_per_dim(nats, d: int):
    """Nats per example -> bits per dimension: nats / (D ln 2). None stays None; arrays work too."""
    if nats is None:
        return None
    if isinstance(nats, np.ndarray):
        return nats / (d * math.log(2))
    return float(nats) / (d * math.log(2))


def to_unit(nats, d: int, unit: str = "nats"):
    """nats per example -> the unit shown: "nats" (per example) or "bits" (per dimension)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    return nats if unit == "nats" else bits_per_dim(nats, d)


def _as_float_array(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def bernoulli_probs(train, alpha: float = 1.0) -> np.ndarray:
    """Independent-pixel model fitted on the training set: p_d = (count_d + alpha) / (N + 2 alpha)
    (add-alpha smoothing, so with alpha > 0 no pixel has probability exactly 0 or 1)."""
    if alpha < 0:
        raise ValueError(f"smoothing must be >= 0, got {alpha}.")
    train = _as_float_array(train)
    return (train.sum(0) + alpha) / (len(train) + 2 * alpha)


def bernoulli_surprise(p: np.ndarray, x) -> np.ndarray:
    """(n, D) surprise -log p(x_d) of each pixel under independent Bernoulli(p_d), in nats."""
    x = np.atleast_2d(_as_float_array(x)) > 0.5
    with np.errstate(divide="ignore"):
        return -np.where(x, np.log(p)[None], np.log1p(-p)[None])


def independent_bernoulli_nll(train_x, test_x, smoothing: float = 1.0) -> float:
    """Baseline: one independent Bernoulli per pixel fitted on train_x (Laplace smoothing `smoothing`),
    NLL of test_x in nats per example."""
    tr, te = _as_float_array(train_x), _as_float_array(test_x)
    if tr.ndim != 2 or te.ndim != 2 or tr.shape[1] != te.shape[1] or len(tr) == 0 or len(te) == 0:
        raise ValueError(
            f"train and test data must be non-empty (N, D) arrays with the same D, got {tr.shape} and {te.shape}."
        )
    p = bernoulli_probs(tr, smoothing)
    return float(bernoulli_surprise(p, te).sum(1).mean())
