"""The Train page's run panels: the live curves and peek (fragments that train one chunk per
tick), the test NLL, and saving and loading models. Imported by app_pages/train.py, which reads
top to bottom as the page's list of panels; split off to keep each file one screenful of ideas."""

import streamlit as st

from made_viz import curves, export, images, paper, ui
from made_viz import session as ses
from made_viz.checkpoint import CheckpointError, load_checkpoint
from made_viz.config import ConfigError
from made_viz.data import EMBEDDED, is_embedded_name, load_dataset
from made_viz.pretrained import get_info, list_pretrained, load_pretrained
from made_viz.training_process import stop_wait

RUN, DATA_OBJ, FULL, TICKING = ui.RUN, ui.DATASET_OBJ, "_t_full_run", "_t_ticking"
REFUSED = "_t_refused"  # why the last Start was refused (the class's budget), said above the buttons
TICK_KEY, CUT = "_t_tick", "_t_cut"  # this session's current tick; set while a fragment run has not trained yet
STOP_SHOWN = "_t_stopping_shown"  # the last full run said "stopping": redraw it all once the final count is in
TICK, CHUNK, FULL_CHUNK, PEEK = ses.TICK_SECONDS, ses.CHUNK_SECONDS, ses.FULL_RUN_CHUNK_SECONDS, ses.PEEK_SECONDS
NO_CHART_BAR = export.TOOLBAR  # the camera only: a PNG for slides
STEPS = 20  # the "+20 steps" button
ss = st.session_state


def new_run() -> None:
    ss.pop(RUN, None)


def adopt(ck, source: str) -> None:
    """Make a loaded checkpoint the session's model, architecture and (if known) data. ConfigError,
    and nothing changes, if it is bigger than a student may hold here (made_viz.budget)."""
    ui.check(ck.config)
    ui.admit(run=ck.config, model=None)
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
        except (CheckpointError, ConfigError) as e:
            ss["t_msg"] = f"{f.name} was not loaded: {e}"


def on_pretrained() -> None:
    try:
        info = get_info(ss["t_pre"])
        adopt(load_pretrained(info.name), f"pre-trained model “{info.title}”")
    except (KeyError, CheckpointError, ConfigError) as e:
        ss["t_msg"] = f"The pre-trained model could not be loaded: {e}"


def admitted(run: ses.TrainingRun, action, *args) -> None:
    """Start `run` with `action` if the class's budget holds its network too (made_viz.budget: a
    started run keeps a model, its gradients and optimiser state); else say why, above the buttons."""
    try:
        ui.admit(run=run.cfg)
    except ConfigError as e:
        ss[REFUSED] = f"Training was not started: {e}"
        return
    ss.pop(REFUSED, None)
    action(*args)


def buttons_panel(run: ses.TrainingRun) -> None:
    if state_msg := ss.pop(REFUSED, None):
        st.error(state_msg, icon=":material/memory:")
    cols, state, wide = st.columns(4), run.state, {"width": "stretch"}
    if state == ses.IDLE:
        cols[0].button(
            "Start",
            key="t_start",
            on_click=admitted,
            args=(run, run.start),
            type="primary",
            icon=":material/play_arrow:",
            **wide,
        )
    elif state == ses.RUNNING:
        cols[0].button("Pause", key="t_pause", on_click=run.pause, icon=":material/pause:", **wide)
    elif state == ses.PAUSED:
        cols[0].button(
            "Resume", key="t_resume", on_click=run.resume, type="primary", icon=":material/play_arrow:", **wide
        )
    if state in (ses.RUNNING, ses.PAUSED):
        cols[1].button(
            "Stop",
            key="t_stop",
            on_click=stop_run,
            args=(run,),
            icon=":material/stop:",
            **wide,
            help="End the run and keep the weights as they are now.",
        )
    if state in (ses.IDLE, ses.PAUSED):
        cols[2].button(
            f"+{STEPS} steps",
            key="t_steps",
            on_click=admitted,
            args=(run, steps_run, run),
            disabled=run.stepping,  # one "+20" at a time: the page says "training 20 steps" until they are in
            **wide,
            help=f"Train exactly {STEPS} minibatches, then pause: step by step.",
        )
    if state != ses.IDLE:
        cols[0 if run.finished else 3].button(
            "New run" if run.finished else "Reset",
            key="t_reset",
            on_click=new_run,
            icon=":material/restart_alt:",
            type="primary" if run.finished else "secondary",
            **wide,
            help="Forget this run and start over with the data, architecture and settings shown.",
        )
    ss[STOP_SHOWN] = run.stopping
    if run.step_error and not run.stepping:
        st.error(f"The last +{STEPS} steps could not be taken: {run.step_error}")
    if state == ses.DIVERGED:
        st.error(run.message)
    elif ss[STOP_SHOWN]:
        st.info(STOPPING, icon=":material/hourglass_top:")
    elif run.finished:
        st.success(run.message + " The Sample page now uses this model.")


