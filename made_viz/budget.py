"""A per-student size budget, so one session cannot take a classroom server's memory.

A MADE costs memory in proportion to its weights, once for the weights and once more per mask (the
model keeps every mask it has used, one entry per weight). So the size a student asks for is
`cfg.num_weights x cfg.num_masks`; `check_budget` refuses, with one sentence the student can act on,
any architecture whose size exceeds the limit. The operator sets the limit with the environment
variable MADE_VIZ_MAX_WEIGHTS (default 10,000,000: a few tens of MB per session).

The Architecture page's exact checks are bounded too (`jacobian_affordable`, `exact_sum_affordable`):
each stays under about a billion multiply-adds (a few seconds of one core), or the page says why it
is skipped.

A class together is bounded too: the `Ledger` sums what every session of this server process keeps (a
training run, with its gradients and optimiser state in a worker; a model it loaded) and refuses a Start
or a load that would take the sum over MADE_VIZ_CLASS_WEIGHTS, again with a sentence that says so. A
session's share is given back when its tab has been closed long enough for Streamlit to drop the session.

The mask computations themselves (`MaskSet.connectivity`, the reach and trace products in `graph`)
run in blocks of `masks.BLOCK_CELLS` cells, so beyond the masks their extra memory is a fixed block
plus a D x H result, whatever the layer sizes.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref

from .config import Config, ConfigError

ENV_VAR = "MADE_VIZ_MAX_WEIGHTS"
DEFAULT_MAX_WEIGHTS = 10_000_000
CLASS_ENV_VAR = "MADE_VIZ_CLASS_WEIGHTS"
DEFAULT_CLASS_WEIGHTS = 10_000_000  # ~55 bytes each while training (server and workers): ~0.55 GB


def read_limit(environ=None, name: str = ENV_VAR, default: int = DEFAULT_MAX_WEIGHTS) -> int:
    """The operator's limit from the variable `name` ('10000000', '10_000_000' or '10,000,000'),
    or the default when it is unset or empty. A value that is not a positive whole number stops the
    server at start with a message, rather than silently serving without a limit."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a positive whole number of weights, got {raw!r}.")
    return value


def read_class_limit(environ=None) -> int:
    """The operator's limit for all sessions of one server process together (MADE_VIZ_CLASS_WEIGHTS)."""
    return read_limit(environ, CLASS_ENV_VAR, DEFAULT_CLASS_WEIGHTS)


MAX_WEIGHTS = read_limit()  # checked once at start, so a bad value stops the server with a message
CLASS_WEIGHTS = read_class_limit()


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
# the class's budget: what all sessions of this process hold together


class Ledger:
    """What each session of this process holds (weights x masks of its networks), summed.

    A session is known by a `Share`, an object it keeps (in its session state) while it lives; when
    Streamlit drops the session, the share is garbage and its entry is given back. `admit` is the one
    door a bigger network goes through: it refuses, with one sentence, what would take the class's sum
    over the limit. What only shrinks or keeps a session's holding is always admitted, so a student can
    always go back to something smaller."""

    def __init__(self, limit: int | None = None):
        self._limit = limit
        self._held: dict[int, int] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def limit(self) -> int:
        return read_class_limit() if self._limit is None else self._limit

    def share(self) -> Share:
        """A new session's share (holding nothing yet)."""
        return Share(self, next(self._ids))

    def total(self) -> int:
        with self._lock:
            return sum(self._held.values())

    def held(self, share: Share) -> int:
        with self._lock:
            return self._held.get(share.key, 0)

    def admit(self, share: Share, size: int) -> None:
        """Let `share` hold `size` from now on, or raise ConfigError (and keep what it held) when that
        would take the class over the limit."""
        limit = self.limit
        with self._lock:
            mine = self._held.get(share.key, 0)
            others = sum(self._held.values()) - mine
            if size > mine and others + size > limit:
                free = max(0, limit - others)
                raise ConfigError(
                    f"The server is full: the class's networks already use {others:,} of the {limit:,} "
                    f"weights this server holds at once ({CLASS_ENV_VAR}), and this one needs {size:,}"
                    f" (at most {free:,} fit now). Use a smaller network, or try again when others have "
                    "finished."
                )
            self._held[share.key] = size

    def record(self, share: Share, size: int) -> None:
        """What `share` holds now, whatever the limit (a session's state is the truth)."""
        with self._lock:
            self._held[share.key] = size

    def release(self, key: int) -> None:
        with self._lock:
            self._held.pop(key, None)


class Share:
    """One session's entry in a Ledger; given back when the session (and so this object) is dropped."""

    __slots__ = ("key", "give_back", "__weakref__")

    def __init__(self, ledger: Ledger, key: int):
        self.key = key
        self.give_back = weakref.finalize(self, ledger.release, key)  # runs once: when dropped, or called


LEDGER = Ledger()  # this process's sessions


# --------------------------------------------------------------------------------------------
# the Architecture page's exact checks

JACOBIAN_MAX_D = 1024  # above this the check uses the masks' product
JACOBIAN_MAX_WEIGHTS = 2_000_000  # and above this: the check's model and its autograd graph are transient,
# but 30 students checking 10 M-weight networks at once stacked ~300 MB each (bench.memory, peak 1.36 GB)
MAX_CHECK_WORK = 1_000_000_000  # multiply-adds of one exact check
EXACT_SUM_MAX_D = 12  # sum p(x) over all 2^D images


def jacobian_affordable(cfg: Config) -> bool:
    """The Jacobian check takes about D backward passes through the network, built for the check alone."""
    return (
        cfg.d <= JACOBIAN_MAX_D
        and cfg.num_weights <= JACOBIAN_MAX_WEIGHTS
        and cfg.d * cfg.num_weights <= MAX_CHECK_WORK
    )


def exact_sum_affordable(cfg: Config) -> bool:
    """Σ p(x) needs one forward pass per image: 2^D of them (per mask, and the ensemble's K)."""
    return cfg.d <= EXACT_SUM_MAX_D and 2**cfg.d * cfg.num_weights * (cfg.num_masks + 1) <= MAX_CHECK_WORK
