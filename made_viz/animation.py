"""Figures for the Sample page: the pixel-by-pixel animation, nearest neighbours and GIF export
(plotly, numpy, pillow; no streamlit, no torch). The likelihood lens's figures are in made_viz.lens_figures.

The animation is computed once and played by the browser. To keep what is sent small even at
D = 784, every frame changes only a few numbers:
  * the finished samples (and the conditional probability of every pixel when it was drawn)
    are sent once, as static uint8 heatmaps;
  * a "cover" heatmap on top holds, per pixel, its position in the generation order (uint16).
    A frame only changes the cover's colour scale: positions <= t are transparent (drawn),
    later ones are painted "not drawn yet". So a frame costs a colour scale, the current pixel
    of each sample and its probability label — about 1 kB, whatever D is.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .images import GAP, GIVEN_INK, GIVEN_PAPER, INK, PAPER, UNSET, Grid, image_hw, make_grid

# the likelihood lens's figures have their own module; the Sample page still finds them here
from .lens_figures import SURPRISE_SCALE, canvas_figure, chain_rule_figure, lens_figure  # noqa: F401
from .style import hex_to_rgb

# colours (pixel colours, given pixels and tile gaps: made_viz.images)
CURRENT = "#dc2626"  # the pixel being drawn
NEIGHBOUR_INK = "#1d4ed8"  # nearest training image
PATH = "rgba(234, 88, 12, 0.6)"
CLEAR = "rgba(0,0,0,0)"
PROB_SCALE = [[0.0, PAPER], [0.5, "#f97316"], [1.0, INK]]  # p = 0 white, 0.5 orange, 1 ink
SPEEDS = {"slow": 400, "normal": 150, "fast": 60}  # milliseconds per frame (a redraw takes ~50 ms)

# The animation figure has one pair of axes and four traces; frames update only the last two.
T_STATIC, T_PATH, T_COVER, T_MARKS = range(4)
DYNAMIC = [T_COVER, T_MARKS]
# the static layer holds codes 0 paper, 1 ink, 2 given paper, 3 given ink, 5 nothing (transparent)
# and probabilities as 10 + round(100 p) (10..110), all under one colour scale (zmin -0.5, zmax 110)
_ZMAX = 110.0
_P0 = 10


def _u(z: float) -> float:
    return (z + 0.5) / (_ZMAX + 0.5)


_STATIC_SCALE = [
    [0, PAPER],
    [_u(0.5), PAPER],
    [_u(0.5), INK],
    [_u(1.5), INK],
    [_u(1.5), GIVEN_PAPER],
    [_u(2.5), GIVEN_PAPER],
    [_u(2.5), GIVEN_INK],
    [_u(3.5), GIVEN_INK],
    [_u(3.5), CLEAR],
    [_u(_P0 - 0.5), CLEAR],
] + [[_u(_P0) + f * (1 - _u(_P0)), c] for f, c in PROB_SCALE]
_COVER_SCALE = [[0, CLEAR], [0.5, CLEAR], [0.5, UNSET], [1, UNSET]]


def ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


# ---------------------------------------------------------------------------------------------
# which steps become frames


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


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def cover_range(step: int, d: int) -> tuple[float, float]:
    """(zmin, zmax) of the cover after `step` steps. The cover holds each pixel's position in the
    order (1..D) under a fixed two-colour scale that switches at its middle: centring the range
    on step + 0.5 makes positions <= step transparent (drawn) and later ones 'not drawn yet'."""
    mid = step + 0.5
    return mid - (d + 1), mid + (d + 1)


# ---------------------------------------------------------------------------------------------
# the browser's controls: Play, Pause, Step, Replay and the step slider
#
# The browser plays the animation, so only the browser knows where it stands: the Step buttons are
# plotly buttons, not server buttons. plotly.animate(frames, {fromcurrent: true}) drops the frames of
# the list up to the first one named like the frame on show (when that one is neither first nor last
# in the list) and plays the rest. A Step button hands it a list in which every frame is followed by
# its neighbour, the first entry holding for good (HOLD_MS), so one click moves exactly one frame.

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


def _step_button(label: str, names: list[str], start: int, direction: int) -> dict:
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


def _controls(names: list[str], start: int, speed_ms: int) -> dict:
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
            _step_button("◀ Step", names, start, -1),
            _step_button("Step ▶", names, start, +1),
            dict(label="⟲ Replay", method="animate", args=[None, dict(play, fromcurrent=False)]),
        ],
    )


def _slider(names: list[str], labels: list[str]) -> dict:
    """One slider step per frame; its caption ("Step 246 / 784 · pixel …") names the frame on show."""
    jump = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))
    steps = [dict(method="animate", label=label, args=[[name], jump]) for name, label in zip(names, labels)]
    return dict(
        active=0,
        steps=steps,
        x=0.61,
        len=0.39,
        y=-0.01,
        yanchor="top",
        pad=dict(t=0, b=0),
        font=dict(color=CLEAR, size=1),
        ticklen=0,
        minorticklen=0,
        currentvalue=dict(prefix="Step ", visible=True, xanchor="left", font=dict(size=15, color=INK)),
    )


def _figure_tag(*parts) -> str:
    """A short content hash prefixed to frame names: a new figure in the same chart (other samples,
    speed, …) never mistakes the old figure's frame on show for one of its own."""
    h = hashlib.blake2b(digest_size=4)
    for part in parts:
        h.update(np.ascontiguousarray(part).tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# the animation


@dataclass(frozen=True)
class _Layers:
    """What the browser receives once: the static heatmap (samples | probabilities) and the cover."""

    grid: Grid
    off: int  # x offset of the right panel
    static: np.ndarray  # uint8 codes (see _STATIC_SCALE)
    cover: np.ndarray  # uint16 order positions; 0 = always transparent


def _layers(x: np.ndarray, probs: np.ndarray, order: np.ndarray, known: np.ndarray, grid: Grid) -> _Layers:
    n, d = x.shape
    gh, gw = grid.size
    off = gw + max(3, gw // 8)
    pos = np.empty(d, dtype=np.int64)
    pos[order] = np.arange(1, d + 1)
    static = np.full((gh, off + gw), 5, dtype=np.uint8)
    static[:, :gw] = grid.mosaic(x.astype(np.uint8) + 2 * known, fill=5)
    static[:, off:] = grid.mosaic(np.where(known, 2 + x, _P0 + np.rint(probs * 100)), fill=5)
    half = grid.mosaic(np.where(known, 0, pos[None, :].repeat(n, 0)), fill=0)
    cover = np.zeros((gh, off + gw), dtype=np.uint16)
    cover[:, :gw], cover[:, off:] = half, half
    return _Layers(grid, off, static, cover)


def _frame(step: int, x, probs, order, known, lay: _Layers, label_xy, two_d: bool) -> tuple[dict, str]:
    """The frame after `step` steps (cover range; red squares on the pixel just drawn, its p→value
    under each tile) and its slider label."""
    n, d = x.shape
    grid, off = lay.grid, lay.off
    lab_x, lab_y = label_xy
    if step >= 1:
        pix = int(order[step - 1])
        cells = [grid.cell(j, pix) if not known[j, pix] else (None, None) for j in range(n)]
        mx = [c for _, c in cells] + [None if c is None else c + off for _, c in cells] + lab_x
        my = [r for r, _ in cells] * 2 + lab_y
        text = [""] * (2 * n) + (
            [f"{probs[j, pix]:.2f}→{int(x[j, pix])}" if not known[j, pix] else "given" for j in range(n)]
            if lab_x
            else []
        )
        where = f"pixel (row {pix // grid.w}, col {pix % grid.w})" if two_d else f"pixel {pix}"
        label = f"{step} / {d} · {where}"
    else:
        mx, my, text = [None] * (2 * n) + lab_x, [None] * (2 * n) + lab_y, [""] * (2 * n + len(lab_x))
        label = f"0 / {d} · nothing drawn yet"
    z0, z1 = cover_range(step, d)
    return dict(traces=DYNAMIC, data=[go.Heatmap(zmin=z0, zmax=z1), go.Scatter(x=mx, y=my, text=text)]), label


def _traces(lay: _Layers, order: np.ndarray, show_order: bool, n_labels: int, start_step: int) -> list:
    """The four traces (T_STATIC, T_PATH, T_COVER, T_MARKS) and the colour bar's stand-in."""
    grid, n = lay.grid, lay.grid.n
    px, py = [], []
    if show_order:
        for i in range(n):
            rc = [grid.cell(i, p) for p in order]
            px += [c for _, c in rc] + [None]
            py += [r for r, _ in rc] + [None]
    z0, z1 = cover_range(start_step, len(order))
    # plain lists, not typed arrays: plotly.js drops typed-array heatmaps when it redraws a frame
    return [
        go.Heatmap(z=lay.static, zmin=-0.5, zmax=_ZMAX, colorscale=_STATIC_SCALE, showscale=False, hoverinfo="skip"),
        go.Scatter(x=px, y=py, mode="lines", line=dict(color=PATH, width=1.2), hoverinfo="skip"),
        go.Heatmap(z=lay.cover, zmin=z0, zmax=z1, colorscale=_COVER_SCALE, showscale=False, hoverinfo="skip"),
        # one scatter for everything that moves: n + n current-pixel markers, then the probability labels
        go.Scatter(
            x=[],
            y=[],
            mode="markers+text",
            hoverinfo="skip",
            textfont=dict(size=13, color=INK),
            cliponaxis=False,
            marker=dict(
                symbol="square-open",
                size=[11] * (2 * n) + [0] * n_labels,
                color=CURRENT,
                line=dict(width=2.5, color=CURRENT),
            ),
        ),
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            hoverinfo="skip",
            marker=dict(
                color=[0],
                cmin=0,
                cmax=1,
                colorscale=PROB_SCALE,
                showscale=True,
                colorbar=dict(
                    title=dict(text="p(x=1)", side="top"), tickvals=[0, 0.5, 1], thickness=12, len=0.7, y=0.55
                ),
            ),
        ),
    ]


def _panel_layout(lay: _Layers, bottom: int, height: int | None) -> dict:
    """Titles, tile outlines, axes and height of the two panels."""
    grid, off = lay.grid, lay.off
    gw = grid.size[1]
    if height is None:  # fit the grid's aspect in a plot area about 540 px wide (+ title, buttons)
        height = int(np.clip(540 * bottom / (off + gw) + 120, 250, 470))
    outline = dict(type="rect", line=dict(color=GAP, width=1), fillcolor=CLEAR, layer="below")
    shapes = [
        dict(outline, x0=c0 - 0.5 + dx, x1=c0 + grid.w - 0.5 + dx, y0=r0 - 0.5, y1=r0 + grid.h - 0.5)
        for dx in (0, off)
        for r0, c0 in (grid.origin(i) for i in range(grid.n))
    ]
    title = dict(y=1, yref="paper", yanchor="bottom", showarrow=False, font=dict(size=15))
    return dict(
        height=height,
        margin=dict(l=0, r=0, t=30, b=80),
        showlegend=False,
        font=dict(size=14),
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
        shapes=shapes,
        annotations=[
            dict(title, x=(gw - 1) / 2, text="<b>Samples</b>, pixel by pixel"),
            dict(title, x=off + (gw - 1) / 2, text="<b>p(x<sub>d</sub> = 1 | earlier pixels)</b> when drawn"),
        ],
        xaxis=dict(visible=False, constrain="domain", range=[-0.5, off + gw - 0.5]),
        yaxis=dict(visible=False, range=[bottom - 0.5, -0.5], scaleanchor="x", constrain="domain"),
    )


def animation_figure(
    traj,
    shape: tuple[int, int] | None,
    cols: int | None = None,
    plan: FramePlan | None = None,
    show_order: bool = False,
    speed_ms: int = SPEEDS["normal"],
    height: int | None = None,
    start_frame: int = -1,
    labels: bool | None = None,
) -> go.Figure:
    """Samples filling in pixel by pixel (left) beside p(x_d = 1 | x_<d) of each pixel when it was
    drawn (right), with "p→value" under each tile (default: up to 16 samples). The browser plays it:
    Play, Pause, one step back or forward, Replay and a step slider are part of the figure. Both panels
    share one pair of axes and one static heatmap, so a frame redraws only the cover heatmap and one
    scatter of markers and labels."""
    x, probs, order = _np(traj.x), _np(traj.probs), _np(traj.order).astype(np.int64)
    n, d = x.shape
    known = np.zeros((n, d), dtype=bool) if traj.known is None else _np(traj.known).astype(bool)
    plan = plan or frame_plan(order, known)
    labels = n <= 16 if labels is None else labels
    lay = _layers(x, probs, order, known, make_grid(n, shape, d, cols, label_rows=labels))
    grid = lay.grid
    label_xy = (
        [grid.origin(i)[1] + lay.off + grid.w / 2 - 0.5 for i in range(n)] if labels else [],
        [grid.origin(i)[0] + grid.h + grid.pad_y / 2 - 0.5 for i in range(n)] if labels else [],
    )
    tag = _figure_tag(x, probs, order, known, plan.steps, show_order, speed_ms, cols, labels, height)
    names = [f"{tag}-{i}" for i in range(plan.n_frames)]
    built = [_frame(s, x, probs, order, known, lay, label_xy, grid.h > 1) for s in plan.steps]
    fig = go.Figure(_traces(lay, order, show_order, len(label_xy[0]), plan.steps[0]))
    fig.frames = [go.Frame(name=name, **frame) for name, (frame, _) in zip(names, built)]
    bottom = grid.size[0] + (grid.pad_y if labels else 0)  # the last row's labels
    fig.update_layout(
        _panel_layout(lay, bottom, height),
        meta=dict(panel_width=grid.size[1], right_panel_x=lay.off, steps=list(plan.steps)),
        updatemenus=[_controls(names, 0, speed_ms)],
        sliders=[_slider(names, [lb for _, lb in built])],
    )
    return set_frame(fig, start_frame)


def set_frame(fig: go.Figure, i: int) -> go.Figure:
    """Show frame i (negative = from the end) as the figure's initial state (in place); the Step
    buttons then move from frame i."""
    i = i % len(fig.frames)
    frame = fig.frames[i]
    fig.data[T_COVER].update(zmin=frame.data[0].zmin, zmax=frame.data[0].zmax)
    fig.data[T_MARKS].update(x=frame.data[1].x, y=frame.data[1].y, text=frame.data[1].text)
    fig.layout.sliders[0].active = i
    names = [f.name for f in fig.frames]
    menu = fig.layout.updatemenus[0]
    menu.buttons = [
        _step_button(b.label, names, i, -1 if b.label == "◀ Step" else +1) if b.label in ("◀ Step", "Step ▶") else b
        for b in menu.buttons
    ]
    return fig


def frame_visible(fig: go.Figure, i: int) -> np.ndarray:
    """What frame i of an animation figure shows on its samples panel, decoded from the figure
    itself: 0 paper, 1 ink, 2/3 given paper/ink, 5 outside the tiles, NaN where the cover
    paints 'not drawn yet'."""
    frame = fig.frames[i].data[0]
    left = fig.layout.meta["panel_width"]
    static = np.asarray(fig.data[T_STATIC].z, dtype=np.float64)[:, :left]
    cover = np.asarray(fig.data[T_COVER].z, dtype=np.float64)[:, :left]
    hidden = (cover - frame.zmin) / (frame.zmax - frame.zmin) > 0.5
    return np.where(hidden, np.nan, static)


def animation_json_size(fig: go.Figure) -> int:
    """Bytes of the figure as sent to the browser (plotly JSON; numpy arrays as typed arrays)."""
    import plotly.io as pio

    return len(pio.to_json(fig, validate=False).encode())


# ---------------------------------------------------------------------------------------------
# GIF export

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

    x, order = _np(traj.x), _np(traj.order)
    n, d = x.shape
    known = np.zeros((n, d), dtype=bool) if traj.known is None else _np(traj.known).astype(bool)
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


# ---------------------------------------------------------------------------------------------
# nearest neighbours: is the model copying?


def neighbours_figure(
    samples: np.ndarray,
    neighbours: np.ndarray,
    distances: np.ndarray,
    shape: tuple[int, int] | None,
    cols: int | None = None,
    height: int = 400,
    log_probs: np.ndarray | None = None,
) -> go.Figure:
    """Each sample (black) beside its nearest training image (blue), Hamming distance below."""
    samples, neighbours = np.asarray(samples), np.asarray(neighbours)
    n, d = samples.shape
    h, w = image_hw(shape, d)
    cols = cols or math.ceil(math.sqrt(n))
    pair = Grid(2, h, w, 2, 1, 1)  # one sample + its neighbour
    ph, pw = pair.size
    outer = Grid(n, ph, pw, cols, max(2, math.ceil(0.25 * w)), max(2, math.ceil(0.3 * h)))
    canvas = np.full(outer.size, np.nan)
    for i in range(n):
        tile2 = pair.mosaic(np.stack([samples[i], 2 * neighbours[i]]), fill=np.nan)
        r0, c0 = outer.origin(i)
        canvas[r0 : r0 + ph, c0 : c0 + pw] = tile2
    scale = [[0, PAPER], [0.25, PAPER], [0.25, INK], [0.75, INK], [0.75, NEIGHBOUR_INK], [1, NEIGHBOUR_INK]]
    fig = go.Figure(go.Heatmap(z=canvas, zmin=-0.5, zmax=2.5, colorscale=scale, showscale=False, hoverinfo="skip"))
    outline = dict(type="rect", line=dict(color=GAP, width=1), fillcolor=CLEAR, layer="below")
    shapes = [
        dict(outline, x0=c0 + dc - 0.5, x1=c0 + dc + w - 0.5, y0=r0 - 0.5, y1=r0 + h - 0.5)
        for r0, c0 in (outer.origin(i) for i in range(n))
        for dc in (0, w + 1)
    ]
    tx, ty, text, colors, hover = [], [], [], [], []
    for i in range(n):
        r0, c0 = outer.origin(i)
        tx.append(c0 + pw / 2 - 0.5)
        ty.append(r0 + ph + outer.pad_y / 2 - 0.5)
        dist = int(distances[i])
        text.append(f"{dist} px" if dist else "0 px: a copy!")
        colors.append(CURRENT if dist == 0 else INK)
        lp = f"<br>log p = {log_probs[i]:.1f} nats" if log_probs is not None else ""
        hover.append(f"sample {i}: Hamming distance {dist} ({dist / d:.0%} of pixels){lp}")
    fig.add_trace(
        go.Scatter(
            x=tx, y=ty, mode="text", text=text, textfont=dict(size=13, color=colors), hovertext=hover, hoverinfo="text"
        )
    )
    oh, ow = outer.size
    fig.update_yaxes(visible=False, range=[oh + outer.pad_y - 0.5, -0.5], scaleanchor="x", constrain="domain")
    fig.update_xaxes(visible=False, range=[-0.5, ow - 0.5], constrain="domain")
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        showlegend=False,
        shapes=shapes,
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def completion_advice(exact: bool, note: str, known: np.ndarray, orders: list[np.ndarray]) -> str:
    """What the page says about a completion: its trajectory's note, and when it is not exact,
    which of the model's masks (generation orders) would put the known pixels first."""
    if exact:
        return f"{note} Each completion is a true sample of p(missing pixels | given pixels)."
    from .sampling import completion_is_exact

    better = [k for k, order in enumerate(orders) if completion_is_exact(order, known)]
    if better:
        return f"{note} Mask {better[0]} of this model puts them first: pick it above for an exact completion."
    return (
        f"{note} None of this model's masks puts them first, and the model was trained with its own orders, "
        "so the app cannot just reorder: what you see is the honest approximate completion."
    )


def known_region(shape: tuple[int, int] | None, d: int, region: str, seed: int = 0) -> np.ndarray:
    """(D,) bool: the pixels given to a completion ("top half", "left half", "bottom half", "random 50%")."""
    h, w = image_hw(shape, d)
    rr, cc = np.divmod(np.arange(d), w)
    if region == "top half":
        return rr < (h + 1) // 2 if h > 1 else cc < (w + 1) // 2
    if region == "bottom half":
        return rr >= h // 2 if h > 1 else cc >= w // 2
    if region == "left half":
        return cc < (w + 1) // 2
    if region == "random 50%":
        return np.random.default_rng(seed).random(d) < 0.5
    raise ValueError(f"unknown region {region!r}")