STOPPING = "Stopping: the training process is finishing its last minibatch; the final step count follows."


def stop_run(run: ses.TrainingRun) -> None:
    """The Stop button: a run in this process stops at once; one trained by a worker is waited for at most
    `training_process.stop_wait()` seconds (a worker starved of CPU by a class's clicks answered only after seconds)."""
    if run.TRAINS_ELSEWHERE:
        run.stop(wait=stop_wait())
    else:
        run.stop()


def steps_run(run: ses.TrainingRun) -> None:
    """The "+20 steps" button: like Stop, a worker's answer is waited for at most `stop_wait()` seconds (it takes
    the steps in turns with its other runs); the live panel shows them arriving and then redraws the page."""
    if run.TRAINS_ELSEWHERE:
        run.train_steps(STEPS, wait=stop_wait())
    else:
        run.train_steps(STEPS)


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
    if ss.get(STOP_SHOWN) and not run.stopping:
        ss[STOP_SHOWN] = False
        st.rerun()  # the final count of a Stop came: the page said "stopping", now the result
    full, ss[FULL] = ss.get(FULL), False
    tick = ss.get(TICK_KEY, TICK)  # chosen by the last full run (a fragment cannot reschedule itself)
    first = bool(run.active and ss.get(CUT))
    if first:
        train_chunk(run, tick, full)  # the last run was stopped before it trained
    ss[CUT] = run.active and not first
    st.progress(run.progress()["fraction"], text=status_line(run))
    fig = curves.nll_figure(
        run.train_points(),
        run.valid_points(),
        run.cfg.d,
        unit=ss.get("t_unit") or "nats",
        references=run.references() + published_lines(run),
        epochs=run.progress()["epochs"],
        height=290,
    )
    st.plotly_chart(fig, key="t_curve", config=NO_CHART_BAR)
    st.segmented_control(
        "Unit",
        ["nats", "bits"],
        key="t_unit",
        label_visibility="collapsed",
        format_func={"nats": "nats per example", "bits": "bits per dimension"}.get,
        persist_state="session",
    )
    ui.sync_url(ui.get_config())  # in a fragment run too: the unit chosen goes into the link
    st.caption(
        "What to look for: both curves fall below the dashed *independent pixels* line as the network learns "
        "how pixels go together; when validation turns up while training keeps falling, it is overfitting."
    )
    if ss[CUT]:
        train_chunk(run, tick, full)
    ss[CUT] = False


def published_results() -> tuple[paper.PaperResults | None, str | None]:
    """The committed published/precomputed results, or None and the sentence saying why not."""
    try:
        return paper.load_results(), None
    except paper.ResultsError as e:
        return None, f"{e} The published figures are not shown."


def published_lines(run: ses.TrainingRun) -> list[curves.Reference]:
    """The reference's and the paper's test NLLs as lines, for the shipped binarized MNIST only."""
    if not paper.applies_to(run.dataset):
        return []
    results, error = published_results()
    if error:
        st.warning(error)
    return [] if results is None else paper.reference_lines(results, run.dataset)


