"""Exercises: guess first, then reveal (issue 14). Three exercises on the session's network and on the
shipped MNIST model, a score per session, and a teacher's link (`?exercise=see&seed=7`) that gives the
whole class the same questions. Widgets and layout only; the questions, their truth and the
explanations are in made_viz/exercises.py."""

import secrets
import threading

import numpy as np
import streamlit as st
import torch

from made_viz import data, lens, lens_figures, ui
from made_viz import exercises as X
from made_viz.images import grid_png
from made_viz.model import MADE
from made_viz.sampling import sample

NO_BAR = {"displayModeBar": False}
ss = st.session_state
MNIST = "mnist"


# --- the session's link, seed and score ----------------------------------------------------------------
def take_link() -> None:
    """Read the teacher's link once per session, before the sidebar rewrites the URL (it keeps only the
    architecture's keys). A link's seed fixes the questions; without one each session gets its own."""
    if "x_link" in ss:
        return
    link = X.read_link({k: st.query_params.get_all(k) for k in st.query_params})
    ss.x_link = link
    ss.x_seed = link.seed if link.seed is not None else secrets.randbelow(X.MAX_SEED)
    ss.x_n = {}
    ss.x_score = {}
    ss.x_ex = link.exercise or "see"


def question_id(exercise: str, extra: str = "") -> tuple:
    return exercise, extra, ss.x_seed, ss.x_n.get(exercise, 0)


def next_question(exercise: str) -> None:
    ss.x_n = {**ss.x_n, exercise: ss.x_n.get(exercise, 0) + 1}


def answered(qid: tuple, right: bool) -> None:
    """Count a revealed answer once, however often the page reruns."""
    done = ss.setdefault("x_done", set())
    if qid not in done:
        done.add(qid)
        ss.x_score = X.record(ss.x_score, qid[0], right)


def header() -> str:
    """Title and exercise picker on one line, so the question and its grid fit a 1280x720 projector screen."""
    st.html("<style>[data-testid=stMainBlockContainer]{padding-top:3rem}</style>")
    c_title, c_pick = st.columns([1, 2.2], vertical_alignment="center")
    c_title.title("Exercises")
    with c_pick:
        ex = (
            st.segmented_control(
                "Exercise",
                list(X.EXERCISES),
                key="x_ex",
                format_func=X.EXERCISES.get,
                label_visibility="collapsed",
            )
            or "see"
        )
    if msg := ss.x_link.message:
        st.warning(msg, icon=":material/link_off:")
    st.caption(
        f"Guess first, then reveal. Question set {ss.x_seed}: the link `?exercise={ex}&seed={ss.x_seed}` "
        "gives the whole class the same questions."
    )
    return ex


def score_line() -> None:
    """Drawn last, so an answer revealed in this run is already counted."""
    score = " · ".join(f"{X.EXERCISES[e]} **{r}/{n}**" for e, (r, n) in ss.x_score.items())
    st.markdown("Score this session (right/asked): " + (score or "no answers yet."))


def footer(exercise: str, revealed: bool, lines: list[str], right: bool) -> None:
    if revealed:
        (st.success if right else st.error)(lines[0], icon=":material/check_circle:" if right else ":material/info:")
        for line in lines[1:]:
            st.markdown(f"- {line}")
    st.button(
        "Next question", icon=":material/skip_next:", key=f"x_next_{exercise}", on_click=next_question, args=(exercise,)
    )


# --- "Which inputs can this output see?" --------------------------------------------------------------
def toggle_pixels(key: str, width: int) -> None:
    ss.x_guess = lens.canvas_click(ss.x_guess, ss[key].selection.points, width, "toggle")
    ss.x_canvas = ss.get("x_canvas", 0) + 1


