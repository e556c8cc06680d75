"""How much work a network costs the server, so that one student's entry cannot take it from the
class: the weights of the MADE a Config describes, and whether the Architecture page's exact
checks (the Jacobian, the sum of p(x) over every image) are affordable for it.

The per-session limit on weights is applied by `made_viz.ui.over_budget`; the bounds here keep
each check under about a billion multiply-adds (a few seconds of one core).
"""
from __future__ import annotations

from itertools import pairwise

from .config import Config

JACOBIAN_MAX_D = 1024            # above this the check uses the masks' product
MAX_CHECK_WORK = 1_000_000_000   # multiply-adds of one exact check
EXACT_SUM_MAX_D = 12             # sum p(x) over all 2^D images


def num_weights(cfg: Config) -> int:
    """Weights and biases of the MADE `cfg` describes: D -> h1 -> ... -> hL -> D, each layer
    in x out weights plus out biases, and D x D more with direct input-output connections."""
    sizes = (cfg.d, *cfg.hidden, cfg.d)
    count = sum(a * b + b for a, b in pairwise(sizes))
    return count + (cfg.d * cfg.d if cfg.direct else 0)


def jacobian_affordable(cfg: Config) -> bool:
    """The Jacobian check takes about D backward passes through the network."""
    return cfg.d <= JACOBIAN_MAX_D and cfg.d * num_weights(cfg) <= MAX_CHECK_WORK


def exact_sum_affordable(cfg: Config) -> bool:
    """Σ p(x) needs one forward pass per image: 2^D of them (per mask, and the ensemble's K)."""
    return cfg.d <= EXACT_SUM_MAX_D and 2**cfg.d * num_weights(cfg) * (cfg.num_masks + 1) <= MAX_CHECK_WORK
