"""The pixel-by-pixel sampling animation of the Sample page as a plotly figure (plotly, numpy; no
streamlit, no torch). The likelihood lens's figures are in made_viz.lens_figures.

The animation is computed once and played by the browser. To keep what is sent small even at
D = 784, every frame changes only a few numbers:
  * the finished samples (and the conditional probability of every pixel when it was drawn)
    are sent once, as static uint8 heatmaps;
  * a "cover" heatmap on top holds, per pixel, its position in the generation order (uint16).
    A frame only changes the cover's colour scale: positions <= t are transparent (drawn),
    later ones are painted "not drawn yet". So a frame costs a colour scale, the current pixel
    of each sample and its probability label — about 1 kB, whatever D is.

The frames shown are chosen in `animation_frames`, the buttons are `animation_controls`; the GIF
export, the nearest-neighbours figure and the completion helpers have their own modules and are
handed on here for the Sample page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .animation_controls import HOLD_MS, NOOP_FRAME, controls, figure_tag, step_button, step_frames
from .animation_frames import FramePlan, cover_range, frame_plan, ordinal, to_numpy
from .animation_gif import animation_gif
from .completion import completion_advice, known_region
from .images import GAP, GIVEN_INK, GIVEN_PAPER, INK, PAPER, UNSET, Grid, make_grid
from .neighbours_figure import neighbours_figure
from .plot_parts import top_copy
from .sample_colours import CLEAR, CURRENT, NEIGHBOUR_INK, PATH

__all__ = [
    "CLEAR",
    "CURRENT",
    "DYNAMIC",
    "HOLD_MS",
    "NEIGHBOUR_INK",
    "NOOP_FRAME",
    "PATH",
    "PROB_SCALE",
    "SPEEDS",
    "T_COVER",
    "T_MARKS",
    "T_PATH",
    "T_STATIC",
    "AnimationFigure",
    "FramePlan",
    "animation_figure",
    "animation_gif",
    "animation_json_size",
    "completion_advice",
    "cover_range",
    "frame_plan",
    "frame_visible",
    "known_region",
    "neighbours_figure",
    "ordinal",
    "set_frame",
    "step_frames",
]

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


# ---------------------------------------------------------------------------------------------
# the animation


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
    # plain JSON-ready dicts (what go.Frame(...).to_plotly_json() gives): see AnimationFigure
    data = [
        {"type": "heatmap", "zmin": float(z0), "zmax": float(z1)},
        {"type": "scatter", "x": _plain(mx), "y": _plain(my), "text": list(text)},
    ]
    return dict(traces=list(DYNAMIC), data=data), label


def _plain(values: list) -> list:
    """Python numbers (or None) for a frame's coordinates, as plotly's validation would leave them."""
    return [v if v is None or isinstance(v, (int, float)) and not isinstance(v, bool) else v.item() for v in values]


class AnimationFigure(go.Figure):
    """The animation's figure: a go.Figure whose frames are kept as the plain dicts plotly.js reads.

    Validating ~150 go.Frame objects (each a heatmap and a scatter of a few dozen points) took about
    0.1 s of server CPU every time a student pressed "New seed", more than the sampling; the frames are
    built already in plotly's JSON form, so nothing needs checking. `frames` still reads as validated
    go.Frame objects (built on first read, for tests and tools), `to_dict()` (what st.plotly_chart and
    the HTML export send) puts the dicts in as they are: the figure's frames are not changed after it is
    built (set `frames` to replace them)."""

    def __init__(self, data=None, layout=None, frames=None, **kwargs):
        if isinstance(data, go.Figure):
            data = data.to_dict()
        if isinstance(data, dict) and "frames" in data:  # a copy, or unpickling: a figure's dict
            data = dict(data)
            frames = data.pop("frames")
        kwargs.setdefault("_validate", False)  # see the class doc: tests validate what is built
        super().__init__(data, layout, **kwargs)
        self._raw_frames: list[dict] = []
        self._frames_read: tuple | None = None
        if frames:
            self.frames = frames

    @property
    def frames(self) -> tuple:
        if self._frames_read is None:
            self._frames_read = tuple(go.Frame(f) for f in self._raw_frames)
        return self._frames_read

    @frames.setter
    def frames(self, value) -> None:
        self._raw_frames = [f.to_plotly_json() if isinstance(f, go.Frame) else dict(f) for f in value or ()]
        self._frames_read = None

    @property
    def frame_dicts(self) -> list[dict]:
        """The frames as sent (read-only by convention)."""
        return self._raw_frames

    def to_dict(self) -> dict:
        whole = self.__dict__.get("_whole")
        if whole is not None:  # frozen: a fresh top-level dict around the same, never mutated, parts
            return top_copy(whole)
        out = super().to_dict()
        if self._raw_frames:
            out["frames"] = list(self._raw_frames)
        return out

    def freeze(self) -> AnimationFigure:
        """Mark the figure finished: `to_dict()` is computed once and then handed out without the deep copy
        plotly makes of every trace on every call (st.plotly_chart calls it on every page run; a figure
        several sessions share is read on each of theirs). Changes made after this do not show: freeze
        only a figure nothing changes any more."""
        self._whole = None
        self._whole = self.to_dict()
        return self


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
    x, probs, order = to_numpy(traj.x), to_numpy(traj.probs), to_numpy(traj.order).astype(np.int64)
    n, d = x.shape
    known = np.zeros((n, d), dtype=bool) if traj.known is None else to_numpy(traj.known).astype(bool)
    plan = plan or frame_plan(order, known)
    labels = n <= 16 if labels is None else labels
    lay = _layers(x, probs, order, known, make_grid(n, shape, d, cols, label_rows=labels))
    grid = lay.grid
    label_xy = (
        [grid.origin(i)[1] + lay.off + grid.w / 2 - 0.5 for i in range(n)] if labels else [],
        [grid.origin(i)[0] + grid.h + grid.pad_y / 2 - 0.5 for i in range(n)] if labels else [],
    )
    tag = figure_tag(x, probs, order, known, plan.steps, show_order, speed_ms, cols, labels, height)
    names = [f"{tag}-{i}" for i in range(plan.n_frames)]
    built = [_frame(s, x, probs, order, known, lay, label_xy, grid.h > 1) for s in plan.steps]
    fig = AnimationFigure(_traces(lay, order, show_order, len(label_xy[0]), plan.steps[0]))
    fig.frames = [{"name": name, **frame} for name, (frame, _) in zip(names, built)]
    bottom = grid.size[0] + (grid.pad_y if labels else 0)  # the last row's labels
    fig.update_layout(
        _panel_layout(lay, bottom, height),
        meta=dict(panel_width=grid.size[1], right_panel_x=lay.off, steps=list(plan.steps)),
        updatemenus=[controls(names, 0, speed_ms)],
        sliders=[_slider(names, [lb for _, lb in built])],
    )
    return set_frame(fig, start_frame)


def set_frame(fig: go.Figure, i: int) -> go.Figure:
    """Show frame i (negative = from the end) as the figure's initial state (in place); the Step
    buttons then move from frame i."""
    frames = _frame_dicts(fig)
    i = i % len(frames)
    cover, marks = frames[i]["data"]
    fig.data[T_COVER].update(zmin=cover["zmin"], zmax=cover["zmax"])
    fig.data[T_MARKS].update(x=marks["x"], y=marks["y"], text=marks["text"])
    fig.layout.sliders[0].active = i
    names = [f["name"] for f in frames]
    menu = fig.layout.updatemenus[0]
    menu.buttons = [
        step_button(b.label, names, i, -1 if b.label == "◀ Step" else +1) if b.label in ("◀ Step", "Step ▶") else b
        for b in menu.buttons
    ]
    return fig


def _frame_dicts(fig: go.Figure) -> list[dict]:
    return fig.frame_dicts if isinstance(fig, AnimationFigure) else [f.to_plotly_json() for f in fig.frames]


def frame_visible(fig: go.Figure, i: int) -> np.ndarray:
    """What frame i of an animation figure shows on its samples panel, decoded from the figure
    itself: 0 paper, 1 ink, 2/3 given paper/ink, 5 outside the tiles, NaN where the cover
    paints 'not drawn yet'."""
    z = _frame_dicts(fig)[i]["data"][0]  # the cover's colour range in frame i
    left = fig.layout.meta["panel_width"]
    static = np.asarray(fig.data[T_STATIC].z, dtype=np.float64)[:, :left]
    cover = np.asarray(fig.data[T_COVER].z, dtype=np.float64)[:, :left]
    hidden = (cover - z["zmin"]) / (z["zmax"] - z["zmin"]) > 0.5
    return np.where(hidden, np.nan, static)


def animation_json_size(fig: go.Figure) -> int:
    """Bytes of the figure as sent to the browser (plotly JSON; numpy arrays as typed arrays)."""
    import plotly.io as pio

    return len(pio.to_json(fig, validate=False).encode())