def status_line(run: ses.TrainingRun) -> str:
    p = run.progress()
    if run.trainer is not None:
        speed = f" · {p['examples_per_s']:,.0f} examples/s" if p["examples_per_s"] else ""
        state = "stopping" if run.stopping else f"training {STEPS} steps" if run.stepping else run.state
        return f"**{state}** · epoch {p['epoch']} of {p['epochs']} · step {p['step']} of {p['total_steps']}{speed}"
    if p["epoch"]:
        return f"**{run.state}** · loaded a model trained for {p['epoch']} epochs"
    return f"**{run.state}** · press Start to train the network from the sidebar on this data"


def train_chunk(run, tick: float, full: bool) -> None:
    """One chunk: this session's fair share of the tick (see made_viz.session.Pacer). A run trained by a
    worker process is only told to train until the next tick is due (with some slack for a late one)
    and the page goes on at once: a page run never waits for training, so a click queued behind it is
    answered at once. A run trained in this thread trains its chunk here (a short one in a full run)."""
    ss[TICKING] = True
    if run.TRAINS_ELSEWHERE:
        run.advance(max_seconds=tick * ses.TICK_COVER, pacer=ses.PACER, wait=False)
    else:
        run.advance(max_seconds=FULL_CHUNK if full else CHUNK * tick / TICK, pacer=ses.PACER)


def peek() -> None:
    """What the model does now: a few samples and the conditionals of one validation image."""
    run = ss.get(RUN)
    snap = run.snapshot(n=8, max_age=PEEK - 0.5) if run is not None else None
    if snap is None:
        return
    a, b = st.columns([3, 2], vertical_alignment="bottom")
    k, shape = run.cfg.num_masks, run.cfg.shape
    a.markdown(
        "**Samples now**"
        + (f", with mask {snap.mask + 1} of {k}" if k > 1 else "")
        + (" (the one training uses)" if k > 1 and run.trainer is not None else "")
    )
    a.plotly_chart(
        images.grid_figure(snap.samples, shape, cols=8, height=80),
        key="t_samples",
        config={**NO_CHART_BAR, "staticPlot": True},
    )
    if snap.image is not None:
        b.plotly_chart(
            curves.conditionals_figure(snap.image, snap.probs, shape, height=110),
            key="t_cond",
            config={**NO_CHART_BAR, "staticPlot": True},
        )


def live_panels(run: ses.TrainingRun) -> None:
    """The curves and the peek, as fragments that re-run on their own while the run is active."""
    if run.active:  # longer ticks (and peeks) when many sessions of this process train
        ss[TICK_KEY] = ses.PACER.tick(id(run))
    st.fragment(live, run_every=ss.get(TICK_KEY, TICK) if run.active or ss.get(STOP_SHOWN) else None)()
    st.fragment(peek, run_every=ses.PACER.peek(id(run)) if run.active else None)()


