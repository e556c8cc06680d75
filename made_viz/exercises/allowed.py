""" "Is this connection allowed?" The weight from unit k' of layer l-1 to unit k of layer l: hidden
rule m^l(k) >= m^{l-1}(k'); output rule m0(d) > m^L(k), strict."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..masks import build_masks


@dataclass(frozen=True)
class EdgeQuestion:
    cfg: Config
    mask: int
    layer: int  # the receiving layer l: 1..L hidden, L+1 = the outputs
    src: int  # unit k' of layer l-1 (an input when l = 1)
    dst: int  # unit k of layer l


def make_edge_question(cfg: Config, mask: int, rng: np.random.Generator) -> EdgeQuestion:
    """A random pair of units in consecutive layers of the true MADE; "allowed" and "not allowed" equally
    likely whenever the mask has both."""
    q_cfg = cfg.replace(masking="made")
    ms = build_masks(q_cfg, mask)
    layer = int(rng.integers(1, len(ms.masks) + 1))
    m = ms.masks[layer - 1]
    want = bool(rng.integers(2))
    pairs = np.argwhere(m == want)
    if not len(pairs):
        pairs = np.argwhere(m == (not want))
    src, dst = pairs[int(rng.integers(len(pairs)))]
    return EdgeQuestion(q_cfg, mask, layer, int(src), int(dst))


def edge_allowed(q: EdgeQuestion) -> bool:
    return bool(build_masks(q.cfg, q.mask).masks[q.layer - 1][q.src, q.dst])


def edge_units(q: EdgeQuestion) -> tuple[str, str]:
    """How the page names the two units, with their degrees."""
    ms = build_masks(q.cfg, q.mask)
    n_layers = len(ms.masks)
    src = (
        f"input {q.src} (m⁰ = {ms.degrees[0][q.src]})"
        if q.layer == 1
        else f"hidden layer {q.layer - 1}, unit {q.src} (m = {ms.degrees[q.layer - 1][q.src]})"
    )
    dst = (
        f"output {q.dst} (m⁰ = {ms.degrees[0][q.dst]})"
        if q.layer == n_layers
        else f"hidden layer {q.layer}, unit {q.dst} (m = {ms.degrees[q.layer][q.dst]})"
    )
    return src, dst


def edge_rule(q: EdgeQuestion) -> str:
    """The rule with this pair's numbers filled in, and why it is the rule."""
    ms = build_masks(q.cfg, q.mask)
    a = int(ms.degrees[q.layer - 1][q.src])
    if q.layer == len(ms.masks):
        t = int(ms.degrees[0][q.dst])
        ok = t > a
        return (
            f"Output rule (strict): m⁰(d) > mᴸ(k), here {t} > {a} is {'true' if ok else 'false'}. Output {q.dst} "
            f"must see only positions < {t}; the sending unit may carry positions up to {a}, so the weight is "
            + ("allowed." if ok else f"forbidden ({a} ≥ {t} would leak position {t} or later into it).")
        )
    b = int(ms.degrees[q.layer][q.dst])
    ok = b >= a
    return (
        f"Hidden rule: mˡ(k) ≥ mˡ⁻¹(k'), here {b} ≥ {a} is {'true' if ok else 'false'}. The receiving unit may "
        f"depend on positions up to {b}; the sending one carries positions up to {a}, so the weight is "
        + ("allowed." if ok else f"forbidden (it would bring positions up to {a} into a unit promised ≤ {b}).")
    )


def grade_edge(q: EdgeQuestion, answer: bool) -> tuple[bool, list[str]]:
    truth = edge_allowed(q)
    right = bool(answer) == truth
    said = "allowed" if answer else "not allowed"
    head = "Right! " if right else f"Not quite: you said {said}, but it is {'allowed' if truth else 'not allowed'}. "
    return right, [head + edge_rule(q)]
