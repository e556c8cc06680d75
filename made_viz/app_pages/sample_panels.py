"""The Sample page's working parts: the context its tabs share, the caches (shared ones keyed by
the data's content hash), the per-session trajectories and their animation player, and the
likelihood lens's image picker. Imported by app_pages/sample.py, which reads top to bottom as the
model picker and the four tabs."""

import hashlib
import threading
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import streamlit as st

from made_viz import animation as A
from made_viz import data, export, lens, lens_figures, ui
from made_viz.config import Config
from made_viz.images import grid_png
from made_viz.model import MADE
from made_viz.sampling import complete, sample

try:
    from made_viz import pretrained
except ImportError:  # the shipped models are optional
    pretrained = None

NO_BAR = export.TOOLBAR  # every figure's toolbar: only the camera, a sharp PNG for slides
ss = st.session_state


@dataclass(frozen=True)
class Ctx:
    """Everything the tabs need, decided once per page run (the tabs never read page-level names)."""

    model: MADE
    mkey: str  # names the model in the trajectory cache
    ds: data.Dataset | None  # the model's data, when available here
    shape: tuple[int, int] | None
    mask: int  # 0-based index; students read mask + 1
    order_name: str
    shared: bool = False  # a shipped model: its samples and animations are shared by every session

    @property
    def cache_key(self) -> str:
        """What the trajectory caches know the model by: a shipped model by its content (the process-wide cache
        is keyed by the weights' hash, never by a name), a session's model by its object and weights."""
        return shipped_key(self.mkey) if self.shared else self.mkey

    @property
    def d(self) -> int:
        return self.model.cfg.d


@st.cache_resource(show_spinner="Loading the pre-trained model…")
def _pretrained_state(name: str):
    ck = pretrained.load_pretrained(name)
    return ck.config, {k: v.detach().clone() for k, v in ck.model.state_dict().items()}, ck.model.mask_index


@st.cache_resource(show_spinner=False, max_entries=32)
def shipped_key(name: str) -> str:
    """A shipped model's name and a hash of its weights, computed once per process."""
    _, state, _ = _pretrained_state(name)
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().cpu().numpy().tobytes())
    return f"{name}-{h.hexdigest()[:16]}"


def pretrained_config(name: str) -> tuple[Config, int]:
    """A shipped model's architecture and the mask it was saved with (the Sample page's default)."""
    cfg, _, k = _pretrained_state(name)
    return cfg, k


@st.cache_resource(show_spinner=False, max_entries=32)
def pretrained_model(name: str, k: int) -> MADE:
    """A shipped model under mask k, shared by every session of the process and only ever read: the page
    samples, completes and maps surprise with the model's own mask, which writes no mask and no flag
    (made_viz.sampling). One copy per session cost ~27 MB for MNIST (its weights, masks and the fast
    sampler's arrays): 30 students on the Sample page held ~0.8 GB."""
    cfg, state, _ = _pretrained_state(name)
    model = MADE(cfg)
    model.load_state_dict(state)
    model.set_mask(k)
    model.mask_set(k)  # built once here, not by two sessions at once
    return model.eval()


def model_dataset(name, d: int):
    """The model's data: an embedded set by name, else the one uploaded on the Train page."""
    try:
        ds = data.load_dataset(name) if data.is_embedded_name(name) else ss.get(ui.DATASET_OBJ)
    except (data.DataError, OSError):
        ds = None
    return ds if isinstance(ds, data.Dataset) and ds.d == d else None


# work on the training set, shared by sessions: keyed by the data's content hash, never by a name
@st.cache_data(show_spinner="Reading the training set…", max_entries=16)
def train_stats(fingerprint: str, _ds) -> lens.TrainStats:
    return lens.train_stats(_ds)


@st.cache_data(show_spinner="Searching the training set…", max_entries=64)
def neighbours(fingerprint: str, x: np.ndarray, _ds):
    return data.nearest_neighbors(x, _ds.train)


