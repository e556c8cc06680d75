"""A per-student size budget, so one session cannot take a classroom server's memory.

A MADE costs memory in proportion to its weights, once for the weights and once more per mask (the
model keeps every mask it has used, one entry per weight). So the size a student asks for is
`cfg.num_weights x cfg.num_masks`; `check_budget` refuses, with one sentence the student can act on,
any architecture whose size exceeds the limit. The operator sets the limit with the environment
variable MADE_VIZ_MAX_WEIGHTS (default 10,000,000: a few tens of MB per session).

The Architecture page's exact checks are bounded too (`jacobian_affordable`, `exact_sum_affordable`):
each stays under about a billion multiply-adds (a few seconds of one core), or the page says why it
is skipped.

The mask computations themselves (`MaskSet.connectivity`, the reach and trace products in `graph`)
run in blocks of `masks.BLOCK_CELLS` cells, so beyond the masks their extra memory is a fixed block
plus a D x H result, whatever the layer sizes.
"""

from __future__ import annotations

import os

from .config import Config, ConfigError

ENV_VAR = "MADE_VIZ_MAX_WEIGHTS"
DEFAULT_MAX_WEIGHTS = 10_000_000


def read_limit(environ=None) -> int:
    """The operator's limit from MADE_VIZ_MAX_WEIGHTS ('10000000', '10_000_000' or '10,000,000'),
    or the default when it is unset or empty. A value that is not a positive whole number stops the
    server at start with a message, rather than silently serving without a limit."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_MAX_WEIGHTS
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{ENV_VAR} must be a positive whole number of weights, got {raw!r}.")
    return value


MAX_WEIGHTS = read_limit()  # checked once at start, so a bad value stops the server with a message


def requested_size(cfg: Config) -> int:
    """What a config costs against the budget: its weights times its masks."""
    return cfg.num_weights * max(1, cfg.num_masks)


def check_budget(cfg: Config, limit: int | None = None) -> None:
    """Raise ConfigError when `cfg` is larger than the per-student limit (default MAX_WEIGHTS)."""
    limit = read_limit() if limit is None else limit
    size = requested_size(cfg)
    if size <= limit:
        return
    if cfg.num_masks > 1:
        what = f"{cfg.num_weights:,} weights × {cfg.num_masks} masks = {size:,}"
        fix = "Use fewer masks, or fewer or narrower hidden layers."
    else:
        what = f"{size:,} weights"
        fix = "Use fewer or narrower hidden layers."
    raise ConfigError(f"This network has {what}; this server allows at most {limit:,} per student ({ENV_VAR}). {fix}")


# --------------------------------------------------------------------------------------------
# the Architecture page's exact checks

JACOBIAN_MAX_D = 1024  # above this the check uses the masks' product
MAX_CHECK_WORK = 1_000_000_000  # multiply-adds of one exact check
EXACT_SUM_MAX_D = 12  # sum p(x) over all 2^D images


def jacobian_affordable(cfg: Config) -> bool:
    """The Jacobian check takes about D backward passes through the network."""
    return cfg.d <= JACOBIAN_MAX_D and cfg.d * cfg.num_weights <= MAX_CHECK_WORK


def exact_sum_affordable(cfg: Config) -> bool:
    """Σ p(x) needs one forward pass per image: 2^D of them (per mask, and the ensemble's K)."""
    return cfg.d <= EXACT_SUM_MAX_D and 2**cfg.d * cfg.num_weights * (cfg.num_masks + 1) <= MAX_CHECK_WORK
