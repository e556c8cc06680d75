"""Architecture explorer: the degree-labelled masked network, tracing, the masks and their
product, a Jacobian check of the autoregressive property, and switches that break it on purpose.
Widgets and layout only, read top to bottom as the header and three tabs; the cached work is in
app_pages/architecture_work.py, the graph and the figures come from made_viz.graph/figures."""

import streamlit as st

from made_viz import figures as F
from made_viz import graph as G
from made_viz import ui
from made_viz.app_pages.architecture_work import (
    NO_BAR,
    Ctx,
    conn_fig,
    dep_fig,
    direct_fig,
    exact_sums,
    jacobian_check,
    mask_fig,
    mask_set,
    network_download,
    network_fig,
    on_break,
    on_pick,
)
from made_viz.app_pages.netview_component import network_view, view_data
from made_viz.budget import EXACT_SUM_MAX_D, JACOBIAN_MAX_D, exact_sum_affordable
from made_viz.config import Config, config_json
from made_viz.netview import fits_browser
from made_viz.urlstate import ARCH_TAB


# --- panels ----------------------------------------------------------------------------------------
def checked(cfg: Config) -> Ctx:
    """The mask shown and the check of its autoregressive property (the torch model's Jacobian
    when affordable, else the masks' product)."""
    k, cj = ui.mask_shown(), config_json(cfg)
    ms = mask_set(cj, k)
    bad, how = jacobian_check(cj, k)
    bad_masks = [] if bad or how == "masks" else G.first_violation(ms)  # structurally broken, yet dead ReLUs hide it
    return Ctx(cfg, k, cj, ms, bad, how, (bad or bad_masks or [None])[0])


def badge(c: Ctx) -> None:
    """Autoregressive or not, and how we know."""
    if c.pair is not None:
        i, j = c.pair
        itself = " (the pixel itself)" if i == j else ""
        src = (
            ""
            if c.bad and c.how != "masks"
            else " (found in the masks' product"
            + ("; the Jacobian at these random weights does not show it)" if c.how != "masks" else ")")
        )
        st.error(
            f"**NOT autoregressive**{c.mask_note}: output of pixel {j} depends on input {i}{itself}, "
            f"which is not before it{src}.",
            icon=":material/block:",
        )
    elif c.how == "masks":
        st.success(
            f"**autoregressive**{c.mask_note}: verified from the masks' product (the Jacobian is skipped "
            f"for D > {JACOBIAN_MAX_D} or a network this big)",
            icon=":material/check_circle:",
        )
    else:
        st.success(f"**autoregressive: verified by the Jacobian**{c.mask_note}", icon=":material/check_circle:")


def break_switches(cfg: Config) -> None:
    st.session_state["w_break_off"] = cfg.masking == "off"
    st.session_state["w_break_nonstrict"] = cfg.masking == "nonstrict"
    st.toggle(
        "Drop the masks",
        key="w_break_off",
        on_change=on_break,
        args=("off",),
        help="Break it on purpose: a plain autoencoder, every output sees every input.",
    )
    st.toggle(
        "Output rule ≥",
        key="w_break_nonstrict",
        on_change=on_break,
        args=("nonstrict",),
        help="Break it on purpose: output d may use hidden units of degree m⁰(d), so it sees its own pixel.",
    )


def header(cfg: Config) -> Ctx:
    st.html("<style>[data-testid=stMainBlockContainer]{padding-top:3.4rem}</style>")
    c_title, c_badge, c_break = st.columns([1.85, 2.35, 1.2], vertical_alignment="center")
    c_title.title("Architecture")
    c = checked(cfg)
    with c_badge:
        badge(c)
    with c_break:
        break_switches(cfg)
    return c