nn_fig = st.cache_data(max_entries=64, show_spinner=False)(A.neighbours_figure)
lens_fig = st.cache_data(max_entries=256, show_spinner=False)(lens_figures.lens_figure)
png = st.cache_data(max_entries=64, show_spinner=False)(grid_png)


def clamp(key: str, hi: int) -> None:
    """Keep a remembered widget value valid when the model or the data change."""
    if ss.get(key, 0) > hi:
        ss[key] = hi


SHARED_ENTRIES = 48  # a shipped model's trajectories kept for every session (each with its figures: ~1 MB)


@st.cache_resource(max_entries=SHARED_ENTRIES, show_spinner=False)
def _shared_entry(key: tuple, _make) -> dict:
    """A trajectory of a shipped model, shared by every session of the process and only read. Sampling is
    deterministic given the model, the mask and the seed, and a class starts from the same seed and presses
    "New seed" through the same ones: 30 students opening the Sample page, or pressing "New seed" together,
    cost one sampling and one animation per process, not 30 (about 55 ms of CPU each)."""
    return {"traj": _make(), "lock": threading.Lock()}


def _entry(key: tuple, make, current: str, shared: bool = False) -> dict:
    """The trajectory (and its figures) of `key`: shared by the process for a shipped model, else in the
    session's own small cache; `current` names the last one used."""
    if shared:
        ss[current] = _shared_entry(key, make)
        return ss[current]
    cache = ss.setdefault("_sample_cache", {})
    if key not in cache:
        while len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = {"traj": make()}
    ss[current] = cache[key]
    return cache[key]


def sample_entry(c: Ctx) -> dict:
    """The samples of the Sample tab's settings (also shown by the Copying? and lens tabs)."""
    n, seed, greedy = ss.s_n, ss.s_seed, ss.s_greedy
    return _entry(
        ("sample", c.cache_key, n, seed, greedy, c.mask),
        lambda: sample(c.model, n=n, seed=seed, greedy=greedy, mask=c.mask),
        "_sample_last",
        c.shared,
    )


def completion_entry(c: Ctx) -> tuple[dict, np.ndarray, np.ndarray]:
    """The completions of the Complete tab's settings, with the known pixels and the test image."""
    clamp("c_image", c.ds.n_test - 1)
    i, region, n, seed = ss.c_image, ss.c_region, ss.c_n, ss.c_seed
    known, xt = A.known_region(c.shape, c.d, region, seed=i), c.ds.test[i].astype(np.float32)
    entry = _entry(
        ("complete", c.cache_key, i, region, n, seed, c.mask),
        lambda: complete(
            c.model, np.repeat(xt[None] * known, n, 0), np.repeat(known[None], n, 0), seed=seed, mask=c.mask
        ),
        "_complete_last",
        c.shared,
    )
    return entry, known, xt


def show_animation(c: Ctx, entry: dict, speed: str, all_steps=False, order=False, cols=None):
    """Draw the trajectory's animation (built once per settings); return the figure (for the export)."""
    traj = entry["traj"]
    big = ui.projector()
    with entry.get("lock") or nullcontext():  # a shared entry: one session builds, the others wait and read
        if (fkey := ("fig", all_steps, order, speed, big)) not in entry:
            known = None if traj.known is None else traj.known.numpy()
            plan = A.frame_plan(traj.order.numpy(), known, all_steps=all_steps)
            fig = A.animation_figure(
                traj, c.shape, cols, plan, order, A.SPEEDS[speed], height=PROJECTOR_HEIGHT if big else None
            )
            entry[fkey] = ((bigger_type(fig, PROJECTOR_TYPE) if big else fig).freeze(), plan)
    fig, plan = entry[fkey]
    # the browser plays the figure and steps through it (its own Play, Pause, Step and Replay buttons)
    st.plotly_chart(fig, config=NO_BAR)
    st.caption(f"Animation: {plan.describe()}" + (" (tick *All steps* to see every one)." if plan.thinned else "."))
    return fig


