"""Streamlit glue shared by every page: the session's architecture, the URL, the sidebar.

The only module of the library that imports streamlit. It keeps one `Config` per browser
session in `st.session_state` (never at module level: many students share one server process),
mirrors it into the URL query parameters so a teacher can hand out a link, and draws the
architecture controls in the sidebar of every page. The room's projector mode and themes are in
`ui_room` (its names are handed on here).
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import streamlit as st

from . import budget, streamlit_fixes
from .config import (
    MAX_D,
    MAX_LAYERS_TEXT,
    MAX_MASKS,
    MAX_ORDER_TEXT,
    ORDERS,
    Config,
    ConfigError,
    parse_int_list,
    parse_layers,
    shorten,
)
from .ui_room import PROJECTOR, THEME, THEMES, projector, room_css, room_sidebar  # noqa: F401 - the pages' names
from .urlstate import PAGE_KEYS, canonical_params, config_from_params, view_from_params, view_params

# session_state keys (one place, so pages never guess)
CFG = "cfg"  # the session's Config
MASK_SHOWN = "mask_shown"  # which of the K masks the pages show
MODEL = "model"  # the session's trained MADE (Train page), or None
RUN = "train_run"  # the Train page's run (made_viz.session.TrainingRun)
SHARE = "_class_share"  # the session's entry in budget.LEDGER (what the class holds together)
DATASET = "dataset"  # name of the chosen dataset
DATASET_OBJ = "dataset_obj"  # the chosen Dataset itself (uploads and data-folder files have no embedded name)
_REJECTED = "_rejected"  # the message about the last entry the sidebar (or the link) refused
_ORDER_PENDING = "_order_pending"  # "explicit" picked, its text not typed yet: the Config keeps its order
_W = "w_"  # prefix of the sidebar widget keys
# PROJECTOR and THEME, the room's keys, live in ui_room
MAX_SIDE = 64  # an image is at most 64 x 64 pixels (MAX_D)
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Preset:
    title: str
    cfg: Config
    blurb: str


PRESETS: dict[str, Preset] = {
    "seed": Preset(
        "Seed example: D=3 (paper, Fig. 1)",
        Config(d=3, shape=(1, 3), hidden=(4,), order=(1, 2, 0), degrees="even", seed=0),
        "The paper's figure: ordering m⁰ = (3, 1, 2), so p(x) = p(x₂) p(x₃|x₂) p(x₁|x₂,x₃).",
    ),
    "digits": Preset(
        "8x8 digits, two hidden layers",
        Config(d=64, shape=(8, 8), hidden=(128, 128), order="natural", degrees="random", seed=0),
        "A small MADE for the 8x8 handwritten digits: fast to train in class.",
    ),
    "narrow": Preset(
        "What breaks: a layer narrower than D-1",
        Config(d=16, shape=(4, 4), hidden=(32, 6), order="natural", degrees="random", seed=3),
        "The second layer has 6 units for 15 possible degrees: some conditionals see fewer inputs than they may.",
    ),
    "agnostic": Preset(
        "Order-agnostic: 4 random orderings",
        Config(d=16, shape=(4, 4), hidden=(64,), order="random", degrees="random", num_masks=4, seed=0),
        "Four masks share one set of weights; each has its own ordering and hidden degrees.",
    ),
    "mnist": Preset(
        "MNIST 28x28, one layer of 500",
        Config(d=784, shape=(28, 28), hidden=(500,), order="natural", degrees="random", seed=0),
        "The paper's MNIST size. Large: the network view bundles edges by degree.",
    ),
}
DEFAULT_PRESET = "digits"


_prepared = False  # prepare_process has run in this process


def prepare_process() -> None:
    """Once per server process: cap the threads, import the heavy modules, then move every object
    that exists so far (torch, plotly, the library: ~1 M objects) out of the garbage collector's
    sight with `gc.freeze()`. Without it every full collection, triggered again and again by the
    objects a rerun allocates, walks all of them: measured 0.24 -> 0.06 s of server CPU per rerun of
    the Home page (bench/load_test.py --page-costs)."""
    global _prepared
    cap_torch_threads()
    if _prepared:  # every page run asks: a flag, since gc.get_freeze_count() walks ~1 M frozen objects (~40 ms)
        return
    _prepared = True
    streamlit_fixes.install()  # a reconnect under load must not lose the next run's messages
    if gc.get_freeze_count():  # frozen already (made_viz.warm, before the server listened)
        return
    # pandas too: plotly peeks at sys.modules['pandas'] without importing it, and half-imported by one
    # student's first st.dataframe it broke another student's figure; so it is imported whole, first
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401  (the pages' heavy imports, loaded before the freeze)

    from . import animation, checkpoint, curves, figures, graph, model, sample, session, train  # noqa: F401

    gc.collect()
    gc.freeze()


def cap_torch_threads() -> None:
    """One student's training must not starve the others: cap torch's threads per process
    (MADE_VIZ_THREADS, default 1). Done once per process."""
    import torch
    from threadpoolctl import threadpool_limits

    try:
        n = max(1, int(os.environ.get("MADE_VIZ_THREADS", "1") or 1))
    except ValueError:
        n = 1
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
        threadpool_limits(n)  # numpy's BLAS too: a small matmul must not wait on a busy thread pool


# ---------------------------------------------------------------------------------------------
# the per-session budget


def over_budget(cfg: Config) -> str | None:
    """Why `cfg` is too big for a server shared by a class (one sentence), or None if it fits.
    Many students share one process: one huge network would take the memory of all of them."""
    try:
        budget.check_budget(cfg)
    except ConfigError as e:
        return str(e)
    return None


def check(cfg: Config) -> Config:
    """`cfg` if a student may use it here; ConfigError (with the limit) if it is over the budget."""
    budget.check_budget(cfg)
    return cfg


_SAME = object()


def held_size(run=_SAME, model=_SAME) -> int:
    """Weights x masks of what this session keeps in the server: a training run that has started or
    holds a model (in a worker: weights, gradients, optimiser state; and the server's copy), and a loaded
    model that is not the run's. A keyword replaces one of them (a Config, or None for nothing) to price
    a change before it is made. The architecture itself is not counted: its masks and figures live in
    the process's shared caches, bounded by size (architecture_work.mask_set), whoever asked for them."""
    ss = st.session_state
    r, m = ss.get(RUN), ss.get(MODEL)
    if run is _SAME:  # an idle run has built nothing yet; a started or loaded one holds its model
        run = r.cfg if r is not None and r.state != "idle" else None
    if model is _SAME:  # the run's own model is counted once (it is the same network)
        model = m.cfg if m is not None and m.cfg != run else None
    return sum(budget.requested_size(c) for c in (run, model) if c is not None)


def share() -> budget.Share:
    """This session's entry in the class's ledger (made when the session first asks)."""
    if (s := st.session_state.get(SHARE)) is None:
        s = st.session_state[SHARE] = budget.LEDGER.share()
    return s


def admit(**change) -> None:
    """Raise ConfigError (saying the server is full) unless the class's budget holds this session with
    `change` made (see held_size); when it does, the ledger counts the session at its new size."""
    budget.LEDGER.admit(share(), held_size(**change))


def account() -> None:
    """Tell the ledger what this session holds now (every page run does; a run that finished or a
    model let go is given back here)."""
    budget.LEDGER.record(share(), held_size())


# ---------------------------------------------------------------------------------------------
# the session's Config


def describe(cfg: Config) -> str:
    """The network in the sidebar's words, for messages that say what is kept."""
    h, w = cfg.image_shape
    order = cfg.order if isinstance(cfg.order, str) else "explicit"
    return (
        f"{h} x {w} image (D = {cfg.d}), hidden layers {', '.join(map(str, cfg.hidden)) or 'none'}, "
        f"{order} order, K = {cfg.num_masks} mask{'s' if cfg.num_masks > 1 else ''}, seed {cfg.seed}"
    )


def init_session() -> None:
    """First run of a session: the architecture from the URL (see made_viz.urlstate), else the
    default preset, with a message that says why."""
    if CFG in st.session_state:
        return
    default = PRESETS[DEFAULT_PRESET].cfg
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    try:
        cfg = check(config_from_params(params, default))
    except ConfigError as e:
        cfg = default
        st.session_state[_REJECTED] = (
            f"This link's architecture is not valid ({e}) — showing the default instead: {describe(cfg)}."
        )
    st.session_state[CFG] = cfg
    st.session_state[MASK_SHOWN] = 0
    init_view(params)


def init_view(params: dict) -> None:
    """The rest of the screen from the link (made_viz.urlstate.VIEW_KEYS): the pages' widgets start from
    these values. A value a key does not allow is said once and the default is kept."""
    values, refused = view_from_params(params)
    st.session_state.update(values)
    if "w_mask_shown" in values:  # students read masks 1..K; the pages index them 0..K-1
        st.session_state[MASK_SHOWN] = values["w_mask_shown"] - 1
    if refused and _REJECTED not in st.session_state:
        st.session_state[_REJECTED] = "Part of this link was not taken: " + "; ".join(refused) + "."


def get_config() -> Config:
    init_session()
    return st.session_state[CFG]


def set_config(cfg: Config) -> None:
    """Replace the session's architecture; the sidebar's widgets show it from the next run on."""
    st.session_state[CFG] = cfg
    st.session_state.pop(_ORDER_PENDING, None)
    if st.session_state.get(MASK_SHOWN, 0) >= cfg.num_masks:
        st.session_state[MASK_SHOWN] = 0


def mask_shown() -> int:
    """The index (0-based, as in the library) of the mask the pages show; students read it + 1."""
    k = int(st.session_state.get(MASK_SHOWN, 0))
    return min(k, get_config().num_masks - 1)


def sync_url(cfg: Config) -> None:
    """Mirror the Config and the view into the query string, canonically (only the app's keys, each once):
    a teacher's link reproduces the screen."""
    want = canonical_params(cfg, PRESETS[DEFAULT_PRESET].cfg) | view_params(st.session_state)
    want |= {k: st.query_params[k] for k in PAGE_KEYS if k in st.query_params}  # read by their own page
    have = {k: st.query_params.get_all(k) for k in st.query_params}
    if have != {k: [v] for k, v in want.items()}:
        st.query_params.from_dict(want)


# ---------------------------------------------------------------------------------------------
# sidebar: the Config is the truth, the widgets show it

LABELS = {
    "height": "Height",
    "width": "Width",
    "hidden": "Hidden layers",
    "order": "Ordering",
    "order_text": "Explicit order",
    "degrees": "Hidden degrees",
    "activation": "Activation",
    "direct": "Direct connections",
    "masks": "Masks K",
    "seed": "Seed",
}


def _write_widgets(cfg: Config) -> None:
    """Show `cfg` in every sidebar widget. Done on every run before the widgets are drawn: Streamlit
    forgets widget values across page switches, and a refused entry must never stay in a field
    (the message at the top of the page says what was refused)."""
    ss = st.session_state
    ss[_W + "height"], ss[_W + "width"] = cfg.image_shape
    ss[_W + "hidden"] = ", ".join(map(str, cfg.hidden))
    if isinstance(cfg.order, tuple):
        ss[_W + "order"], ss[_W + "order_text"] = "explicit", ", ".join(map(str, cfg.order))
    else:
        ss[_W + "order"] = "explicit" if ss.get(_ORDER_PENDING) else cfg.order
        ss[_W + "order_text"] = ""
    ss[_W + "degrees"] = cfg.degrees
    ss[_W + "activation"] = cfg.activation
    ss[_W + "direct"] = cfg.direct
    ss[_W + "masks"] = cfg.num_masks
    ss[_W + "seed"] = cfg.seed
    ss[_W + "mask_shown"] = mask_shown() + 1


def _whole_in_range(key: str, lo: int, hi: int) -> int:
    """A number field's value, checked here (the widgets have no bounds, so the browser never
    refuses a number silently with a small red mark)."""
    value = st.session_state[_W + key]
    if value is None or int(value) != value or not lo <= int(value) <= hi:
        raise ConfigError(f"{LABELS[key]} must be a whole number from {lo} to {hi:,}.")
    return int(value)


def _config_from_widgets(old: Config) -> Config:
    """Read the sidebar widgets into a Config; ConfigError with a clear message if invalid."""
    ss = st.session_state
    h, w = _whole_in_range("height", 1, MAX_SIDE), _whole_in_range("width", 1, MAX_SIDE)
    if h * w > MAX_D:
        raise ConfigError(f"{h} x {w} = {h * w} inputs is too many: at most {MAX_D}.")
    order_kind = ss[_W + "order"]
    order = parse_int_list(ss[_W + "order_text"], "explicit order") if order_kind == "explicit" else order_kind
    if order_kind == "explicit" and not order:
        raise ConfigError("type an explicit order: the pixel indices 0..D-1 in the order they are generated.")
    return check(
        old.replace(
            d=h * w,
            shape=(h, w),
            hidden=parse_layers(ss[_W + "hidden"]),
            order=order,
            degrees=ss[_W + "degrees"],
            activation=ss[_W + "activation"],
            direct=bool(ss[_W + "direct"]),
            num_masks=_whole_in_range("masks", 1, MAX_MASKS),
            seed=_whole_in_range("seed", 0, MAX_SEED),
        )
    )


def _refuse(key: str, error: Exception) -> None:
    """Say what was refused, why, and what is kept; the widgets go back to the kept network."""
    value = st.session_state.get(_W + key)
    if key in ("hidden", "order_text"):  # the student's own text, quoted short
        shown = f" “{shorten(str(value))}”"
    else:
        shown = f" {value}" if value is not None else ""
    st.session_state[_REJECTED] = (
        f"{LABELS[key]}{shown} was not taken: {error} Kept: {describe(st.session_state[CFG])}."
    )


def _on_widget_change(key: str) -> None:
    ss = st.session_state
    if key == "order" and ss[_W + "order"] == "explicit" and not ss.get(_W + "order_text"):
        ss[_ORDER_PENDING] = True  # show the text field; the order changes once one is typed
        ss[_REJECTED] = (
            "Ordering: type an explicit order (the pixel indices 0..D-1 in the order they are "
            f"generated) in the field below. Kept until then: {describe(ss[CFG])}."
        )
        return
    try:
        cfg = _config_from_widgets(ss[CFG])
    except ConfigError as e:
        _refuse(key, e)
        return
    ss.pop(_REJECTED, None)
    set_config(cfg)


def _on_preset() -> None:
    key = st.session_state[_W + "preset"]
    if key in PRESETS:
        take(PRESETS[key].cfg, "Preset")
    st.session_state[_W + "preset"] = ""


def take(cfg: Config, what: str) -> None:
    """Use `cfg` if it fits the budget, else say so and keep the current network."""
    try:
        set_config(check(cfg))
        st.session_state.pop(_REJECTED, None)
    except ConfigError as e:
        st.session_state[_REJECTED] = f"{what} was not taken: {e} Kept: {describe(st.session_state[CFG])}."


def _on_resample() -> None:
    cfg = st.session_state[CFG]
    take(cfg.replace(seed=(cfg.seed + 1) % 2**32), "Resample")


def _on_layer(delta: int) -> None:
    cfg = st.session_state[CFG]
    hidden = cfg.hidden + (cfg.hidden[-1] if cfg.hidden else max(cfg.d, 2),) if delta > 0 else cfg.hidden[:-1]
    try:
        take(cfg.replace(hidden=hidden), "Add layer" if delta > 0 else "Remove layer")
    except ConfigError as e:
        st.session_state[_REJECTED] = f"The layer was not added: {e} Kept: {describe(cfg)}."


def _on_mask_shown() -> None:
    st.session_state[MASK_SHOWN] = int(st.session_state[_W + "mask_shown"]) - 1


def architecture_sidebar() -> Config:
    """Draw the shared architecture controls; return the session's (valid) Config. A refused entry
    is said at the top of the page's main area (drawn first, where the student looks) and again
    under the controls."""
    cfg = get_config()
    _write_widgets(cfg)
    if rejected := st.session_state.get(_REJECTED):
        st.error(rejected, icon=":material/error:")
    _draw_controls(st.sidebar, cfg)
    if rejected:
        st.sidebar.error(rejected)
    if cfg.num_masks > 1:
        st.sidebar.slider(
            "Mask shown",
            1,
            cfg.num_masks,
            key=_W + "mask_shown",
            on_change=_on_mask_shown,
            help="Masks are numbered 1 to K on every page.",
        )
    st.sidebar.caption(f"D = {cfg.d} · layers {cfg.d} → {' → '.join(map(str, cfg.hidden)) or '(none)'} → {cfg.d}")
    room_sidebar()
    sync_url(cfg)
    return cfg


def _draw_controls(sb, cfg: Config) -> None:
    """The architecture widgets; each change goes through `_on_widget_change(its key)`."""

    def on(key: str) -> dict:
        return {"key": _W + key, "on_change": _on_widget_change, "args": (key,)}

    sb.subheader("Architecture")
    sb.selectbox(
        "Preset",
        [""] + list(PRESETS),
        key=_W + "preset",
        on_change=_on_preset,
        format_func=lambda k: "Pick a preset…" if not k else PRESETS[k].title,
        help="One click sets every control below.",
    )
    c1, c2 = sb.columns(2)
    c1.number_input("Height", step=1, help=f"1 to {MAX_SIDE} pixels.", **on("height"))
    c2.number_input(
        "Width", step=1, help=f"1 to {MAX_SIDE} pixels. D = height × width inputs (binary pixels).", **on("width")
    )
    sb.text_input(
        "Hidden layers",
        help="Sizes separated by commas, e.g. 128, 64. Leave empty for no hidden layer.",
        max_chars=MAX_LAYERS_TEXT,
        **on("hidden"),
    )
    b1, b2 = sb.columns(2)
    b1.button("Add layer", icon=":material/add:", on_click=_on_layer, args=(1,), width="stretch")
    b2.button(
        "Remove",
        icon=":material/remove:",
        on_click=_on_layer,
        args=(-1,),
        width="stretch",
        disabled=not cfg.hidden,
        help="Remove the last hidden layer.",
    )
    sb.selectbox(
        "Ordering", list(ORDERS) + ["explicit"], help="The generation order of the pixels (m⁰).", **on("order")
    )
    if st.session_state.get(_W + "order") == "explicit":
        sb.text_input(
            "Explicit order",
            help="Pixel indices 0..D-1 in generation order, e.g. 1, 2, 0.",
            max_chars=MAX_ORDER_TEXT,
            **on("order_text"),
        )
    sb.radio(
        "Hidden degrees",
        ["random", "even"],
        horizontal=True,
        **on("degrees"),
        help="random: uniform on [min of the layer below, D-1] as in the paper; even: spread over 1..D-1.",
    )
    c3, c4 = sb.columns(2)
    c3.selectbox("Activation", ["relu", "tanh", "sigmoid"], **on("activation"))
    c4.number_input(
        "Masks K",
        step=1,
        help=f"Number of masks for order/connectivity-agnostic training (1 to {MAX_MASKS}).",
        **on("masks"),
    )
    sb.checkbox("Direct input→output connections", **on("direct"))
    c5, c6 = sb.columns([3, 2], vertical_alignment="bottom")
    c5.number_input("Seed", step=1, **on("seed"))
    c6.button("Resample", on_click=_on_resample, help="Draw new masks (next seed).", width="stretch")