def trace_controls(c: Ctx, n_edges: int) -> tuple[str, str, bool]:
    """The right column's switches: (arrangement, traced unit, aggregated drawing)."""
    big = n_edges > F.EDGE_BUDGET
    every = (
        big
        and n_edges <= F.FULL_EDGE_LIMIT
        and st.toggle(
            "Draw all edges",
            key="w_all_edges",
            help=f"{n_edges:,} edges: above {F.EDGE_BUDGET:,} the network is bundled by degree. Drawing every edge "
            f"one by one is allowed up to {F.FULL_EDGE_LIMIT:,}.",
        )
    )
    aggregated = big and not every
    arrange = (
        "order"
        if not aggregated
        and st.toggle(
            "Sort by degree",
            key="w_arrange",
            help="Sort every layer by degree (inputs and outputs in generation order) instead of by pixel / unit "
            "index.",
        )
        else "natural"
    )
    opts = G.trace_options(c.ms, aggregated)
    if st.session_state.get("w_trace") not in opts:
        st.session_state["w_trace"] = ""
    target = st.selectbox(
        "Trace unit…", list(opts), key="w_trace", format_func=opts.get, help="Or click a unit in the network."
    )
    return arrange, target, aggregated


def trace_panel(c: Ctx, target: str, auto: bool):
    """What the traced unit reaches and what reaches it; the mask rules."""
    cfg, ms = c.cfg, c.ms
    tr = G.trace_target(ms, target)
    if tr is not None:
        st.markdown(G.trace_summary(ms, tr) + (" *(Traced for you: the pair in the red badge.)*" if auto else ""))
        if cfg.shape is not None and min(cfg.shape) > 1:
            st.plotly_chart(dep_fig(c.cj, c.k, target), key="dep_plot", width="stretch", config=NO_BAR)
            st.html(
                " &nbsp; ".join(
                    f"<span style='font-size:13px;white-space:nowrap'><span style='color:{col};"
                    f"-webkit-text-stroke:1px #9ca3af'>■</span> {name}</span>"
                    for col, name in F.dependency_legend(ms, tr)
                )
            )
    else:
        st.markdown("Click a unit (or pick one above) to see everything it reaches and everything that reaches it.")
    st.latex(r"\small m^{l}(k) \in \big[\min m^{l-1},\ D{-}1\big]")
    st.latex(r"\small M^{l}_{k,k'} = \mathbb{1}\big[m^{l}(k) \ge m^{l-1}(k')\big]")
    st.latex(
        r"\small M^{V}_{d,k} = \mathbb{1}\big[m^{0}(d) "
        + (r"{\color{red}\ge}" if cfg.masking == "nonstrict" else ">")
        + r" m^{L}(k)\big]"
    )
    if lines := G.diagnostics(ms).summary():
        st.warning("\n\n".join(lines), icon=":material/warning:")
    return tr


def network_tab(c: Ctx) -> None:
    left, right = st.columns([2.15, 1])
    with right:
        in_browser = browser_view_chosen(c)
        arrange, target, aggregated = trace_controls(c, G.edge_count(c.ms))
        auto = not target and c.pair is not None
        if auto:  # show the forbidden path of the pair the badge names
            target = f"u:{G.num_layers(c.ms) - 1}:{c.pair[1]}"
        tr = trace_panel(c, target, auto)
    with left:
        fig = None
        if in_browser:
            network_view(view_data(c.cj, c.k, arrange), traced=target[2:] if target.startswith("u:") else "")
        else:
            fig = network_fig(c.cj, c.k, arrange, target, aggregated)
            st.plotly_chart(
                fig, key="net_plot", on_select=on_pick, selection_mode="points", width="stretch", config=NO_BAR
            )
        network_download(c, arrange, target, aggregated, fig)
        n_grey = len(G.unit_reasons(c.ms))
        st.caption(
            (
                "Blue: reaches the traced unit · orange (dashed): reached from it · red: a forbidden path. "
                if in_browser or tr is not None or not c.cfg.is_autoregressive
                else ""
            )
            + (f"Grey: {n_grey} unit(s) with no input or no output (hover for why). " if n_grey else "")
            + (F.aggregated_summary(c.ms) if aggregated else degree_caption(c.ms))
            + (
                ""
                if fits_browser(c.ms)
                else f" With more than {F.EDGE_BUDGET:,} edges the network is drawn by the server (a click redraws "
                "it); smaller ones trace in your browser at once."
            )
        )
        count_network_runs()


