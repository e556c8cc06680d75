"""Sample: watch a trained MADE draw images pixel by pixel, check it is not copying the training
set, complete half images and see where the model is surprised (likelihood lens).

Thin view, read top to bottom as: pick the model, then one of four lazy tabs. Each trajectory is
computed once per (model, settings) and kept in session_state with its figure; the browser plays
it (plotly frames). Figures come from made_viz.animation, the numbers from made_viz.lens."""

import numpy as np
import streamlit as st

from made_viz import animation as A
from made_viz import lens, lens_figures, metrics, ui
from made_viz.app_pages import page_path
from made_viz.app_pages.sample_panels import (
    NO_BAR,
    Ctx,
    animation_download,
    clamp,
    completion_entry,
    lens_fig,
    lens_image,
    model_dataset,
    neighbours,
    nn_fig,
    png,
    pretrained,
    pretrained_config,
    pretrained_model,
    sample_entry,
    show_animation,
    train_stats,
)
from made_viz.model import model_surprise
from made_viz.urlstate import SAMPLE_TAB, SAMPLE_TABS

KEEP = {"persist_state": "session"}  # a setting survives a page switch, so the link holds it on every page
NOT_HERE = (
    "This link's model is the sender's own trained model, which lives only in their session: "
    "showing a pre-trained model instead."
)
NO_MODEL = "No model to sample from yet. Train a model on the Train page, or pick a pre-trained one."
GREEDY = (
    "**Greedy** takes the more likely value of every pixel (the mode of each conditional) instead of "
    "drawing it. With no randomness left every 'sample' is the same image, and it looks smoothed, like an "
    "'average' digit: it lacks the variety of true samples and is *not* a sample from p(x)."
)
ss = st.session_state
TAB_DEFAULTS = {
    "s_n": 16,
    "s_seed": 0,
    "s_greedy": False,
    "s_speed": "normal",
    "s_all": False,
    "s_order": False,
    "c_image": 0,
    "c_region": "top half",
    "c_n": 8,
    "c_seed": 0,
    "c_speed": "normal",
    "c_all": False,
    "l_source": "Test image",
    "l_test": 0,
    "l_which": 0,
    "l_brush": "toggle",
}


# --- the four tabs ---------------------------------------------------------------------------------
@st.fragment
def sample_tab(c: Ctx) -> None:
    ctl, right = st.columns([1, 4.3])
    with ctl:
        st.selectbox("Samples", [1, 4, 9, 16, 25, 36], key="s_n", **KEEP)
        st.number_input("Seed", 0, 2**31 - 1, key="s_seed", **KEEP)
        st.button(
            "New seed",
            key="s_new",
            width="stretch",
            help="Next seed: new random numbers, new samples.",
            on_click=lambda: ss.update(s_seed=ss.s_seed + 1),
        )
        greedy = st.toggle(
            "Greedy", key="s_greedy", help="Take the most likely value of each pixel instead of drawing it.", **KEEP
        )
        speed = st.select_slider("Speed", list(A.SPEEDS), key="s_speed", **KEEP)
        all_steps = st.checkbox("All steps", key="s_all", help="One frame per pixel (a bigger figure to send).", **KEEP)
        order = st.checkbox(
            "Show the order",
            key="s_order",
            help="The path the sampler walks through the pixels, drawn on every sample.",
            **KEEP,
        )
    entry = sample_entry(c)
    with right:
        fig = show_animation(c, entry, speed, all_steps, order)
    st.markdown(
        "**What to look for:** the red square is the pixel being drawn and the number under each tile is "
        "p(x = 1 | earlier pixels) → the value drawn; on the right, orange marks coin flips and dark or white "
        f"marks sure pixels. Pixels are drawn in mask {c.mask + 1}'s order ({c.order_name})."
    )
    if greedy:
        st.info(GREEDY)
    d1, d2, d3 = st.columns(3)
    d1.download_button(
        "Download the grid (PNG)",
        png(entry["traj"].x.numpy(), c.shape, scale=6),
        "made_samples.png",
        "image/png",
        key="spng",
        icon=":material/image:",
        width="stretch",
    )
    d2.download_button(
        "Download the animation (GIF)",
        lambda: A.animation_gif(entry["traj"], c.shape)[0],
        "made_samples.gif",
        "image/gif",
        key="s_gif",
        icon=":material/movie:",
        width="stretch",
    )
    with d3:
        animation_download(
            fig, f"{ss.s_n} samples of {c.mkey}, mask {c.mask + 1} ({c.order_name} order), seed {ss.s_seed}.", "s_html"
        )
    ui.sync_url(ui.get_config())  # a fragment run too: the settings just changed go into the link


