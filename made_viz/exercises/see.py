""" "Which inputs can this unit see?" The truth is the product of the masks (the number of paths from
each input), never the student's answer; the explanation uses the degrees (output d with m0(d) = t may
see exactly the inputs of position < t that a path reaches; hidden degree m: positions <= m)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..masks import MaskSet, build_masks
from .naming import MAX_NAMED, listed, pixel_name

SEE_VARIANTS = {"output": "an output", "hidden": "a hidden unit", "broken": "a broken network"}


BROKEN = ("nonstrict", "off")


@dataclass(frozen=True)
class SeeQuestion:
    cfg: Config  # the network asked about (masking "made", or a broken one)
    mask: int  # which of its K masks
    layer: int  # 1..L hidden layers, L+1 = the outputs
    unit: int

    @property
    def masks(self) -> MaskSet:
        return build_masks(self.cfg, self.mask)

    @property
    def is_output(self) -> bool:
        return self.layer == len(self.cfg.hidden) + 1


def make_see_question(cfg: Config, mask: int, variant: str, rng: np.random.Generator) -> SeeQuestion:
    """A random unit of the session's network: an output (true MADE), a hidden unit, or an output of a
    deliberately broken copy (masking "nonstrict" or "off") that sees an input it must not."""
    if variant not in SEE_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: use one of {', '.join(SEE_VARIANTS)}.")
    if variant == "hidden":
        if not cfg.hidden:
            raise ValueError("this network has no hidden layer: pick an output instead.")
        layer = int(rng.integers(1, len(cfg.hidden) + 1))
        return SeeQuestion(cfg.replace(masking="made"), mask, layer, int(rng.integers(cfg.hidden[layer - 1])))
    q_cfg = cfg.replace(masking=str(rng.choice(BROKEN)) if variant == "broken" else "made")
    ms = build_masks(q_cfg, mask)
    candidates = np.arange(cfg.d)
    if variant == "broken":  # an output that really sees a forbidden input, so there is a path to find
        bad = ((ms.connectivity() > 0) & ~ms.allowed()).any(axis=0)
        candidates = np.nonzero(bad)[0] if bad.any() else candidates
    else:  # not the first pixel (it sees nothing: a learned constant), when there is a choice
        later = np.nonzero(ms.degrees[0] > 1)[0]
        candidates = later if len(later) else candidates
    return SeeQuestion(q_cfg, mask, len(cfg.hidden) + 1, int(rng.choice(candidates)))


def path_counts(ms: MaskSet, layer: int, unit: int) -> np.ndarray:
    """(D,) number of paths from each input to `unit` of `layer` (L+1 = outputs): the masks' product."""
    if layer == len(ms.masks):
        return ms.connectivity()[:, unit]
    col = ms.masks[layer - 1][:, unit].astype(np.float64)
    for m in reversed(ms.masks[: layer - 1]):
        col = np.minimum(m.astype(np.float64) @ col, 2.0**62)
    return col.astype(np.int64)


def sees(q: SeeQuestion) -> np.ndarray:
    """(D,) bool: the inputs the unit depends on (a path reaches it): the truth of the question."""
    return path_counts(q.masks, q.layer, q.unit) > 0


def may_see(q: SeeQuestion) -> np.ndarray:
    """(D,) bool: what its degree allows: output m0 < t strictly, hidden m0 <= m."""
    ms = q.masks
    m0 = ms.degrees[0]
    if q.is_output:
        return m0 < m0[q.unit]
    return m0 <= ms.degrees[q.layer][q.unit]


def unit_name(q: SeeQuestion) -> str:
    ms = q.masks
    if q.is_output:
        return f"output {q.unit} (m⁰ = {ms.degrees[0][q.unit]})"
    return f"unit {q.unit} of hidden layer {q.layer} (degree m = {ms.degrees[q.layer][q.unit]})"


def one_path(ms: MaskSet, i: int, layer: int, unit: int) -> list[tuple[int, int]] | None:
    """One path (layer, unit) from input i to `unit` of `layer`, or None: walks the masks backwards
    through units that input i reaches (for "find the forbidden path")."""
    if layer == len(ms.masks) and ms.direct is not None and ms.direct[i, unit]:
        return [(0, i), (layer, unit)]
    reach = [np.zeros(ms.d, dtype=bool)]
    reach[0][i] = True
    for m in ms.masks[: layer - 1]:
        reach.append((reach[-1][:, None] & m).any(axis=0))
    path = [(layer, unit)]
    for l in range(layer - 1, -1, -1):
        prev = np.nonzero(reach[l] & ms.masks[l][:, path[0][1]])[0]
        if not len(prev):
            return None
        path.insert(0, (l, int(prev[0])))
    return path


@dataclass(frozen=True)
class SeeResult:
    right: bool
    hit: list[int]
    missed: list[int]
    extra: list[int]
    lines: list[str]


