"""Train: watch the negative log-likelihood fall while the network drawn in the sidebar learns.

Thin view over made_viz.session.TrainingRun (one per browser session, in st.session_state), read
top to bottom as its panels: data, settings, the run's buttons and live curves, the test NLL, save
and load. While the run is "running", the live fragment re-runs every tick (longer when many
sessions of the process train), redraws only itself and lets the run train until the next tick is due
(a worker process trains it; the page does not wait).
"""

from dataclasses import dataclass

import streamlit as st

from made_viz import curves, ui
from made_viz import session as ses
from made_viz.app_pages.train_panels import (
    DATA_OBJ,
    FULL,
    NO_CHART_BAR,
    RUN,
    TICKING,
    buttons_panel,
    evaluation_panel,
    live_panels,
    new_run,
    save_load_panel,
)
from made_viz.config import Config, ConfigError
from made_viz.data import EMBEDDED, DataError, Dataset, load_bytes, load_dataset
from made_viz.data import folder as data_folder
from made_viz.train import TrainConfig
from made_viz.urlstate import LEARNING_RATES, VIEW_DEFAULTS

TITLES = {"digits8": "8x8 digits", "mnist": "MNIST 28x28", "bars4": "Bars and stripes 4x4", "shapes8": "Shapes 8x8"}
LRS = list(LEARNING_RATES)
# the settings a link can give (made_viz.urlstate.VIEW_KEYS): their widgets start from the session's values, and
# keep them across page switches (persist_state), so the URL holds them on every page
SETTINGS = ("t_source", "t_builtin", "t_lr", "t_bs", "t_epochs", "t_resample", "t_seed", "t_unit")
KEEP = {"persist_state": "session"}
NO_FOLDER = "This server has no data folder (the link asked for one): the built-in data are shown."
UPLOAD_HELP = (
    "MNIST IDX (train-images-idx3-ubyte, optionally .gz), binarized-MNIST .npz or .amat, or a .npy array "
    "of images. At most 50 MB (the server's limit, set in .streamlit/config.toml)."
)
ss = st.session_state


@dataclass(frozen=True)
class Data:
    """The data the left column picked: usable (`ds`), or None with the reason already shown."""

    ds: Dataset | None
    name: str | None


@st.cache_resource(max_entries=8, show_spinner=False)
def folder_dataset(path: str, mtime: float, method: str):
    return load_dataset(path, binarize=method, seed=0)


# --- data ------------------------------------------------------------------------------------------
def uploaded(method: str, locked: bool) -> tuple[Dataset | None, str | None, str | None]:
    """The uploaded file's data set (parsed once per file and binarization), its name, or an error."""
    f = st.file_uploader("Your data file", key="t_upload", disabled=locked, help=UPLOAD_HELP)
    if f is None:
        return None, None, None
    if ss.get("t_up_key") != (key := (f.file_id, method)):
        try:
            ss["t_up_ds"], ss["t_up_err"] = load_bytes(f.getvalue(), f.name, binarize=method), None
        except DataError as e:
            ss["t_up_ds"], ss["t_up_err"] = None, str(e)
        ss["t_up_key"] = key
    return ss["t_up_ds"], f"upload:{f.name}", ss["t_up_err"]


def from_folder(method: str, locked: bool) -> tuple[Dataset | None, str | None, str | None]:
    root = data_folder.data_dir()
    files = data_folder.list_data_files(root)
    pick = st.selectbox("File in the server's data folder", files, key="t_folder", disabled=locked or not files)
    if not pick:
        st.info("The server's data folder has no data files.")
        return None, None, None
    try:
        path = data_folder.resolve_data_file(root, pick)
        return folder_dataset(str(path), path.stat().st_mtime, method), f"folder:{pick}", None
    except (DataError, OSError) as e:
        return None, None, str(e)


def data_panel(cfg: Config, locked: bool) -> Data:
    st.subheader("Data")
    sources = ["Built-in", "Upload"] + (["Server folder"] if data_folder.data_dir() else [])
    if ss["t_source"] not in sources:
        ss["t_source"] = "Built-in"
        st.info(NO_FOLDER)
    source = st.radio(
        "Source", sources, key="t_source", horizontal=True, disabled=locked, label_visibility="collapsed", **KEEP
    )
    if source == "Built-in":
        name = st.selectbox(
            "Data set", list(EMBEDDED), key="t_builtin", format_func=TITLES.get, disabled=locked, **KEEP
        )
        ds, error = load_dataset(name), None
    else:
        method = st.radio(
            "Binarize grey levels by",
            ["threshold", "sample"],
            key="t_binarize",
            horizontal=True,
            **KEEP,
            disabled=locked,
            help="threshold: a pixel is 1 above half intensity; sample: 1 with "
            "probability = intensity. Binary files are used as they are.",
        )
        ds, name, error = (uploaded if source == "Upload" else from_folder)(method, locked)
    if error:
        st.error(f"This file cannot be used: {error}")
    if ds is None:
        return Data(None, name)
    ss[ui.DATASET], ss[DATA_OBJ] = name, ds
    st.plotly_chart(
        curves.preview_figure(ds.train, ds.shape, n=16, cols=8, height=130),
        key="t_preview",
        config={**NO_CHART_BAR, "staticPlot": True},
    )
    st.caption(f"{ds.description}. D = {ds.d} pixels per image.")
    if problem := ses.data_mismatch(ds, cfg):
        st.warning(problem)
        h, w = ds.image_shape
        if st.button(f"Use D = {h} x {w} for this data", key="t_use_d", type="primary", disabled=locked):
            ui.take(ses.config_for_data(cfg, ds), f"D = {h} x {w}")
            st.rerun()
        return Data(None, name)
    return Data(ds, name)