def animation_download(fig, what: str, key: str) -> None:
    """The animation as one offline HTML file (Play, Pause, Step, the slider), built on click."""
    st.download_button(
        "Download the animation (HTML, works offline)",
        lambda: export.animation_html(fig, what),
        "made_sampling.html",
        "text/html",
        key=key,
        icon=":material/download:",
        width="stretch",
        help="One file with everything inside: open it in any browser, no network needed.",
    )


PROJECTOR_HEIGHT = 820  # px: the animation fills a 1920 x 1080 screen below the title row
PROJECTOR_TYPE = 1.7  # the figure's type, this many times larger (13 px labels -> 22 px)


def bigger_type(fig, factor: float):
    """The figure's text `factor` times larger, in place: the layout's font, the panel titles, the buttons,
    the step caption and the labels under the tiles (the red current-pixel squares grow with them)."""
    grow = lambda size: round((size or 14) * factor)  # noqa: E731
    fig.layout.font.size = grow(fig.layout.font.size)
    for ann in fig.layout.annotations:
        ann.font.size = grow(ann.font.size)
    for menu in fig.layout.updatemenus:
        menu.font.size = grow(menu.font.size)
    for slider in fig.layout.sliders:
        slider.currentvalue.font.size = grow(slider.currentvalue.font.size)
    fig.layout.margin.b = grow(fig.layout.margin.b)
    marks = fig.data[A.T_MARKS]
    marks.textfont.size = grow(marks.textfont.size)
    if marks.marker.size is not None:
        marks.marker.size = [grow(v) if v else 0 for v in marks.marker.size]
    return fig


def _apply_drawing(key: str, width: int) -> None:
    """Change the pixels the student clicked on the drawing canvas, then reset the canvas."""
    ss.l_drawn = lens.canvas_click(ss.l_drawn, ss[key].selection.points, width, ss.get("l_brush", "toggle"))
    ss.l_canvas = ss.get("l_canvas", 0) + 1


def lens_image(c: Ctx):
    """The image the lens looks at, picked in the left column (None: nothing to show)."""
    sources = (["Test image"] if c.ds is not None else []) + ["A sample", "A completion", "Draw your own"]
    if ss.l_source not in sources:  # no test images for this model
        ss.l_source = sources[0]
    source = st.selectbox("Image", sources, key="l_source", persist_state="session")
    if source == "Test image":
        clamp("l_test", c.ds.n_test - 1)
        x = c.ds.test[st.number_input("Test image", 0, c.ds.n_test - 1, key="l_test", persist_state="session")]
    elif source == "Draw your own":
        if len(ss.setdefault("l_drawn", np.zeros(c.d, np.uint8))) != c.d:
            ss.l_drawn = np.zeros(c.d, dtype=np.uint8)
        x, key = ss.l_drawn, f"l_canvas_{ss.get('l_canvas', 0)}"
        st.plotly_chart(
            lens_figures.canvas_figure(x, c.shape, height=230),
            key=key,
            selection_mode="points",
            on_select=lambda: _apply_drawing(key, c.shape[1] if c.shape else c.d),
            config=NO_BAR,
        )
        c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
        c1.selectbox("A click on a pixel will", ["toggle", "ink", "paper"], key="l_brush")
        c2.button("Clear", key="l_clear", on_click=lambda: ss.update(l_drawn=np.zeros(c.d, np.uint8)))
        return np.asarray(x, dtype=np.float32)
    elif source == "A completion" and c.ds is None:
        st.info("Completions start from the model's test images, which are not available here.")
        return None
    else:
        traj = (sample_entry(c) if source == "A sample" else completion_entry(c)[0])["traj"]
        clamp("l_which", traj.n - 1)
        x = traj.x.numpy()[st.number_input("Which one", 0, traj.n - 1, key="l_which", persist_state="session")]
    st.plotly_chart(lens_figures.canvas_figure(x, c.shape, height=230), config={**NO_BAR, "staticPlot": True})
    return np.asarray(x, dtype=np.float32)
