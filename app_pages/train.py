"""Train: watch the negative log-likelihood fall while the network drawn in the sidebar learns.

Thin view over made_viz.session.TrainingRun (one per browser session, in st.session_state), read
top to bottom as its panels: data, settings, the run's buttons and live curves, the test NLL, save
and load. While the run is "running", the live fragment re-runs every tick (longer when many
sessions of the process train), redraws only itself and advances the run by one short chunk.
"""
from dataclasses import dataclass

import streamlit as st

from made_viz import curves, ui
from made_viz import session as ses
from made_viz.checkpoint import CheckpointError, load_checkpoint
from made_viz.config import Config, ConfigError
from made_viz.data import EMBEDDED, DataError, Dataset, is_embedded_name, load_bytes, load_dataset
from made_viz.pretrained import get_info, list_pretrained, load_pretrained
from made_viz.train import TrainConfig

RUN, DATA_OBJ, FULL, TICKING = "train_run", ui.DATASET_OBJ, "_t_full_run", "_t_ticking"
TICK_KEY, CUT = "_t_tick", "_t_cut"  # this session's current tick; set while a fragment run has not trained yet
TICK, CHUNK, FULL_CHUNK, PEEK = ses.TICK_SECONDS, ses.CHUNK_SECONDS, ses.FULL_RUN_CHUNK_SECONDS, ses.PEEK_SECONDS
STEPS = 20  # the "+20 steps" button
TITLES = {"digits8": "8x8 digits", "mnist": "MNIST 28x28", "bars4": "Bars and stripes 4x4", "shapes8": "Shapes 8x8"}
LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]
UPLOAD_HELP = ("MNIST IDX (train-images-idx3-ubyte, optionally .gz), binarized-MNIST .npz or .amat, or a .npy array "
               "of images. At most 50 MB (the server's limit, set in .streamlit/config.toml).")
NO_CHART_BAR = {"displayModeBar": False}
ss = st.session_state


@dataclass(frozen=True)
class Data:
    """The data the left column picked: usable (`ds`), or None with the reason already shown."""
    ds: Dataset | None
    name: str | None


@st.cache_resource(max_entries=8, show_spinner=False)
def folder_dataset(path: str, mtime: float, method: str):
    return load_dataset(path, binarize=method, seed=0)


def adopt(ck, source: str) -> None:
    """Make a loaded checkpoint the session's model, architecture and (if known) data."""
    name = (ck.data or {}).get("name")
    ds = load_dataset(name) if is_embedded_name(name) else ss.get(DATA_OBJ)
    ss[RUN] = ses.TrainingRun.from_checkpoint(ck, ds, source)
    ui.set_config(ck.config)
    ss[ui.MODEL] = ck.model
    if is_embedded_name(name) and name in EMBEDDED:
        ss["t_source"], ss["t_builtin"], ss[ui.DATASET] = "Built-in", name, name


def on_checkpoint() -> None:
    if (f := ss.get("t_ckpt")) is not None:
        try:
            adopt(load_checkpoint(f.getvalue()), f"checkpoint {f.name}")
        except CheckpointError as e:
            ss["t_msg"] = f"{f.name} was not loaded: {e}"


def on_pretrained() -> None:
    try:
        info = get_info(ss["t_pre"])
        adopt(load_pretrained(info.name), f"pre-trained model “{info.title}”")
    except (KeyError, CheckpointError) as e:
        ss["t_msg"] = f"The pre-trained model could not be loaded: {e}"


def new_run() -> None:
    ss.pop(RUN, None)


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
    root = ses.data_dir()
    files = ses.list_data_files(root)
    pick = st.selectbox("File in the server's data folder", files, key="t_folder", disabled=locked or not files)
    if not pick:
        st.info("The server's data folder has no data files.")
        return None, None, None
    try:
        path = ses.resolve_data_file(root, pick)
        return folder_dataset(str(path), path.stat().st_mtime, method), f"folder:{pick}", None
    except (DataError, OSError) as e:
        return None, None, str(e)