def copying_tab(c: Ctx) -> None:
    if c.ds is None:
        st.info("The training data are needed to find neighbours, and they are not available for this model.")
        return
    traj = sample_entry(c)["traj"]
    x, lp = traj.x.numpy().astype(np.uint8), traj.log_prob()
    idx, dist = neighbours(c.ds.fingerprint, x, c.ds)
    left, right = st.columns([2.2, 1])
    left.plotly_chart(nn_fig(x, c.ds.train[idx], dist, c.shape, log_probs=lp), config=NO_BAR)
    right.markdown(
        "**Is the model copying?** Each sample (black) sits beside the training image nearest to it "
        "(blue), with the number of pixels that differ."
    )
    right.metric("Median distance to the training set", f"{np.median(dist):.0f} px")
    right.caption(
        f"For comparison, real test images are a median "
        f"{train_stats(c.ds.fingerprint, c.ds).median_test_distance:.0f} px from their nearest training "
        "image: samples about as far are new images, 0 px is a copy."
    )
    right.metric("Mean −log p(sample)", f"{-lp.mean():.2f} nats")
    right.caption(f"= {metrics.bits_per_dim(-lp.mean(), c.d):.4f} bits per pixel, under mask {c.mask + 1}.")
    with right.expander("Each sample's log-likelihood"):
        st.dataframe(lens.sample_table(lp, dist, c.d), hide_index=True, height=250)


@st.fragment
def complete_tab(c: Ctx) -> None:
    if c.ds is None:
        st.info("Completion starts from a test image of the model's data set, which is not available here.")
        return
    ctl, right = st.columns([1, 4.3])
    clamp("c_image", c.ds.n_test - 1)  # before its widget is drawn
    with ctl:
        mini = st.empty()
        st.number_input("Test image", 0, c.ds.n_test - 1, key="c_image", **KEEP)
        st.selectbox("Known pixels", ["top half", "left half", "bottom half", "random 50%"], key="c_region", **KEEP)
        n = st.selectbox("Completions", [4, 8, 16], key="c_n", **KEEP)
        st.number_input("Seed", 0, 2**31 - 1, key="c_seed", **KEEP)
        speed = st.select_slider("Speed", list(A.SPEEDS), key="c_speed", **KEEP)
        all_steps = st.checkbox("All steps", key="c_all", help="One frame per drawn pixel.", **KEEP)
    entry, known, xt = completion_entry(c)
    mini.image(
        png(np.stack([xt, np.where(known, xt, np.nan)]), c.shape, cols=2, scale=4 if c.d > 100 else 10),
        caption="The test image · what is given (blue: to fill in)",
        width="stretch",
    )
    with right:
        show_animation(c, entry, speed, all_steps, cols=min(n, 4))
    traj = entry["traj"]
    orders = [c.model.mask_set(k).order for k in range(c.model.cfg.num_masks)]
    (st.success if traj.exact else st.warning)(A.completion_advice(traj.exact, traj.note, known, orders))
    st.markdown(
        "**What to look for:** amber pixels are given. With the top half given and the natural order the "
        "given pixels come first, so the completions are exact and differ only in what the model invents."
    )
    ui.sync_url(ui.get_config())


@st.fragment
def lens_tab(c: Ctx) -> None:
    ctl, right = st.columns([1, 2.6])
    with ctl:
        x = lens_image(c)
    if x is None:
        return
    stats = train_stats(c.ds.fingerprint, c.ds) if c.ds is not None else None
    view = lens.lens(model_surprise(c.model, x, c.mask)[0], stats, x)
    right.plotly_chart(lens_fig(view.model_map, view.base_map, c.shape, height=330), config=NO_BAR)
    for col, (name, nats, bits) in zip(right.columns(2), view.totals()):
        col.metric(f"{name}: −log p(x)", f"{nats:.3f} nats")
        col.caption(f"= {bits:.4f} bits per pixel")
    st.markdown(
        "**What to look for:** dark red pixels surprised the model. By the chain rule the map adds up exactly "
        "to −log p(x); the independent-pixel model cannot use the pixels already seen, so it is surprised "
        "all along every stroke. Below, the running sum along the order ends at each total."
    )
    st.latex(r"-\log p(\mathbf{x}) = \sum_{d=1}^{D} -\log p\big(x_{o(d)} \mid x_{o(1)},\dots,x_{o(d-1)}\big)")
    order = c.model.mask_set(c.mask).order
    st.plotly_chart(lens_figures.chain_rule_figure(view.model_map, view.base_map, order), config=NO_BAR)
    ui.sync_url(ui.get_config())