def see_exercise(cfg) -> None:
    c_q, c_variant = st.columns([2.2, 1], vertical_alignment="center")
    with c_variant:
        variant = st.radio(
            "Ask about", list(X.SEE_VARIANTS), key="x_variant", format_func=X.SEE_VARIANTS.get, horizontal=True
        )
    if variant == "hidden" and not cfg.hidden:
        st.info("This network has no hidden layer: add one in the sidebar, or ask about an output.")
        return
    qid = question_id("see", variant)
    q = X.make_see_question(cfg, ui.mask_shown(), variant, X.question_rng(ss.x_seed, "see", qid[3], variant))
    if ss.get("x_see_qid") != qid:
        ss.x_see_qid, ss.x_guess, ss.x_revealed = qid, np.zeros(cfg.d, dtype=np.int64), False
    ms = q.masks
    what = "the inputs that reach it" if not q.is_output else "the inputs it depends on"
    c_q.subheader(f"Which inputs can {X.unit_name(q)} see?")
    st.markdown(
        f"Click the pixels you think are {what}, then press **Reveal**."
        + (" The outlined amber pixel is the output's own pixel." if q.is_output else "")
        + (
            f" **This network is broken on purpose** (masking “{q.cfg.masking}”): find the forbidden path."
            if q.cfg.masking != "made"
            else ""
        )
    )
    shape = cfg.shape
    width = shape[1] if shape else cfg.d
    height = 400 if shape and shape[0] > 1 else 160
    left, right = st.columns([1, 1])
    with left:
        target = np.zeros(cfg.d, dtype=bool)
        if q.is_output:
            target[q.unit] = True
        key = f"x_canvas_{ss.get('x_canvas', 0)}"
        st.plotly_chart(
            lens_figures.canvas_figure(ss.x_guess, shape, height=height, known=target),
            key=key,
            selection_mode="points",
            on_select=lambda: toggle_pixels(key, width),
            config=NO_BAR,
        )
        st.caption(f"Your guess: {int(np.sum(ss.x_guess))} pixel(s). Click a pixel again to take it back.")
        st.button("Reveal", type="primary", key="x_reveal_see", on_click=lambda: ss.update(x_revealed=True))
    result = X.grade_see(q, ss.x_guess)
    with right:
        if ss.x_revealed:
            answered(qid, result.right)
            cats = X.reveal_categories(X.sees(q), ss.x_guess)
            st.plotly_chart(
                X.reveal_figure(cats, ms.degrees[0], shape, q.unit if q.is_output else None, height=height),
                key="x_reveal_fig",
                config=NO_BAR,
            )
            st.caption(
                "Green ● right · orange ✕ missed · purple △ extra · grey: not seen · numbers: each pixel's "
                "order position m⁰."
            )
    footer("see", ss.x_revealed, result.lines, result.right)


# --- "Is this connection allowed?" ----------------------------------------------------------------------
def edge_exercise(cfg) -> None:
    qid = question_id("allowed")
    q = X.make_edge_question(cfg, ui.mask_shown(), X.question_rng(ss.x_seed, "allowed", qid[3]))
    if ss.get("x_edge_qid") != qid:
        ss.x_edge_qid, ss.x_edge_answer = qid, None
    src, dst = X.edge_units(q)
    st.subheader("Is this connection allowed?")
    st.markdown(f"### From {src}\n### to {dst}")
    c1, c2, _ = st.columns([1, 1, 4])
    c1.button("Yes, allowed", key="x_yes", on_click=lambda: ss.update(x_edge_answer=True), width="stretch")
    c2.button("No, masked", key="x_no", on_click=lambda: ss.update(x_edge_answer=False), width="stretch")
    answer = ss.x_edge_answer
    right, lines = X.grade_edge(q, bool(answer))
    if answer is not None:
        answered(qid, right)
    footer("allowed", answer is not None, lines, right)


# --- "Real or sampled?" ------------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading the pre-trained MNIST model…")
def mnist_model() -> tuple[MADE, threading.Lock]:
    """The shipped model, shared by every session, with the lock that serialises its use (sampling and
    the ensemble switch its active mask for a moment)."""
    from made_viz import pretrained

    return pretrained.load_pretrained(MNIST).model.eval(), threading.Lock()