def browser_view_chosen(c: Ctx) -> bool:
    """The in-browser network (tracing and hover cost no rerun) unless the network is over the edge budget,
    where the plotly figure bundles it by degree, or the student asks for the classic figure."""
    if not fits_browser(c.ms):
        return False
    st.session_state["w_classic"] = st.session_state.get(CLASSIC, False)  # kept while a big net hides the toggle
    return not st.toggle(
        "Classic figure",
        key="w_classic",
        on_change=keep_classic,
        help="The plotly drawing: every click on a unit asks the server to redraw it. The default "
        "view traces in your browser, at once.",
    )


CLASSIC = "classic_figure"  # the student's choice, outside the widget (whose state goes when it is not drawn)


def keep_classic() -> None:
    st.session_state[CLASSIC] = st.session_state["w_classic"]


def count_network_runs() -> None:
    """How often the server drew this tab, in a hidden element: the browser test checks that a click in
    the in-browser view adds no run."""
    n = st.session_state["_network_runs"] = st.session_state.get("_network_runs", 0) + 1
    st.html(f"<span data-testid='network-runs' data-runs='{n}' style='display:none'></span>")


def degree_caption(ms) -> str:
    """What the node numbers mean, or why they are hidden (then: where to read the degrees)."""
    note = F.degree_label_note(ms, aggregated=False)
    return note or (
        "Each node shows its degree m, the last position in the order it may depend on. Look: along "
        "any path the degrees never decrease, and the step into an output goes strictly up."
    )


def masks_tab(c: Ctx) -> None:
    c1, c2 = st.columns(2)
    ge = r"{\color{red}\ge}" if c.cfg.masking == "nonstrict" else ">"
    with c1:
        n_masks = len(c.ms.masks)
        names = G.layer_names(c.ms)
        labels = [f"M{'ᵛ' if l == n_masks - 1 else l + 1}: {names[l]} → {names[l + 1]}" for l in range(n_masks)]
        if c.cfg.direct:
            labels.append(f"Mᴬ: {names[0]} → {names[-1]} (direct)")
        if st.session_state.get("w_mask_layer", 0) >= len(labels):
            st.session_state["w_mask_layer"] = 0
        layer = st.selectbox(
            "Mask",
            range(len(labels)),
            key="w_mask_layer",
            persist_state="session",  # the matrix shown survives a page switch
            format_func=lambda l: labels[l],
            label_visibility="collapsed",
        )
        if layer == n_masks:  # the direct input -> output weights
            st.latex(r"\small M^{A}_{d,d'} = \mathbb{1}\big[m^{0}(d) > m^{0}(d')\big]")
            st.plotly_chart(direct_fig(c.cj, c.k), key="mask_plot", width="stretch", config=NO_BAR)
            st.caption(
                "Direct connections, rows = outputs and columns = inputs, both in generation order: an "
                "output may use every input that comes strictly before it. Red = forbidden."
            )
        elif layer < n_masks - 1:
            rule = r"\small M^{%d}_{k,k'} = \mathbb{1}\big[m^{%d}(k) \ge m^{%d}(k')\big]"
            st.latex(rule % (layer + 1, layer + 1, layer))
        else:
            st.latex(r"\small M^{V}_{d,k} = \mathbb{1}\big[m^{0}(d) " + ge + r" m^{L}(k)\big]")
        if layer < n_masks:
            st.plotly_chart(mask_fig(c.cj, c.k, layer), key="mask_plot", width="stretch", config=NO_BAR)
            st.caption(
                "Rows receive, columns send, both sorted by degree: look for the staircase. Dark = weight "
                "allowed, red = an edge on a forbidden path."
            )
    with c2:
        st.markdown("**Connectivity: number of paths input → output**")
        st.latex(r"\small M^{C} = M^{V} M^{L} \cdots M^{1} = 0 \ \text{above the diagonal}")
        st.plotly_chart(conn_fig(c.cj, c.k), key="conn_plot", width="stretch", config=NO_BAR)
        st.caption(
            "Both axes in generation order: a MADE fills only the strict lower triangle (below the dotted "
            "diagonal). Red: an output that sees an input it must not."
        )