# --- the page, top to bottom -------------------------------------------------------------------------
def pick_model() -> Ctx | None:
    """The title row: which model to sample from, and which of its masks (None: no model yet)."""
    infos = pretrained.list_pretrained() if pretrained is not None else []
    options = (["session"] if ss.get(ui.MODEL) is not None else []) + [i.name for i in infos]
    if not options:
        st.title("Sample")
        st.info(NO_MODEL, icon=":material/model_training:")
        st.page_link(page_path("train"), label="Train a model", icon=":material/trending_down:")
        return None
    titles = {i.name: f"Pre-trained: {i.title}" for i in infos} | {"session": "Your model from the Train page"}
    if ss.get("s_model") is not None and ss["s_model"] not in options:  # a link's model this server cannot show
        ss.pop("s_model")
        st.info(NOT_HERE if "mnist" in options else "This link's model is not available here: another is shown.")
    head, top1, top2 = st.columns([1.3, 3, 2], vertical_alignment="bottom")
    head.title("Sample")
    # a default index only when neither the session nor a link chose (a value set through session state
    # and an index as well make Streamlit warn on every such link)
    first = (
        {} if "s_model" in ss else {"index": next((j for j, o in enumerate(options) if o in ("session", "mnist")), 0)}
    )
    choice = top1.selectbox(
        "Model",
        options,
        key="s_model",
        format_func=titles.get,
        **first,
        help="This page uses the model's own architecture, not the sidebar's.",
        **KEEP,
    )
    if choice == "session":
        model, ds_name = ss[ui.MODEL], ss.get(ui.DATASET)
        mc, default_mask, mkey = model.cfg, model.mask_index, lens.model_key(model)
    else:  # the shared copy is fetched below, under the mask chosen: its mask is never switched
        mc, default_mask = pretrained_config(choice)
        ds_name, mkey = next(i.dataset for i in infos if i.name == choice), choice
    ds = model_dataset(ds_name, mc.d)
    order_name = mc.order if isinstance(mc.order, str) else "explicit"
    clamp("s_mask", mc.num_masks - 1)
    mask = top2.selectbox(
        "Mask: its ordering samples and scores",
        range(mc.num_masks),
        **({} if "s_mask" in ss else {"index": default_mask}),
        key="s_mask",
        format_func=lambda k: f"mask {k + 1} · {order_name} order",
        disabled=mc.num_masks == 1,
        help=f"This model: D = {mc.d}, hidden layers {', '.join(map(str, mc.hidden)) or 'none'}, {mc.num_masks} "
        f"mask(s), data {ds_name or 'unknown'}. Each mask has its own ordering (random orders) or its own "
        "hidden degrees (named orders); one set of weights serves them all.",
        **KEEP,
    )
    if choice != "session":
        model = pretrained_model(choice, mask)
    if ds is None:
        st.warning(
            "The training data of this model are not available here: nearest neighbours, completions of "
            "test images and the independent-pixel baseline are off."
        )
    shape = mc.shape or (ds.shape if ds is not None else None)  # None: draw one row of D pixels
    return Ctx(model, mkey, ds, shape, mask, order_name, shared=choice != "session")


def keep_tab() -> None:
    """The open tab outlives a page switch (a tab has no persist_state): while the tabs are drawn their own key is
    the truth and is copied aside; after a switch the copy (or a link's tab, made_viz.urlstate) opens them again."""
    if "s_tab" not in ss:
        ss["s_tab"] = ss.get(SAMPLE_TAB, SAMPLE_TABS[0])
    ss[SAMPLE_TAB] = ss["s_tab"]


def main() -> None:
    keep_tab()  # before the sidebar writes the link
    ui.architecture_sidebar()
    # The tabs are lazy (only the open one runs), so the widgets of the other tabs are not drawn in a run;
    # Streamlit would forget their values. Re-assigning them keeps them (and sets the defaults once).
    for k, v in TAB_DEFAULTS.items():
        ss[k] = ss.get(k, v)
    if (c := pick_model()) is None:
        return
    # lazy tabs: only the open tab runs and is sent (a sidebar change then costs one tab, not four)
    tabs = st.tabs(list(SAMPLE_TABS), key="s_tab", on_change="rerun")
    for tab, draw in zip(tabs, (sample_tab, copying_tab, complete_tab, lens_tab)):
        if tab.open:
            with tab:
                draw(c)


main()
