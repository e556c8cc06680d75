"""The animation's buttons: Play, Pause, one step back or forward, Replay (plotly buttons, played by
the browser), and the tag that names a figure's frames.

The browser plays the animation, so only the browser knows where it stands: the Step buttons are
plotly buttons, not server buttons. plotly.animate(frames, {fromcurrent: true}) drops the frames of
the list up to the first one named like the frame on show (when that one is neither first nor last
in the list) and plays the rest. A Step button hands it a list in which every frame is followed by
its neighbour, the first entry holding for good (HOLD_MS), so one click moves exactly one frame.
"""

from __future__ import annotations

import hashlib

import numpy as np

HOLD_MS = 10**9  # "stay on this frame": the frame after it never comes
NOOP_FRAME = dict(data=[], traces=[])  # an empty first entry: never taken for the frame on show


def step_frames(n_frames: int, start: int, direction: int) -> list[int]:
    """Frame indices for a Step button (direction +1 or -1) of an animation that opens on `start`.

    After the empty entry that leads the list, frame k's first appearance is followed by k + direction
    (clamped at the ends: the end frame is followed by itself). The frame on show before any
    animation ran (plotly knows none) and the frame listed last both get the list's first frame,
    start + direction: so `start` goes last, unless it is the end frame, which is listed first."""
    end = n_frames - 1 if direction > 0 else 0
    nxt = lambda k: min(max(k + direction, 0), n_frames - 1)  # noqa: E731
    chain = [nxt(start)]
    while chain[-1] != end:
        chain.append(nxt(chain[-1]))
    chain.append(end)
    far = range(0, start) if direction > 0 else range(n_frames - 1, start, -1)
    return chain + list(far) + ([start] if start != end else [])


def step_button(label: str, names: list[str], start: int, direction: int) -> dict:
    """A Step button moving one frame in `direction` from frame `start` (see `step_frames`)."""
    listed = [NOOP_FRAME] + [names[k] for k in step_frames(len(names), start, direction)]
    return dict(
        label=label,
        method="animate",
        args=[
            listed,
            dict(
                mode="immediate",
                fromcurrent=True,
                transition=dict(duration=0),
                frame=[dict(duration=0, redraw=False), dict(duration=HOLD_MS, redraw=True)],
            ),
        ],
    )


def controls(names: list[str], start: int, speed_ms: int) -> dict:
    """The button row under the animation: Play (from the frame on show), Pause, one frame back or
    forward, Replay (from the start)."""
    play = dict(frame=dict(duration=int(speed_ms), redraw=True), transition=dict(duration=0), mode="immediate")
    pause = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate")
    return dict(
        type="buttons",
        direction="left",
        x=0.0,
        y=-0.05,
        xanchor="left",
        yanchor="top",
        pad=dict(t=0, r=0),
        showactive=False,
        font=dict(size=13),
        buttons=[
            dict(label="▶ Play", method="animate", args=[None, dict(play, fromcurrent=True)]),
            dict(label="❚❚ Pause", method="animate", args=[[None], pause]),
            step_button("◀ Step", names, start, -1),
            step_button("Step ▶", names, start, +1),
            dict(label="⟲ Replay", method="animate", args=[None, dict(play, fromcurrent=False)]),
        ],
    )


def figure_tag(*parts) -> str:
    """A short content hash prefixed to frame names: a new figure in the same chart (other samples,
    speed, …) never mistakes the old figure's frame on show for one of its own."""
    h = hashlib.blake2b(digest_size=4)
    for part in parts:
        h.update(np.ascontiguousarray(part).tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
    return h.hexdigest()