# --- evaluation, checkpoints -----------------------------------------------------------------------
def evaluation_panel(run: ses.TrainingRun) -> None:
    st.divider()
    st.subheader("Test NLL: one mask against the ensemble")
    if run.stopping or run.stepping:  # newer weights are on their way: evaluate those, not older ones
        st.caption("The test NLL follows once the run has " + ("stopped." if run.stopping else "taken its steps."))
        return
    ev = run.cached_evaluation()
    if ev is None and run.dataset is not None and (run.finished or st.button("Evaluate on the test set", key="t_eval")):
        with st.spinner("Evaluating every test image with each mask…"):
            ev = run.evaluate()
    if run.dataset is None:
        st.info(
            f"The data this model was trained on is not available here: pick data with D = {run.cfg.d} to evaluate it."
        )
    elif ev is not None:
        refs = {r.label: r.nats for r in run.references()}
        m = st.columns(4)
        m[0].metric("One mask (mask 1)", f"{ev['nll_1']:.2f} nats", help=f"{ev['bpd_1']:.4f} bits per dimension")
        m[1].metric(
            f"Ensemble of K = {ev['K']}",
            f"{ev['nll_ensemble']:.2f} nats",
            delta=f"{ev['nll_ensemble'] - ev['nll_1']:+.2f} nats" if ev["K"] > 1 else None,
            delta_color="inverse",
            help=f"{ev['bpd_ensemble']:.4f} bits per dimension",
        )
        m[2].metric("Independent pixels", f"{refs.get('independent pixels', float('nan')):.2f} nats")
        if "exact entropy (floor)" in refs:
            m[3].metric("Exact entropy (floor)", f"{refs['exact entropy (floor)']:.2f} nats")
        left, right = st.columns([2, 3], gap="large")
        left.latex(r"p(\mathbf{x}) = \frac{1}{K}\sum_{k=1}^{K} p_k(\mathbf{x})")
        left.markdown(
            ENSEMBLE_NOTE
            if ev["K"] > 1
            else "With K = 1 the ensemble is the single mask: set **Masks K** "
            "> 1 in the sidebar to train several orderings at once and compare."
        )
        with right:
            masks_panel(run, ev)


def masks_panel(run: ses.TrainingRun, ev: dict) -> None:
    """What more masks buy: the paper's Figure 2 from the committed results, with the student's own
    K and figures marked when they trained on the same data (the shipped binarized MNIST)."""
    st.markdown("**What more masks buy** (binarized MNIST, one hidden layer of 500)")
    results, error = published_results()
    if error:
        st.warning(error)
        return
    mine = paper.applies_to(run.dataset)
    you = paper.MaskPoint(ev["K"], ev["nll_1"], ev["nll_ensemble"] if ev["K"] > 1 else None) if mine else None
    st.plotly_chart(paper.masks_figure(results, you, height=260), key="t_masks", config=NO_CHART_BAR)
    st.caption(
        paper.provenance(results)
        + (f" You: {ses.describe_cfg(run.cfg)}." if mine else " Train on MNIST to see your own model here.")
    )


ENSEMBLE_NOTE = (
    "Each mask is its own autoregressive model (same weights, different ordering or connections). "
    "Averaging their *probabilities* is a mixture, and the log of an average is at least the average of "
    "the logs, so the ensemble beats a typical single mask — at K forward passes per image."
)


def save_load_panel(run: ses.TrainingRun | None) -> None:
    st.divider()
    st.subheader("Save and load")
    if msg := ss.pop("t_msg", None):
        st.error(msg)
    s1, s2, s3 = st.columns(3)
    if run is not None and run.has_model and run.state != ses.RUNNING:
        s1.download_button(
            "Download the model (.pt)",
            run.checkpoint_bytes(),
            file_name="made_model.pt",
            mime="application/octet-stream",
            icon=":material/download:",
            key="t_download",
        )
        s1.caption(f"{run.source}; {ses.describe_cfg(run.cfg)}.")
    else:
        s1.caption("Train (or stop) a model to download it.")
    s2.file_uploader(
        "Load a checkpoint",
        key="t_ckpt",
        on_change=on_checkpoint,
        help="A .pt file downloaded from this app or written by `made-viz train --out`. Files are "
        "checked; nothing in them is ever run.",
    )
    if pre := list_pretrained():
        s3.selectbox(
            "Load a pre-trained model",
            [p.name for p in pre],
            key="t_pre",
            format_func={p.name: p.title for p in pre}.get,
        )
        info = next(p for p in pre if p.name == ss["t_pre"])
        s3.button("Load", key="t_pre_load", on_click=on_pretrained, icon=":material/upload:")
        s3.caption(
            f"Test NLL {info.test_nll_1:.2f} nats with one mask, {info.test_nll_ensemble:.2f} with the "
            f"ensemble of {info.K}. Made by `{info.command}`."
        )