def settings_panel(cfg: Config, locked: bool) -> TrainConfig | None:
    st.subheader("Settings")
    c1, c2, c3 = st.columns([3, 2, 2])
    lr = c1.select_slider(
        "Learning rate",
        LRS,
        key="t_lr",
        format_func=lambda v: f"{v:g}",
        disabled=locked,
        **KEEP,
        help="Adam's step size. Try 10 to see training diverge.",
    )
    bs = c2.number_input("Batch size", 1, 5000, key="t_bs", disabled=locked, **KEEP)
    epochs = c3.number_input("Epochs", 1, 2000, key="t_epochs", disabled=locked, **KEEP)
    c4, c5, c6 = st.columns([3, 2, 2])
    resample = c4.number_input(
        "New mask every",
        1,
        1000,
        key="t_resample",
        **KEEP,
        disabled=locked or cfg.num_masks == 1,
        help="Minibatches between mask switches when K > 1 (1 = every minibatch, as in the paper).",
    )
    seed = c5.number_input(
        "Seed",
        0,
        2**31 - 1,
        key="t_seed",
        **KEEP,
        disabled=locked,
        help="Shuffling, validation split and mask choices (the weights use the sidebar's seed).",
    )
    c6.markdown(
        f"K = **{cfg.num_masks}** mask{'s' if cfg.num_masks > 1 else ''}",
        help="The number of masks is part of the architecture: change **Masks K** in the sidebar.",
    )
    c6.caption("(sidebar)")
    try:
        return TrainConfig(
            lr=float(lr), batch_size=int(bs), epochs=int(epochs), resample_every=int(resample), seed=int(seed)
        )
    except ConfigError as e:
        st.error(str(e))
        return None


# --- the run ---------------------------------------------------------------------------------------
def current_run(cfg: Config, data: Data, tcfg: TrainConfig | None) -> ses.TrainingRun | None:
    """The session's run: while not started it follows the data, architecture and settings shown;
    a finished run's model becomes the one the Sample page uses."""
    run, ds = ss.get(RUN), data.ds
    if run is None or run.state == ses.IDLE:
        if ds is None or tcfg is None:
            run = ss[RUN] = None
        elif run is None or run.cfg != cfg or run.dataset is not ds or run.train_cfg != tcfg:
            run = ss[RUN] = ses.TrainingRun(cfg, ds, tcfg)
    if run is not None and run.finished and run.has_model and ss.get(ui.MODEL) is not run.model:
        ss[ui.MODEL] = run.model
        if run.dataset is not None:
            ss[ui.DATASET], ss[DATA_OBJ] = data.name if run.dataset is ds else run.dataset.name, run.dataset
    return run


def stale_panel(run: ses.TrainingRun, cfg: Config, ds: Dataset | None) -> None:
    """The sidebar or the data changed under a started run: say so, offer both ways out."""
    if not (stale := ses.stale_message(run, cfg, ds)):
        return
    if run.cfg != cfg:
        run.pause()
    st.warning(stale)
    b1, b2 = st.columns(2)
    b1.button("Reset: train the new one", key="t_reset_new", on_click=new_run, type="primary", disabled=ds is None)
    if run.cfg != cfg:
        back = (run.cfg, "The old architecture")
        b2.button("Back to the old architecture", key="t_back", on_click=ui.take, args=back)


# --- the page, top to bottom -------------------------------------------------------------------------
def main() -> None:
    ss[FULL], ss[TICKING] = True, False  # the fragment sets TICKING while it trains; a full run redraws all
    for key in SETTINGS:  # a link's values (ui.init_view) or the defaults, before any widget is drawn
        ss.setdefault(key, VIEW_DEFAULTS[key])
    ui.cap_torch_threads()  # already done by app.py; training is where one student could starve the others
    cfg = ui.architecture_sidebar()
    st.title("Train")
    st.caption(
        "Watch the negative log-likelihood (NLL) fall while the network from the sidebar learns the data: "
        "lower NLL = more probability for real images."
    )
    old = ss.get(RUN)
    locked = old is not None and old.state in (ses.RUNNING, ses.PAUSED)
    left, right = st.columns([2, 3], gap="large")
    with left:
        data = data_panel(cfg, locked)
        tcfg = settings_panel(cfg, locked)
    run = current_run(cfg, data, tcfg)
    with right:
        if run is None:
            st.info("Choose data whose size matches the architecture to start training.")
        else:
            stale_panel(run, cfg, data.ds)
            buttons_panel(run)
            live_panels(run)
    if run is not None and run.has_model and run.state != ses.RUNNING:
        evaluation_panel(run)
    save_load_panel(run)


main()