@st.cache_resource(show_spinner="Reading MNIST…")
def mnist_data() -> data.Dataset:
    return data.load_dataset(MNIST)


@st.cache_resource(show_spinner="Drawing digits and scoring them…", max_entries=64)
def real_tiles(fingerprint: str, is_sample: tuple, test_rows: tuple, sample_seed: int, _model, _ds):
    """The grid's images, their log-likelihoods (log-mean-exp over the K masks: the ensemble's density)
    and their nearest training digits; keyed by the data's content hash and the question."""
    q = X.RealQuestion(is_sample, test_rows, sample_seed)
    model, lock = _model
    n_samples = sum(q.is_sample)
    with lock, torch.no_grad():
        drawn = np.asarray(sample(model, n_samples, seed=q.sample_seed).x, dtype=np.uint8)
        real = np.asarray(_ds.test[list(q.test_rows)], dtype=np.uint8)
        tiles = np.empty((len(q.is_sample), _ds.d), dtype=np.uint8)
        tiles[np.array(q.is_sample)] = drawn
        tiles[~np.array(q.is_sample)] = real
        log_p = model.log_prob_ensemble(torch.tensor(tiles, dtype=torch.float32)).numpy()
    _, dist = data.nearest_neighbors(tiles, _ds.train)
    return tiles, log_p, dist


def real_exercise() -> None:
    try:
        model, ds = mnist_model(), mnist_data()
    except (ImportError, KeyError, OSError, data.DataError) as e:
        st.error(f"The shipped MNIST model or data is not available here ({e}), so this exercise cannot run.")
        return
    qid = question_id("real")
    q = X.make_real_question(ds.n_test, X.question_rng(ss.x_seed, "real", qid[3]))
    tiles, log_p, dist = real_tiles(ds.fingerprint, q.is_sample, q.test_rows, q.sample_seed, model, ds)
    if ss.get("x_real_qid") != qid:
        ss.x_real_qid, ss.x_real_revealed = qid, False
        for i in range(len(q.is_sample)):
            ss.pop(f"x_tile_{i}", None)
    st.subheader("Real or sampled?")
    st.markdown(
        "Some of these digits are MNIST test images, the others were drawn by the shipped MADE pixel by "
        "pixel. Tick the ones you think **the model drew**, then press **Reveal**."
    )
    cols = st.columns(len(q.is_sample) // 2)
    for i in range(len(q.is_sample)):
        with cols[i % len(cols)]:
            st.image(grid_png(tiles[i][None], ds.image_shape, cols=1, scale=6), caption=f"Tile {i + 1}")
            st.checkbox("sampled", key=f"x_tile_{i}", disabled=ss.x_real_revealed)
            if ss.x_real_revealed:
                kind = "sample" if q.is_sample[i] else "real"
                st.markdown(f"**{kind}** · log p = {log_p[i]:.0f} · NN {int(dist[i])} px")
    st.button("Reveal", type="primary", key="x_reveal_real", on_click=lambda: ss.update(x_real_revealed=True))
    marked = [bool(ss.get(f"x_tile_{i}")) for i in range(len(q.is_sample))]
    right, _, lines = X.grade_real(q, marked, log_p, dist)
    if ss.x_real_revealed:
        answered(qid, right)
        lines.append(
            "log p: the model's log-likelihood in nats (higher = more typical for the model); NN: pixels "
            "that differ from the closest of the 50,000 training digits."
        )
    footer("real", ss.x_real_revealed, lines, right)


# --- the page, top to bottom -------------------------------------------------------------------------
def main() -> None:
    take_link()
    cfg = ui.architecture_sidebar()
    exercise = header()
    {"see": lambda: see_exercise(cfg), "allowed": lambda: edge_exercise(cfg), "real": real_exercise}[exercise]()
    score_line()


main()