def exact_sum_panel(c: Ctx) -> None:
    """Σ p(x) over every image: exactly 1 for a true MADE, whatever its weights."""
    cfg = c.cfg
    if not exact_sum_affordable(cfg):
        too_big = cfg.d <= EXACT_SUM_MAX_D
        st.info(
            f"Σ p(x) over all 2^D images is computed for D ≤ {EXACT_SUM_MAX_D}"
            + (" and networks small enough to run 2^D times" if too_big else f"; here D = {cfg.d}")
            + ". Pick the seed example or a 3x4 image to see it."
        )
        return
    single, ens = exact_sums(c.cj, c.k)
    st.markdown(f"**Sum of p(x) over all $2^{{{cfg.d}}}$ = {2**cfg.d:,} images** (random weights, seed {cfg.seed})")
    for name, v in [(f"mask {c.k + 1}", single)] + (
        [(f"ensemble of {cfg.num_masks} masks", ens)] if ens is not None else []
    ):
        ok = abs(v - 1) < 1e-6
        msg = f"Σ p(x) = {v:.6f} ({name}): " + (
            "= 1, a proper distribution." if ok else "≠ 1 — not a probability distribution."
        )
        (st.success if ok else st.error)(msg)
    st.caption("A true MADE sums to exactly 1 whatever its weights; the broken nets do not.")


def check_tab(c: Ctx) -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**The chain rule the masks must implement** (this ordering)")
        st.latex(F.chain_rule_latex(c.ms))
        st.markdown(
            "**Jacobian check**: which outputs move when input i moves (∂ logit_d / ∂ x_i ≠ 0 at 8 random "
            "inputs, with the network's own random weights). Each output may only depend on pixels before it. "
            + (
                f"Here: computed in {c.how}."
                if c.how != "masks"
                else f"Skipped for D > {JACOBIAN_MAX_D} or a network this big (about D backward passes): the masks' "
                "product is used."
            )
        )
        if c.bad:
            st.error("Offending pairs: " + ", ".join(f"output x{j} ← input x{i}" for i, j in c.bad))
        if lines := G.diagnostics(c.ms).summary():
            st.warning("\n\n".join(lines), icon=":material/warning:")
        else:
            st.markdown("No dead units and no starved conditionals in this mask.")
    with c2:
        exact_sum_panel(c)


# --- the page, top to bottom -------------------------------------------------------------------------
ARCH_TABS = ("Network", "Masks", "Check")


def keep_tab() -> None:
    """The open tab outlives a page switch (a tab has no persist_state): while the tabs are drawn their own
    key is the truth and is copied aside; after a switch the copy (or a link's tab) opens them again."""
    if "w_arch_tab" not in st.session_state:
        st.session_state["w_arch_tab"] = st.session_state.get(ARCH_TAB, ARCH_TABS[0])
    st.session_state[ARCH_TAB] = st.session_state["w_arch_tab"]


def main() -> None:
    keep_tab()  # before the sidebar writes the link
    c = header(ui.architecture_sidebar())
    # lazy tabs: only the open tab runs and is sent, so per change the server builds and the student's
    # browser draws one tab's figures, not all three tabs' (bench/load_test.py --page-costs)
    tabs = st.tabs(list(ARCH_TABS), key="w_arch_tab", on_change="rerun")
    for tab, draw in zip(tabs, (network_tab, masks_tab, check_tab)):
        if tab.open:
            with tab:
                draw(c)


main()
