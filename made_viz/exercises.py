"""Guess first, then reveal (issue 14): the questions, their truth and the explanations, with no Streamlit.

Three exercises, each a question drawn from a seeded stream so a teacher's link (`?exercise=see&seed=7`)
gives the whole class the same questions in the same order:

* "see": which inputs can this unit see? The truth is the product of the masks (the number of paths
  from each input), never the student's answer; the explanation uses the degrees (output d with
  m0(d) = t may see exactly the inputs of position < t that a path reaches; hidden degree m: positions <= m).
* "allowed": is the weight from unit k' of layer l-1 to unit k of layer l allowed? Hidden rule
  m^l(k) >= m^{l-1}(k'); output rule m0(d) > m^L(k), strict.
* "real": which of these digits did the model draw? Graded tile by tile; the reveal shows log p(x)
  and the distance to the nearest training digit (the page computes those, this module words them).

Wrong answers always come with sentences that name the pixels, units or tiles and say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .config import Config
from .masks import MaskSet, build_masks

EXERCISES = {
    "see": "Which inputs can this output see?",
    "allowed": "Is this connection allowed?",
    "real": "Real or sampled?",
}
SEE_VARIANTS = {"output": "an output", "hidden": "a hidden unit", "broken": "a broken network"}
BROKEN = ("nonstrict", "off")
MAX_NAMED = 6  # pixels named one by one in an explanation; the rest are counted
MAX_SEED = 2**32 - 1


# ---------------------------------------------------------------------------------------------
# the teacher's link and the question stream


@dataclass(frozen=True)
class Link:
    """What a link asks for: an exercise and a seed (None = not given), and why a part was refused."""

    exercise: str | None = None
    seed: int | None = None
    message: str | None = None


def _last(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else None
    return None if value is None else str(value)


def read_link(params: Mapping[str, Any]) -> Link:
    """The link's `exercise` and `seed`; an unknown or invalid value is dropped with one clear sentence."""
    problems = []
    exercise, raw_seed = _last(params.get("exercise")), _last(params.get("seed"))
    if exercise is not None and exercise not in EXERCISES:
        problems.append(f"exercise “{exercise}” is unknown (use {', '.join(EXERCISES)})")
        exercise = None
    seed = None
    if raw_seed is not None:
        text = raw_seed.strip()
        if text.isdigit() and int(text) <= MAX_SEED:
            seed = int(text)
        else:
            problems.append(f"seed “{raw_seed}” is not a whole number from 0 to {MAX_SEED:,}")
    message = None
    if problems:
        message = "This link's " + " and ".join(problems) + ": you get a random question instead."
    return Link(exercise, seed, message)


def question_rng(seed: int, exercise: str, n: int, variant: str = "") -> np.random.Generator:
    """The random stream of question n of an exercise: the same link gives everyone the same questions."""
    tag = sum(ord(c) * 31**i for i, c in enumerate(exercise + ":" + variant)) % 2**32
    return np.random.default_rng([seed, tag, n])


def record(score: Mapping[str, tuple[int, int]], exercise: str, right: bool) -> dict[str, tuple[int, int]]:
    """The score after one more answered question: (right, asked) per exercise."""
    out = dict(score)
    r, asked = out.get(exercise, (0, 0))
    out[exercise] = (r + bool(right), asked + 1)
    return out


def pixel_name(i: int, shape: tuple[int, int] | None) -> str:
    if shape is None or shape[0] == 1:
        return f"pixel {i}"
    return f"pixel {i} (row {i // shape[1]}, col {i % shape[1]})"


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    return shown + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")


