"""The teacher's link and the question stream: a link (`?exercise=see&seed=7`) names an exercise and a
seed, and question n of an exercise is drawn from its own seeded stream, so the whole class gets the
same questions in the same order; the score counts right answers per exercise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

EXERCISES = {
    "see": "Which inputs can this output see?",
    "allowed": "Is this connection allowed?",
    "real": "Real or sampled?",
}


MAX_SEED = 2**32 - 1


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