def grade_see(q: SeeQuestion, guess: np.ndarray) -> SeeResult:
    """Compare the pixels the student chose with the truth (the masks' product) and explain with degrees."""
    truth, guess = sees(q), np.asarray(guess, dtype=bool).ravel()
    if guess.shape != truth.shape:
        raise ValueError(f"the answer has {guess.size} pixels, the image has {truth.size}.")
    hit, missed, extra = (
        np.nonzero(truth & guess)[0].tolist(),
        np.nonzero(truth & ~guess)[0].tolist(),
        np.nonzero(~truth & guess)[0].tolist(),
    )
    right = not missed and not extra
    return SeeResult(right, hit, missed, extra, explain_see(q, missed, extra, right))


def explain_see(q: SeeQuestion, missed: list[int], extra: list[int], right: bool) -> list[str]:
    """The sentences after a "see" answer: the degree rule with this unit's numbers, the forbidden path
    of a broken network, then every missed and every extra pixel with the reason."""
    ms, truth, allowed = q.masks, sees(q), may_see(q)
    head = "Right! " if right else f"Not quite: {len(missed)} pixel(s) missed and {len(extra)} extra. "
    lines = [head + _rule(q, ms, int(truth.sum()))]
    forbidden = np.nonzero(truth & ~allowed)[0].tolist()
    if forbidden:
        lines.append(_forbidden_line(q, ms, forbidden))
    return lines + _missed_lines(q, ms, missed, allowed) + _extra_lines(q, ms, extra, allowed)


def _rule(q: SeeQuestion, ms: MaskSet, n_seen: int) -> str:
    """The degree rule of the asked unit, with its numbers (`ms`: the question's masks)."""
    if q.is_output:
        t = int(ms.degrees[0][q.unit])
        return (
            f"Output {q.unit} has m⁰ = {t}: it may see exactly the inputs of order position < {t} that a path "
            f"reaches. Here that is {n_seen} pixel(s)."
        )
    m = int(ms.degrees[q.layer][q.unit])
    return (
        f"Unit {q.unit} of hidden layer {q.layer} has degree m = {m}: it may see only inputs of position "
        f"≤ {m}, and only those a path reaches. Here that is {n_seen} pixel(s)."
    )


def _forbidden_line(q: SeeQuestion, ms: MaskSet, forbidden: list[int]) -> str:
    """Why a broken network sees what it must not, the forbidden pixels, and one forbidden path."""
    m0 = ms.degrees[0]
    why = (
        "the output rule is ≥ instead of >, so an output may use hidden units of its own degree and sees its own pixel"
        if q.cfg.masking == "nonstrict"
        else "there are no masks: every output sees every input"
    )
    i = forbidden[0]
    path = one_path(ms, i, q.layer, q.unit)
    steps = " → ".join(
        f"input {u} (m⁰ = {m0[u]})"
        if l == 0
        else f"output {u}"
        if l == len(ms.masks)
        else f"h{l}[{u}] (m = {ms.degrees[l][u]})"
        for l, u in path or []
    )
    return (
        f"Broken network (masking “{q.cfg.masking}”): {why}. Forbidden: "
        f"{listed([pixel_name(j, q.cfg.shape) for j in forbidden])}. One forbidden path: {steps}."
    )


def _missed_lines(q: SeeQuestion, ms: MaskSet, missed: list[int], allowed: np.ndarray) -> list[str]:
    """A sentence for each missed pixel (up to MAX_NAMED): its position and the paths that reach the unit."""
    shape = q.cfg.shape
    m0 = ms.degrees[0]
    lines = []
    for i in missed[:MAX_NAMED]:
        n = int(path_counts(ms, q.layer, q.unit)[i])
        place = f"position {m0[i]} " + (
            ("< " + str(m0[q.unit])) if q.is_output else ("≤ " + str(ms.degrees[q.layer][q.unit]))
        )
        if not allowed[i]:
            place = f"position {m0[i]}, not allowed by the degree, yet the broken masks"
        lines.append(f"Missed {pixel_name(i, shape)}: {place}, and {n:,} path(s) reach {unit_name(q)} from it.")
    if len(missed) > MAX_NAMED:
        lines.append(f"… and {len(missed) - MAX_NAMED} more missed pixel(s).")
    return lines


def _extra_lines(q: SeeQuestion, ms: MaskSet, extra: list[int], allowed: np.ndarray) -> list[str]:
    """A sentence for each extra pixel (up to MAX_NAMED): allowed but unreached, or not before the unit."""
    shape = q.cfg.shape
    m0 = ms.degrees[0]
    lines = []
    for i in extra[:MAX_NAMED]:
        if allowed[i]:
            lines.append(
                f"Extra {pixel_name(i, shape)}: its position {m0[i]} would be allowed, but no path reaches "
                f"{unit_name(q)} (no hidden unit with a degree in between in some layer)."
            )
        elif q.is_output:
            lines.append(
                f"Extra {pixel_name(i, shape)}: its position {m0[i]} ≥ {m0[q.unit]}, so it is not before "
                f"output {q.unit} in the order" + (" (it is the output's own pixel)." if i == q.unit else ".")
            )
        else:
            lines.append(
                f"Extra {pixel_name(i, shape)}: its position {m0[i]} > {ms.degrees[q.layer][q.unit]}, the "
                f"unit's degree."
            )
    if len(extra) > MAX_NAMED:
        lines.append(f"… and {len(extra) - MAX_NAMED} more extra pixel(s).")
    return lines