def data_panel(cfg: Config, locked: bool) -> Data:
    st.subheader("Data")
    ss.setdefault("t_source", "Built-in")
    sources = ["Built-in", "Upload"] + (["Server folder"] if ses.data_dir() else [])
    source = st.radio("Source", sources, key="t_source", horizontal=True, disabled=locked, label_visibility="collapsed")
    if source == "Built-in":
        name = st.selectbox("Data set", list(EMBEDDED), key="t_builtin", format_func=TITLES.get, disabled=locked)
        ds, error = load_dataset(name), None
    else:
        method = st.radio("Binarize grey levels by", ["threshold", "sample"], key="t_binarize", horizontal=True,
                          disabled=locked, help="threshold: a pixel is 1 above half intensity; sample: 1 with "
                          "probability = intensity. Binary files are used as they are.")
        ds, name, error = (uploaded if source == "Upload" else from_folder)(method, locked)
    if error:
        st.error(f"This file cannot be used: {error}")
    if ds is None:
        return Data(None, name)
    ss[ui.DATASET], ss[DATA_OBJ] = name, ds
    st.plotly_chart(curves.preview_figure(ds.train, ds.shape, n=16, cols=8, height=130), key="t_preview",
                    config={**NO_CHART_BAR, "staticPlot": True})
    st.caption(f"{ds.description}. D = {ds.d} pixels per image.")
    if problem := ses.data_mismatch(ds, cfg):
        st.warning(problem)
        h, w = ds.image_shape
        if st.button(f"Use D = {h} x {w} for this data", key="t_use_d", type="primary", disabled=locked):
            ui.set_config(ses.config_for_data(cfg, ds))
            st.rerun()
        return Data(None, name)
    return Data(ds, name)


def settings_panel(cfg: Config, locked: bool) -> TrainConfig | None:
    st.subheader("Settings")
    c1, c2, c3 = st.columns([3, 2, 2])
    lr = c1.select_slider("Learning rate", LRS, value=3e-3, key="t_lr", format_func=lambda v: f"{v:g}",
                          disabled=locked, help="Adam's step size. Try 10 to see training diverge.")
    bs = c2.number_input("Batch size", 1, 5000, 100, key="t_bs", disabled=locked)
    epochs = c3.number_input("Epochs", 1, 2000, 50, key="t_epochs", disabled=locked)
    c4, c5, c6 = st.columns([3, 2, 2])
    resample = c4.number_input("New mask every", 1, 1000, 1, key="t_resample", disabled=locked or cfg.num_masks == 1,
                               help="Minibatches between mask switches when K > 1 (1 = every minibatch, as in the "
                                    "paper).")
    seed = c5.number_input("Seed", 0, 2**31 - 1, 0, key="t_seed", disabled=locked,
                           help="Shuffling, validation split and mask choices (the weights use the sidebar's seed).")
    c6.markdown(f"K = **{cfg.num_masks}** mask{'s' if cfg.num_masks > 1 else ''}", help="The number of masks is "
                "part of the architecture: change **Masks K** in the sidebar.")
    c6.caption("(sidebar)")
    try:
        return TrainConfig(lr=float(lr), batch_size=int(bs), epochs=int(epochs), resample_every=int(resample),
                           seed=int(seed))
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
        b2.button("Back to the old architecture", key="t_back", on_click=ui.set_config, args=(run.cfg,))


def buttons_panel(run: ses.TrainingRun) -> None:
    cols, state, wide = st.columns(4), run.state, {"width": "stretch"}
    if state == ses.IDLE:
        cols[0].button("Start", key="t_start", on_click=run.start, type="primary", icon=":material/play_arrow:", **wide)
    elif state == ses.RUNNING:
        cols[0].button("Pause", key="t_pause", on_click=run.pause, icon=":material/pause:", **wide)
    elif state == ses.PAUSED:
        cols[0].button("Resume", key="t_resume", on_click=run.resume, type="primary", icon=":material/play_arrow:",
                       **wide)
    if state in (ses.RUNNING, ses.PAUSED):
        cols[1].button("Stop", key="t_stop", on_click=run.stop, icon=":material/stop:", **wide,
                       help="End the run and keep the weights as they are now.")
    if state in (ses.IDLE, ses.PAUSED):
        cols[2].button(f"+{STEPS} steps", key="t_steps", on_click=run.train_steps, args=(STEPS,), **wide,
                       help=f"Train exactly {STEPS} minibatches, then pause: step by step.")
    if state != ses.IDLE:
        cols[0 if run.finished else 3].button(
            "New run" if run.finished else "Reset", key="t_reset", on_click=new_run, icon=":material/restart_alt:",
            type="primary" if run.finished else "secondary", **wide,
            help="Forget this run and start over with the data, architecture and settings shown.")
    if state == ses.DIVERGED:
        st.error(run.message)
    elif run.finished:
        st.success(run.message + " The Sample page now uses this model.")


