"""Degrees and masks of MADE (Germain et al. 2015, sec. 4), in numpy only.

Notation follows the paper, 1-based degrees:
  m0[d]  = position of input d in the generation order (a permutation of 1..D);
  ml[k]  = degree of hidden unit k of layer l, in [min m(l-1), D-1]  ("random", the paper)
           or spread evenly over 1..D-1 ("even");
  hidden mask  M[k', k] = 1  iff  ml[k] >= m(l-1)[k']          (shape fan_in x fan_out)
  output mask  M[k, d]  = 1  iff  m0[d] >  mL[k]   (strict)
  direct mask  M[d', d] = 1  iff  m0[d] >  m0[d']  (strict)
A degree is the largest ordering position a unit may depend on. The product of the masks counts
the paths from each input to each output; MADE is autoregressive iff that count is zero whenever
m0[input] >= m0[output]. Everything the app draws and the model multiplies comes from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import Config

_SATURATE = float(2**62)
# Cells converted to numbers at once in a product of masks: bounds the temporaries (8 MB of float64)
# whatever the layer sizes, so a product costs its result plus one block, never a float copy of a mask.
BLOCK_CELLS = 1 << 20


def blocked_matmul(a: np.ndarray, b: np.ndarray, dtype=np.float64) -> np.ndarray:
    """a @ b computed in `dtype`, converting the larger operand BLOCK_CELLS cells at a time.

    In a product of masks one operand is D x H (converted whole: it is the size of the result) and
    the other H x H (converted in blocks of rows or columns), so the temporaries stay O(D x H) plus
    one block whatever H is. For 0/1 masks and path counts every entry of the result is one full sum
    (exact in float64 up to 2^53, in float32 up to 2^24): blocking changes no value, only the memory."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=dtype)
    if a.size <= b.size:  # a whole, b in blocks of columns
        a = np.asarray(a, dtype=dtype)
        cols = max(1, BLOCK_CELLS // max(b.shape[0], 1))
        for c in range(0, b.shape[1], cols):
            out[:, c : c + cols] = a @ np.asarray(b[:, c : c + cols], dtype=dtype)
    else:  # b whole, a in blocks of rows
        b = np.asarray(b, dtype=dtype)
        rows = max(1, BLOCK_CELLS // max(a.shape[1], 1))
        for r in range(0, a.shape[0], rows):
            out[r : r + rows] = np.asarray(a[r : r + rows], dtype=dtype) @ b
    return out


# ---------------------------------------------------------------------------------------------
# orderings and degrees


def mask_rng(cfg: Config, k: int) -> np.random.Generator:
    """The random stream of mask k: the same (seed, k) always gives the same mask."""
    return np.random.default_rng([cfg.seed, k])


def generation_order(cfg: Config, k: int = 0, rng: np.random.Generator | None = None) -> np.ndarray:
    """order[t] = index of the pixel generated at step t (0-based), for mask k.

    With order="random" every mask gets its own ordering (order-agnostic training); a named or
    explicit order is shared by all masks (then only the hidden degrees differ between masks)."""
    d = cfg.d
    if isinstance(cfg.order, tuple):
        return np.asarray(cfg.order, dtype=np.int64)
    if cfg.order == "natural":
        return np.arange(d, dtype=np.int64)
    if cfg.order == "reverse":
        return np.arange(d - 1, -1, -1, dtype=np.int64)
    rng = rng if rng is not None else mask_rng(cfg, k)
    return rng.permutation(d).astype(np.int64)


def input_degrees(order: np.ndarray) -> np.ndarray:
    """m0[d] = 1-based position of pixel d in `order`."""
    m0 = np.empty(len(order), dtype=np.int64)
    m0[np.asarray(order)] = np.arange(1, len(order) + 1)
    return m0


def hidden_degrees(prev: np.ndarray, size: int, d: int, mode: str, rng: np.random.Generator) -> np.ndarray:
    """Degrees of one hidden layer of `size` units, given the previous layer's degrees."""
    if mode == "even":
        # evenly spaced over 1..D-1 (sorted); every degree appears once the layer has >= D-1 units
        return (1 + (np.arange(size) * (d - 1)) // size).astype(np.int64)
    low = int(min(prev.min(), d - 1))
    return rng.integers(low, d, size=size).astype(np.int64)  # uniform on [low, D-1]


# ---------------------------------------------------------------------------------------------
# the masks of one network


@dataclass(frozen=True, eq=False)
class MaskSet:
    """Degrees and masks of one MADE mask (one ordering + one draw of hidden degrees)."""

    degrees: list[np.ndarray]  # [m0, m1, ..., mL]; m0 = input degrees
    masks: list[np.ndarray]  # bool (fan_in, fan_out) per layer; the last one is the output mask
    order: np.ndarray  # generation order: order[t] = pixel drawn at step t
    direct: np.ndarray | None = None  # bool (D, D) input->output mask, when direct connections are on
    masking: str = "made"
    index: int = 0  # which of the K masks this is
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def d(self) -> int:
        return len(self.order)

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return tuple(len(m) for m in self.degrees[1:])

    def connectivity(self) -> np.ndarray:
        """(D, D) int64: [i, j] = number of paths from input i to output j (saturates at 2^62)."""
        if "conn" not in self._cache:  # in blocks: memory O(D x H), never a float copy of an H x H mask
            prod = self.masks[0].astype(np.float64)
            for m in self.masks[1:]:
                prod = np.minimum(blocked_matmul(prod, m), _SATURATE)
            if self.direct is not None:
                prod = prod + self.direct
            self._cache["conn"] = np.minimum(prod, _SATURATE).astype(np.int64)
        return self._cache["conn"]

    def allowed(self) -> np.ndarray:
        """(D, D) bool: input i may influence output j iff i comes strictly before j."""
        m0 = self.degrees[0]
        return m0[:, None] < m0[None, :]

    def violations(self) -> list[tuple[int, int]]:
        """Input->output pairs (i, j) with a path although i is not strictly before j.

        Empty for every true MADE; the broken variants ("off", "nonstrict") show up here."""
        bad = (self.connectivity() > 0) & ~self.allowed()
        i, j = np.nonzero(bad)
        pos = self.degrees[0]
        pairs = sorted(zip(i.tolist(), j.tolist()), key=lambda p: (pos[p[1]], pos[p[0]]))
        return pairs

    def is_autoregressive(self) -> bool:
        return not self.violations()

    def diagnostics(self) -> Diagnostics:
        return diagnose(self)


@dataclass(frozen=True)
class Diagnostics:
    """What a student should see rather than have hidden from them."""

    no_input: list[tuple[int, int]]  # (layer, unit) hidden units that no input reaches
    no_output: list[tuple[int, int]]  # (layer, unit) hidden units that reach no output
    # (pixel, position, sees, could_see): conditionals that see fewer inputs than the order allows
    starved: list[tuple[int, int, int, int]]
    missing_degrees: list[tuple[int, list[int]]]  # (layer, degrees in 1..D-1 that no unit has)

    @property
    def ok(self) -> bool:
        return not (self.no_input or self.no_output or self.starved)

    def summary(self) -> list[str]:
        lines = []
        if self.no_input:
            lines.append(f"{len(self.no_input)} hidden unit(s) receive no input at all: they are constants.")
        if self.no_output:
            lines.append(f"{len(self.no_output)} hidden unit(s) reach no output: their weights are wasted.")
        if self.starved:
            px, pos, sees, could = self.starved[0]
            lines.append(
                f"{len(self.starved)} conditional(s) see fewer inputs than the order allows "
                f"(e.g. pixel {px}, position {pos}, sees {sees} of {could}): some degrees have no hidden unit."
            )
        return lines


def diagnose(ms: MaskSet) -> Diagnostics:
    """Dead units and starved conditionals of one mask set."""
    d = ms.d
    # forward reachability: which units some input reaches (every input is 'alive')
    reach = [np.ones(d, dtype=bool)]
    for m in ms.masks[:-1]:
        reach.append((reach[-1][:, None] & m).any(axis=0))
    # backward: which units reach some output
    back = [np.ones(d, dtype=bool)]
    for m in reversed(ms.masks):
        back.append((m & back[-1][None, :]).any(axis=1))
    back = back[::-1]  # back[l] aligned with layer l (0 = inputs, L+1 = outputs)
    no_input, no_output = [], []
    for layer in range(1, len(ms.degrees)):
        no_input += [(layer, int(k)) for k in np.nonzero(~reach[layer])[0]]
        no_output += [(layer, int(k)) for k in np.nonzero(~back[layer])[0]]
    conn = ms.connectivity() > 0
    allowed = ms.allowed()
    sees = (conn & allowed).sum(axis=0)
    could = allowed.sum(axis=0)
    pos = ms.degrees[0]
    starved = [(int(j), int(pos[j]), int(sees[j]), int(could[j])) for j in np.argsort(pos) if sees[j] < could[j]]
    missing = []
    for layer, deg in enumerate(ms.degrees[1:], 1):
        absent = sorted(set(range(1, d)) - set(deg.tolist()))
        if absent:
            missing.append((layer, absent))
    return Diagnostics(no_input, no_output, starved, missing)


# ---------------------------------------------------------------------------------------------
# building


def build_masks(cfg: Config, k: int = 0) -> MaskSet:
    """Degrees and masks of mask k (0 <= k < cfg.num_masks) of the architecture `cfg`.

    Deterministic in (cfg.seed, k). cfg.masking = "off" or "nonstrict" builds the deliberately
    broken variants (no masks at all; output rule m0[d] >= mL[k])."""
    if not 0 <= k < max(cfg.num_masks, 1):
        raise ValueError(
            f"mask index {k} out of range: this architecture has {cfg.num_masks} mask(s), "
            f"shown as mask 1..{cfg.num_masks} (indices 0..{cfg.num_masks - 1})."
        )
    rng = mask_rng(cfg, k)
    order = generation_order(cfg, k, rng)
    m0 = input_degrees(order)
    degrees = [m0]
    for size in cfg.hidden:
        degrees.append(hidden_degrees(degrees[-1], size, cfg.d, cfg.degrees, rng))
    masks = [degrees[l][:, None] <= degrees[l + 1][None, :] for l in range(len(cfg.hidden))]
    last = degrees[-1]
    if cfg.masking == "nonstrict":
        masks.append(last[:, None] <= m0[None, :])
    else:
        masks.append(last[:, None] < m0[None, :])
    direct = None
    if cfg.direct:
        direct = (m0[:, None] <= m0[None, :]) if cfg.masking == "nonstrict" else (m0[:, None] < m0[None, :])
    if cfg.masking == "off":
        masks = [np.ones_like(m, dtype=bool) for m in masks]
        direct = None if direct is None else np.ones_like(direct, dtype=bool)
    return MaskSet(degrees=degrees, masks=masks, order=order, direct=direct, masking=cfg.masking, index=k)


def build_all_masks(cfg: Config) -> list[MaskSet]:
    """All K mask sets of `cfg`."""
    return [build_masks(cfg, k) for k in range(cfg.num_masks)]
