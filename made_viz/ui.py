"""Streamlit glue shared by every page: the session's architecture, the URL, the sidebar.

The only module of the library that imports streamlit. It keeps one `Config` per browser
session in `st.session_state` (never at module level: many students share one server process),
mirrors it into the URL query parameters so a teacher can hand out a link, and draws the
architecture controls in the sidebar of every page.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import streamlit as st

from .config import MAX_D, ORDERS, Config, ConfigError, parse_int_list, parse_layers

# session_state keys (one place, so pages never guess)
CFG = "cfg"                  # the session's Config
MASK_SHOWN = "mask_shown"    # which of the K masks the pages show
MODEL = "model"              # the session's trained MADE (Train page), or None
DATASET = "dataset"          # name of the chosen dataset
DATASET_OBJ = "dataset_obj"  # the chosen Dataset itself (uploads and data-folder files have no embedded name)
_SYNC = "_sync_widgets"      # write the Config into the sidebar widgets on the next run
_QUERY_ERROR = "_query_error"
_W = "w_"                    # prefix of the sidebar widget keys


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


def prepare_process() -> None:
    """Once per server process: cap the threads, import the heavy modules, then move every object
    that exists so far (torch, plotly, the library: ~1 M objects) out of the garbage collector's
    sight with `gc.freeze()`. Without it every full collection, triggered again and again by the
    objects a rerun allocates, walks all of them: measured 0.24 -> 0.06 s of server CPU per rerun of
    the Home page (bench/load_test.py --page-costs)."""
    limit_threads()
    if gc.get_freeze_count():
        return
    import plotly.graph_objects  # noqa: F401  (the pages' heavy imports, loaded before the freeze)

    from . import animation, checkpoint, curves, figures, graph, model, sample, session, train  # noqa: F401
    gc.collect()
    gc.freeze()


def limit_threads() -> None:
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
# the session's Config

def init_session() -> None:
    """First run of a session: take the architecture from the URL, or the default preset."""
    if CFG in st.session_state:
        return
    cfg = PRESETS[DEFAULT_PRESET].cfg
    params = {k: st.query_params[k] for k in st.query_params}
    if params:
        try:
            cfg = Config.from_query(params)
        except ConfigError as e:
            st.session_state[_QUERY_ERROR] = f"This link's architecture is not valid ({e}) — showing the default instead."
    st.session_state[CFG] = cfg
    st.session_state[MASK_SHOWN] = 0
    st.session_state[_SYNC] = True


def get_config() -> Config:
    init_session()
    return st.session_state[CFG]


def set_config(cfg: Config) -> None:
    """Replace the session's architecture (and the sidebar's widgets on the next run)."""
    st.session_state[CFG] = cfg
    st.session_state[_SYNC] = True
    if st.session_state.get(MASK_SHOWN, 0) >= cfg.num_masks:
        st.session_state[MASK_SHOWN] = 0


def mask_shown() -> int:
    k = int(st.session_state.get(MASK_SHOWN, 0))
    return min(k, get_config().num_masks - 1)


def sync_url(cfg: Config) -> None:
    """Mirror the Config into the query string (only what differs from the defaults)."""
    want = cfg.to_query()
    have = {k: st.query_params[k] for k in st.query_params}
    if have != want:
        st.query_params.from_dict(want)


# ---------------------------------------------------------------------------------------------
# sidebar

def _write_widgets(cfg: Config, only_missing: bool = False) -> None:
    h, w = cfg.shape if cfg.shape is not None else (1, cfg.d)
    ss: dict = {} if only_missing else st.session_state
    ss[_W + "height"], ss[_W + "width"] = int(h), int(w)
    ss[_W + "hidden"] = ", ".join(map(str, cfg.hidden))
    if isinstance(cfg.order, tuple):
        ss[_W + "order"], ss[_W + "order_text"] = "explicit", ", ".join(map(str, cfg.order))
    else:
        ss[_W + "order"] = cfg.order
        ss.setdefault(_W + "order_text", "")
    ss[_W + "degrees"] = cfg.degrees
    ss[_W + "activation"] = cfg.activation
    ss[_W + "direct"] = cfg.direct
    ss[_W + "masks"] = cfg.num_masks
    ss[_W + "seed"] = cfg.seed
    if only_missing:
        for k, v in ss.items():
            st.session_state.setdefault(k, v)


def _config_from_widgets(old: Config) -> Config:
    """Read the sidebar widgets into a Config; ConfigError with a clear message if invalid."""
    ss = st.session_state
    h, w = int(ss[_W + "height"]), int(ss[_W + "width"])
    d = h * w
    if d > MAX_D:
        raise ConfigError(f"{h} x {w} = {d} inputs is too many: at most {MAX_D}.")
    order_kind = ss[_W + "order"]
    order = parse_int_list(ss[_W + "order_text"], "explicit order") if order_kind == "explicit" else order_kind
    if order_kind == "explicit" and not order:
        raise ConfigError("type an explicit order: the pixel indices 0..D-1 in the order they are generated.")
    return old.replace(d=d, shape=(h, w), hidden=parse_layers(ss[_W + "hidden"]), order=order,
                       degrees=ss[_W + "degrees"], activation=ss[_W + "activation"], direct=bool(ss[_W + "direct"]),
                       num_masks=int(ss[_W + "masks"]), seed=int(ss[_W + "seed"]))


def _on_widget_change() -> None:
    try:
        cfg = _config_from_widgets(st.session_state[CFG])
    except ConfigError as e:
        st.session_state["_sidebar_error"] = str(e)
        return
    st.session_state.pop("_sidebar_error", None)
    set_config(cfg)
    st.session_state[_SYNC] = False  # the widgets already show it


def _on_preset() -> None:
    key = st.session_state[_W + "preset"]
    if key in PRESETS:
        set_config(PRESETS[key].cfg)
        st.session_state.pop("_sidebar_error", None)
    st.session_state[_W + "preset"] = ""


def _on_resample() -> None:
    cfg = st.session_state[CFG]
    set_config(cfg.replace(seed=(cfg.seed + 1) % 2**32))


def _on_layer(delta: int) -> None:
    cfg = st.session_state[CFG]
    hidden = cfg.hidden + (cfg.hidden[-1] if cfg.hidden else max(cfg.d, 2),) if delta > 0 else cfg.hidden[:-1]
    try:
        set_config(cfg.replace(hidden=hidden))
    except ConfigError as e:
        st.session_state["_sidebar_error"] = str(e)


def architecture_sidebar() -> Config:
    """Draw the shared architecture controls; return the session's (valid) Config."""
    cfg = get_config()
    # Streamlit forgets widget values when the student switches page (the widgets of another page
    # are new widgets), so the Config, not the widgets, is the truth: write it into the widgets
    # on every run, except while a bad entry is shown so that the student can correct it.
    st.session_state.pop(_SYNC, None)
    _write_widgets(cfg, only_missing="_sidebar_error" in st.session_state)
    sb = st.sidebar
    if msg := st.session_state.pop(_QUERY_ERROR, None):
        sb.error(msg)
    sb.subheader("Architecture")
    sb.selectbox("Preset", [""] + list(PRESETS), key=_W + "preset", on_change=_on_preset,
                 format_func=lambda k: "Pick a preset…" if not k else PRESETS[k].title,
                 help="One click sets every control below.")
    c1, c2 = sb.columns(2)
    c1.number_input("Height", 1, 64, key=_W + "height", on_change=_on_widget_change)
    c2.number_input("Width", 1, 64, key=_W + "width", on_change=_on_widget_change,
                    help="D = height × width inputs (binary pixels).")
    sb.text_input("Hidden layers", key=_W + "hidden", on_change=_on_widget_change,
                  help="Sizes separated by commas, e.g. 128, 64. Leave empty for no hidden layer.")
    b1, b2 = sb.columns(2)
    b1.button("Add layer", icon=":material/add:", on_click=_on_layer, args=(1,), width="stretch")
    b2.button("Remove", icon=":material/remove:", on_click=_on_layer, args=(-1,), width="stretch",
               disabled=not cfg.hidden, help="Remove the last hidden layer.")
    sb.selectbox("Ordering", list(ORDERS) + ["explicit"], key=_W + "order", on_change=_on_widget_change,
                 help="The generation order of the pixels (m⁰).")
    if st.session_state.get(_W + "order") == "explicit":
        sb.text_input("Explicit order", key=_W + "order_text", on_change=_on_widget_change,
                      help="Pixel indices 0..D-1 in generation order, e.g. 1, 2, 0.")
    sb.radio("Hidden degrees", ["random", "even"], key=_W + "degrees", on_change=_on_widget_change, horizontal=True,
             help="random: uniform on [min of the layer below, D-1] as in the paper; even: spread over 1..D-1.")
    c3, c4 = sb.columns(2)
    c3.selectbox("Activation", ["relu", "tanh", "sigmoid"], key=_W + "activation", on_change=_on_widget_change)
    c4.number_input("Masks K", 1, 64, key=_W + "masks", on_change=_on_widget_change,
                    help="Number of masks for order/connectivity-agnostic training.")
    sb.checkbox("Direct input→output connections", key=_W + "direct", on_change=_on_widget_change)
    c5, c6 = sb.columns([3, 2], vertical_alignment="bottom")
    c5.number_input("Seed", 0, 2**32 - 1, key=_W + "seed", on_change=_on_widget_change)
    c6.button("Resample", on_click=_on_resample, help="Draw new masks (next seed).", width="stretch")
    if msg := st.session_state.get("_sidebar_error"):
        sb.error(msg)
    cfg = get_config()
    if cfg.num_masks > 1:
        st.session_state[MASK_SHOWN] = mask_shown()
        sb.slider("Mask shown", 0, cfg.num_masks - 1, key=MASK_SHOWN)
    sb.caption(f"D = {cfg.d} · layers {cfg.d} → {' → '.join(map(str, cfg.hidden)) or '(none)'} → {cfg.d}")
    sync_url(cfg)
    return cfg