def live() -> None:
    """Redraw the progress and the curves, then (while running) train one chunk.

    Drawing comes first: when the next tick is already due, Streamlit may stop a fragment run at
    its next element, and a chunk as long as the tick makes that likely, so drawing after the
    chunk lost most curve updates. A run stopped before its chunk makes the next run train first."""
    run = ss.get(RUN)
    if run is None:
        return
    if ss.get(TICKING) and not run.active:
        ss[TICKING] = False
        st.rerun()  # the last chunk finished the run: redraw the whole page (buttons, evaluation)
    full, ss[FULL] = ss.get(FULL), False
    tick = ss.get(TICK_KEY, TICK)  # chosen by the last full run (a fragment cannot reschedule itself)
    first = bool(run.active and ss.get(CUT))
    if first:
        train_chunk(run, tick, full)  # the last run was stopped before it trained
    ss[CUT] = run.active and not first
    st.progress(run.progress()["fraction"], text=status_line(run))
    fig = curves.nll_figure(run.train_points(), run.valid_points(), run.cfg.d, unit=ss.get("t_unit") or "nats",
                            references=run.references(), epochs=run.progress()["epochs"], height=290)
    st.plotly_chart(fig, key="t_curve", config=NO_CHART_BAR)
    st.segmented_control("Unit", ["nats", "bits"], key="t_unit", default="nats", label_visibility="collapsed",
                         format_func={"nats": "nats per example", "bits": "bits per dimension"}.get)
    st.caption("What to look for: both curves fall below the dashed *independent pixels* line as the network learns "
               "how pixels go together; when validation turns up while training keeps falling, it is overfitting.")
    if ss[CUT]:
        train_chunk(run, tick, full)
    ss[CUT] = False


def status_line(run: ses.TrainingRun) -> str:
    p = run.progress()
    if run.trainer is not None:
        speed = f" · {p['examples_per_s']:,.0f} examples/s" if p["examples_per_s"] else ""
        return f"**{run.state}** · epoch {p['epoch']} of {p['epochs']} · step {p['step']} of {p['total_steps']}{speed}"
    if p["epoch"]:
        return f"**{run.state}** · loaded a model trained for {p['epoch']} epochs"
    return f"**{run.state}** · press Start to train the network from the sidebar on this data"


def train_chunk(run, tick: float, full: bool) -> None:
    """One chunk: this session's fair share of the tick (see made_viz.session.Pacer)."""
    ss[TICKING] = True
    run.advance(max_seconds=FULL_CHUNK if full else CHUNK * tick / TICK, pacer=ses.PACER)


def peek() -> None:
    """What the model does now: a few samples and the conditionals of one validation image."""
    run = ss.get(RUN)
    snap = run.snapshot(n=8, max_age=PEEK - 0.5) if run is not None else None
    if snap is None:
        return
    a, b = st.columns([3, 2], vertical_alignment="bottom")
    k, shape = run.cfg.num_masks, run.cfg.shape
    a.markdown("**Samples now**" + (f", with mask {snap.mask + 1} of {k}" if k > 1 else "")
               + (" (the one training uses)" if k > 1 and run.trainer is not None else ""))
    a.plotly_chart(curves.images_figure(snap.samples, shape, cols=8, height=80), key="t_samples",
                   config={**NO_CHART_BAR, "staticPlot": True})
    if snap.image is not None:
        b.plotly_chart(curves.conditionals_figure(snap.image, snap.probs, shape, height=110), key="t_cond",
                       config={**NO_CHART_BAR, "staticPlot": True})


def live_panels(run: ses.TrainingRun) -> None:
    """The curves and the peek, as fragments that re-run on their own while the run is active."""
    if run.active:   # longer ticks when many sessions of this process train
        ss[TICK_KEY] = ses.PACER.tick(id(run))
    st.fragment(live, run_every=ss.get(TICK_KEY, TICK) if run.active else None)()
    st.fragment(peek, run_every=PEEK if run.active else None)()