# ---------------------------------------------------------------------------------------------
# "Which inputs can this unit see?"


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
    ms, shape = q.masks, q.cfg.shape
    m0, truth, allowed = ms.degrees[0], sees(q), may_see(q)
    if q.is_output:
        t = int(m0[q.unit])
        rule = (
            f"Output {q.unit} has m⁰ = {t}: it may see exactly the inputs of order position < {t} that a path "
            f"reaches. Here that is {int(truth.sum())} pixel(s)."
        )
    else:
        m = int(ms.degrees[q.layer][q.unit])
        rule = (
            f"Unit {q.unit} of hidden layer {q.layer} has degree m = {m}: it may see only inputs of position "
            f"≤ {m}, and only those a path reaches. Here that is {int(truth.sum())} pixel(s)."
        )
    head = "Right! " if right else f"Not quite: {len(missed)} pixel(s) missed and {len(extra)} extra. "
    lines = [head + rule]
    forbidden = np.nonzero(truth & ~allowed)[0].tolist()
    if forbidden:
        why = (
            "the output rule is ≥ instead of >, so an output may use hidden units of its own degree and "
            "sees its own pixel"
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
        lines.append(
            f"Broken network (masking “{q.cfg.masking}”): {why}. Forbidden: "
            f"{_listed([pixel_name(j, shape) for j in forbidden])}. One forbidden path: {steps}."
        )
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


# categories of the reveal figure: colour AND marker differ, so they read in grey print and for colour-blind eyes
NOT_SEEN, RIGHT, MISSED, EXTRA = 0, 1, 2, 3
# category: (name, marker colour, marker, cell tint)
REVEAL_STYLE = {
    RIGHT: ("right", "#15803d", "circle", "#bbf7d0"),
    MISSED: ("missed", "#c2410c", "x-thin-open", "#fed7aa"),
    EXTRA: ("extra", "#6d28d9", "triangle-up-open", "#ddd6fe"),
}


def reveal_categories(truth: np.ndarray, guess: np.ndarray) -> np.ndarray:
    truth, guess = np.asarray(truth, bool).ravel(), np.asarray(guess, bool).ravel()
    return np.where(truth & guess, RIGHT, np.where(truth, MISSED, np.where(guess, EXTRA, NOT_SEEN)))


def reveal_figure(
    cats: np.ndarray, positions: np.ndarray, shape: tuple[int, int] | None, target: int | None, height: int = 420
) -> go.Figure:
    """The image grid after the reveal: each pixel's category by colour and by marker, its order
    position written in the cell (D <= 100), the asked output's own pixel outlined."""
    d = len(cats)
    h, w = (1, d) if shape is None else shape
    rows, cols = np.divmod(np.arange(d), w)
    colours = ["#f3f4f6"] + [REVEAL_STYLE[c][3] for c in (RIGHT, MISSED, EXTRA)]
    scale = [[v, colours[int(k)]] for k in range(4) for v in (k / 4, (k + 1) / 4)]
    fig = go.Figure(
        go.Heatmap(
            z=(cats.astype(float) + 0.5).reshape(h, w) / 4,
            zmin=0,
            zmax=1,
            colorscale=scale,
            showscale=False,
            xgap=1,
            ygap=1,
            customdata=positions.reshape(h, w),
            hovertemplate="position %{customdata}<extra></extra>",
        )
    )
    cell = (height - 40) / h
    size = max(8, int(0.38 * cell))
    numbered = d <= 100  # then the marker sits top left and the position bottom right, neither hides the other
    shift = 0.2 if numbered else 0.0
    for cat, (name, colour, symbol, _) in REVEAL_STYLE.items():
        on = cats == cat
        fig.add_trace(
            go.Scatter(
                x=cols[on] - shift,
                y=rows[on] - shift,
                mode="markers",
                name=f"{name} ({int(on.sum())})",
                marker=dict(symbol=symbol, size=size, color=colour, line=dict(width=3, color=colour)),
                hoverinfo="skip",
            )
        )
    if numbered:
        fig.add_trace(
            go.Scatter(
                x=cols + 0.18,
                y=rows + 0.2,
                mode="text",
                text=[str(p) for p in positions],
                showlegend=False,
                textfont=dict(size=max(11, int(0.3 * cell)), color="#111827"),
                hoverinfo="skip",
            )
        )
    if target is not None:
        fig.add_shape(
            type="rect",
            x0=target % w - 0.5,
            x1=target % w + 0.5,
            y0=target // w - 0.5,
            y1=target // w + 0.5,
            line=dict(color="#111827", width=4, dash="dot"),
        )
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain", fixedrange=True)
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5], constrain="domain", fixedrange=True)
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        paper_bgcolor="rgba(0,0,0,0)",
        legend=dict(orientation="h", y=-0.02, yanchor="top", font=dict(size=18)),
    )
    return fig


# ---------------------------------------------------------------------------------------------
# "Is this connection allowed?"


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


# ---------------------------------------------------------------------------------------------
# "Real or sampled?"


@dataclass(frozen=True)
class RealQuestion:
    is_sample: tuple[bool, ...]  # per tile
    test_rows: tuple[int, ...]  # which test images fill the real tiles, in tile order
    sample_seed: int  # seed of the model's samples that fill the others


def make_real_question(n_test: int, rng: np.random.Generator, tiles: int = 8) -> RealQuestion:
    """A grid of `tiles` images, between 2 and tiles-2 of them drawn by the model, shuffled."""
    n_samples = int(rng.integers(2, tiles - 1))
    is_sample = np.zeros(tiles, dtype=bool)
    is_sample[rng.choice(tiles, n_samples, replace=False)] = True
    rows = rng.choice(n_test, tiles - n_samples, replace=False)
    return RealQuestion(tuple(map(bool, is_sample)), tuple(int(r) for r in rows), int(rng.integers(2**31)))


def grade_real(q: RealQuestion, marked, log_p, nn_dist) -> tuple[bool, int, list[str]]:
    """(all right, tiles right, sentences): every tile marked wrongly gets its numbers and the reason."""
    truth, marked = np.asarray(q.is_sample, bool), np.asarray(marked, bool)
    wrong = np.nonzero(truth != marked)[0]
    lines = [
        f"{len(truth) - len(wrong)} of {len(truth)} tiles right. The model's samples were tiles "
        f"{', '.join(str(i + 1) for i in np.nonzero(truth)[0])}."
    ]
    for i in wrong:
        numbers = f"log p(x) = {log_p[i]:.1f} nats, nearest training digit {int(nn_dist[i])} pixels away"
        if truth[i]:
            lines.append(
                f"Tile {i + 1} is a sample (you took it for real): {numbers}. The model drew it pixel by "
                "pixel; it copies no training digit."
            )
        else:
            lines.append(
                f"Tile {i + 1} is a real test digit (you took it for a sample): {numbers}. The model never "
                "trained on it; a real digit can still look odd."
            )
    return not len(wrong), int(len(truth) - len(wrong)), lines
