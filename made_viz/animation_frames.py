"""Which sampling steps become frames of the animation (and of its GIF): only the steps that draw a
pixel, thinned to at most a given number of frames, always ending on the finished images."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def ordinal(k: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


@dataclass(frozen=True)
class FramePlan:
    """Frame i shows the images after the first steps[i] pixels of the order are set
    (steps[0] = 0: nothing drawn yet; the last frame is always the finished images)."""

    steps: tuple[int, ...]
    every: int  # every k-th drawing step is shown
    drawing_steps: int  # steps that draw something (D, or the unknown pixels of a completion)

    @property
    def n_frames(self) -> int:
        return len(self.steps)

    @property
    def thinned(self) -> bool:
        return self.every > 1

    def describe(self) -> str:
        if self.thinned:
            return f"showing every {ordinal(self.every)} step: {self.n_frames} frames"
        return f"showing all {self.drawing_steps} steps: {self.n_frames} frames"


def frame_plan(
    order: np.ndarray, known: np.ndarray | None = None, max_frames: int = 150, all_steps: bool = False
) -> FramePlan:
    """Choose the steps shown: only steps that draw a pixel (known pixels of a completion are
    there from the start), thinned to every k-th so that there are at most `max_frames` frames,
    always keeping the last step."""
    order = np.asarray(order)
    d = len(order)
    if known is None:
        drawing = np.arange(1, d + 1)
    else:
        known = np.atleast_2d(np.asarray(known, dtype=bool))
        drawing = np.flatnonzero(~known[:, order].all(0)) + 1
    if len(drawing) == 0:
        return FramePlan((0,), 1, 0)
    every = 1 if all_steps else max(1, math.ceil(len(drawing) / max(1, max_frames - 1)))
    shown = list(drawing[every - 1 :: every])
    if not shown or shown[-1] != drawing[-1]:
        shown.append(drawing[-1])
    return FramePlan((0, *(int(s) for s in shown)), every, len(drawing))


def to_numpy(t) -> np.ndarray:
    """A trajectory's tensor (or array) as a numpy array, so the figures need no torch."""
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def cover_range(step: int, d: int) -> tuple[float, float]:
    """(zmin, zmax) of the cover after `step` steps. The cover holds each pixel's position in the
    order (1..D) under a fixed two-colour scale that switches at its middle: centring the range
    on step + 0.5 makes positions <= step transparent (drawn) and later ones 'not drawn yet'."""
    mid = step + 0.5
    return mid - (d + 1), mid + (d + 1)
