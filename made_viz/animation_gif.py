"""The sampling animation as an animated GIF (pillow): a few dozen frames of the grid filling in,
the last one held."""

from __future__ import annotations

import io

import numpy as np

from .animation_frames import FramePlan, frame_plan, to_numpy
from .images import GAP, GIVEN_INK, GIVEN_PAPER, INK, PAPER, UNSET, make_grid
from .style import hex_to_rgb

_GIF_COLOURS = {"paper": PAPER, "ink": INK, "unset": UNSET, "gp": GIVEN_PAPER, "gi": GIVEN_INK, "gap": GAP}


_RGB = {k: np.array(hex_to_rgb(c), dtype=np.uint8) for k, c in _GIF_COLOURS.items()}


def animation_gif(
    traj,
    shape: tuple[int, int] | None,
    cols: int | None = None,
    max_frames: int = 40,
    scale: int = 4,
    ms: int = 80,
    hold_ms: int = 1500,
) -> tuple[bytes, FramePlan]:
    """An animated GIF of the grid filling in (a few dozen frames; the last one is held)."""
    from PIL import Image

    x, order = to_numpy(traj.x), to_numpy(traj.order)
    n, d = x.shape
    known = np.zeros((n, d), dtype=bool) if traj.known is None else to_numpy(traj.known).astype(bool)
    plan = frame_plan(order, known, max_frames=max_frames)
    grid = make_grid(n, shape, d, cols)
    gap = grid.mosaic(np.zeros((n, d)), fill=1) > 0
    kn = grid.mosaic(known, fill=0) > 0
    images = []
    for fr in traj.frames(list(plan.steps)):
        m = grid.mosaic(np.nan_to_num(fr, nan=-1), fill=-1)
        rgb = np.empty((*m.shape, 3), dtype=np.uint8)
        rgb[:] = _RGB["unset"]
        rgb[m == 0] = _RGB["paper"]
        rgb[m == 1] = _RGB["ink"]
        rgb[kn & (m == 0)] = _RGB["gp"]
        rgb[kn & (m == 1)] = _RGB["gi"]
        rgb[gap] = _RGB["gap"]
        img = Image.fromarray(rgb).resize((m.shape[1] * scale, m.shape[0] * scale), Image.NEAREST)
        images.append(img.convert("P", palette=Image.ADAPTIVE, colors=8))
    buf = io.BytesIO()
    durations = [ms] * (len(images) - 1) + [hold_ms]
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return buf.getvalue(), plan