# --- evaluation, checkpoints -----------------------------------------------------------------------
def evaluation_panel(run: ses.TrainingRun) -> None:
    st.divider()
    st.subheader("Test NLL: one mask against the ensemble")
    ev = run.cached_evaluation()
    if ev is None and run.dataset is not None and (run.finished or st.button("Evaluate on the test set", key="t_eval")):
        with st.spinner("Evaluating every test image with each mask…"):
            ev = run.evaluate()
    if run.dataset is None:
        st.info(f"The data this model was trained on is not available here: pick data with D = {run.cfg.d} to "
                "evaluate it.")
    elif ev is not None:
        refs = {r.label: r.nats for r in run.references()}
        m = st.columns(4)
        m[0].metric("One mask (mask 1)", f"{ev['nll_1']:.2f} nats", help=f"{ev['bpd_1']:.4f} bits per dimension")
        m[1].metric(f"Ensemble of K = {ev['K']}", f"{ev['nll_ensemble']:.2f} nats",
                    delta=f"{ev['nll_ensemble'] - ev['nll_1']:+.2f} nats" if ev["K"] > 1 else None,
                    delta_color="inverse", help=f"{ev['bpd_ensemble']:.4f} bits per dimension")
        m[2].metric("Independent pixels", f"{refs.get('independent pixels', float('nan')):.2f} nats")
        if "exact entropy (floor)" in refs:
            m[3].metric("Exact entropy (floor)", f"{refs['exact entropy (floor)']:.2f} nats")
        st.latex(r"p(\mathbf{x}) = \frac{1}{K}\sum_{k=1}^{K} p_k(\mathbf{x})")
        st.markdown(ENSEMBLE_NOTE if ev["K"] > 1 else "With K = 1 the ensemble is the single mask: set **Masks K** > 1 "
                    "in the sidebar to train several orderings at once and compare.")


ENSEMBLE_NOTE = ("Each mask is its own autoregressive model (same weights, different ordering or connections). "
                 "Averaging their *probabilities* is a mixture, and the log of an average is at least the average of "
                 "the logs, so the ensemble beats a typical single mask — at K forward passes per image.")


def save_load_panel(run: ses.TrainingRun | None) -> None:
    st.divider()
    st.subheader("Save and load")
    if msg := ss.pop("t_msg", None):
        st.error(msg)
    s1, s2, s3 = st.columns(3)
    if run is not None and run.has_model and run.state != ses.RUNNING:
        s1.download_button("Download the model (.pt)", run.checkpoint_bytes(), file_name="made_model.pt",
                           mime="application/octet-stream", icon=":material/download:", key="t_download")
        s1.caption(f"{run.source}; {ses.describe_cfg(run.cfg)}.")
    else:
        s1.caption("Train (or stop) a model to download it.")
    s2.file_uploader("Load a checkpoint", key="t_ckpt", on_change=on_checkpoint,
                     help="A .pt file downloaded from this app or written by `made-viz train --out`. Files are "
                          "checked; nothing in them is ever run.")
    if pre := list_pretrained():
        s3.selectbox("Load a pre-trained model", [p.name for p in pre], key="t_pre",
                     format_func={p.name: p.title for p in pre}.get)
        info = next(p for p in pre if p.name == ss["t_pre"])
        s3.button("Load", key="t_pre_load", on_click=on_pretrained, icon=":material/upload:")
        s3.caption(f"Test NLL {info.test_nll_1:.2f} nats with one mask, {info.test_nll_ensemble:.2f} with the "
                   f"ensemble of {info.K}. Made by `{info.command}`.")


# --- the page, top to bottom -------------------------------------------------------------------------
def main() -> None:
    ss[FULL], ss[TICKING] = True, False  # the fragment sets TICKING while it trains; a full run redraws all
    ui.cap_torch_threads()  # already done by app.py; training is where one student could starve the others
    cfg = ui.architecture_sidebar()
    st.title("Train")
    st.caption("Watch the negative log-likelihood (NLL) fall while the network from the sidebar learns the data: "
               "lower NLL = more probability for real images.")
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
