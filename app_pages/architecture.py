"""Architecture explorer: the degree-labelled masked network, tracing, the masks and their
product, a Jacobian check of the autoregressive property, and switches that break it on purpose.
Widgets, caching and layout only; the graph and the figures come from made_viz.graph/figures."""
import json
import time

import streamlit as st

from made_viz import figures as F
from made_viz import graph as G
from made_viz import ui
from made_viz.config import Config, config_json
from made_viz.masks import build_masks

JACOBIAN_MAX_D = 1024   # above this the check uses the masks' product (a D x N x D Jacobian gets large)
EXACT_SUM_MAX_D = 12    # sum p(x) over all 2^D images


def _cfg(cj: str) -> Config:
    return Config.from_dict(json.loads(cj))


# --- cached pure work, keyed by the config's JSON text and the mask index -----------------------
# Figures are cached as shared, never-mutated objects (st.plotly_chart copies them): cache_data would
# unpickle, i.e. re-validate, every figure on every rerun (~60 ms each).
figure_cache = st.cache_resource(max_entries=96, show_spinner=False)


@st.cache_resource(max_entries=64, show_spinner=False)
def mask_set(cj: str, k: int):
    return build_masks(_cfg(cj), k)


@figure_cache
def network_fig(cj: str, k: int, arrange: str, target: str, aggregated: bool):
    ms = mask_set(cj, k)
    return F.network_figure(ms, tr=G.trace_target(ms, target), arrange=arrange, aggregated=aggregated)


@figure_cache
def mask_fig(cj: str, k: int, layer: int):
    return F.mask_figure(mask_set(cj, k), layer)


@figure_cache
def conn_fig(cj: str, k: int):
    return F.connectivity_figure(mask_set(cj, k))


@figure_cache
def dep_fig(cj: str, k: int, target: str):
    ms = mask_set(cj, k)
    return F.dependency_figure(ms, G.trace_target(ms, target), _cfg(cj).shape)


@st.cache_data(max_entries=64, show_spinner="Checking the Jacobian…")
def jacobian_check(cj: str, k: int) -> tuple[list, str]:
    """Offending (input, output) pairs and how they were found."""
    cfg = _cfg(cj)
    if cfg.d > JACOBIAN_MAX_D:
        return mask_set(cj, k).violations()[:5], "masks"
    from made_viz.model import MADE, dependency_violations
    t = time.perf_counter()
    model = MADE(cfg)
    model.set_mask(k)
    return dependency_violations(model)[:5], f"{time.perf_counter() - t:.2f} s"


@st.cache_data(max_entries=64, show_spinner="Summing p(x) over every image…")
def exact_sums(cj: str, k: int) -> tuple[float, float | None]:
    from made_viz.model import MADE, total_probability
    cfg = _cfg(cj)
    model = MADE(cfg)
    model.set_mask(k)
    return total_probability(model), (total_probability(model, ensemble=True) if cfg.num_masks > 1 else None)


# --- callbacks ------------------------------------------------------------------------------------
def _on_pick() -> None:
    event = st.session_state.get("net_plot")
    points = [p for p in (event.selection.points if event else []) if p.get("customdata")]
    if points:
        layer, unit, b = (int(v) for v in points[0]["customdata"][:3])
        st.session_state["w_trace"] = f"u:{layer}:{unit}" if unit >= 0 else f"g:{layer}:{b}"


def _on_break(kind: str) -> None:
    on = st.session_state[f"w_break_{kind}"]
    ui.set_config(ui.get_config().replace(masking=kind if on else "made"))
    st.session_state["w_trace"] = ""


# --- page ----------------------------------------------------------------------------------------
cfg = ui.architecture_sidebar()
k = ui.mask_shown()
cj = config_json(cfg)
ms = mask_set(cj, k)
n_edges = G.edge_count(ms)
st.html("<style>[data-testid=stMainBlockContainer]{padding-top:3.4rem}</style>")
c_title, c_badge, c_break = st.columns([1.85, 2.35, 1.2], vertical_alignment="center")
c_title.title("Architecture")

# badge (the torch model's Jacobian, not only the masks) + break-it switches
st.session_state["w_break_off"] = cfg.masking == "off"
st.session_state["w_break_nonstrict"] = cfg.masking == "nonstrict"
bad, how = jacobian_check(cj, k)
bad_masks = [] if bad or how == "masks" else ms.violations()[:1]  # structurally broken, yet dead ReLUs hide it
pair = (bad or bad_masks or [None])[0]   # the offending (input, output) pair the page names and traces
with c_badge:
    mask_note = f" (mask {k} of {cfg.num_masks})" if cfg.num_masks > 1 else ""
    if pair is not None:
        i, j = pair
        itself = " (the pixel itself)" if i == j else ""
        src = ("" if bad and how != "masks" else " (found in the masks' product" +
               ("; the Jacobian at these random weights does not show it)" if how != "masks" else ")"))
        st.error(f"**NOT autoregressive**{mask_note}: output of pixel {j} depends on input {i}{itself}, "
                 f"which is not before it{src}.", icon=":material/block:")
    elif how == "masks":
        st.success(f"**autoregressive**{mask_note}: verified from the masks' product (Jacobian skipped for "
                   f"D > {JACOBIAN_MAX_D})", icon=":material/check_circle:")
    else:
        st.success(f"**autoregressive: verified by the Jacobian**{mask_note}", icon=":material/check_circle:")
with c_break:
    st.toggle("Drop the masks", key="w_break_off", on_change=_on_break, args=("off",),
              help="Break it on purpose: a plain autoencoder, every output sees every input.")
    st.toggle("Output rule ≥", key="w_break_nonstrict", on_change=_on_break, args=("nonstrict",),
              help="Break it on purpose: output d may use hidden units of degree m⁰(d), so it sees its own pixel.")

def network_tab() -> None:
    big = n_edges > F.EDGE_BUDGET
    left, right = st.columns([2.15, 1])
    with right:
        every = big and n_edges <= F.FULL_EDGE_LIMIT and st.toggle(
            "Draw all edges", key="w_all_edges",
            help=f"{n_edges:,} edges: above {F.EDGE_BUDGET:,} the network is bundled by degree. Drawing every edge "
                 f"one by one is allowed up to {F.FULL_EDGE_LIMIT:,}.")
        aggregated = big and not every
        arrange = "natural"
        if not aggregated and st.toggle("Sort by degree", key="w_arrange",
                                        help="Sort every layer by degree (inputs and outputs in generation order) "
                                             "instead of by pixel / unit index."):
            arrange = "order"
        opts = G.trace_options(ms, aggregated)
        if st.session_state.get("w_trace") not in opts:
            st.session_state["w_trace"] = ""
        target = st.selectbox("Trace unit…", list(opts), key="w_trace", format_func=opts.get,
                              help="Or click a unit in the network.")
        auto = not target and pair is not None
        if auto:  # show the forbidden path of the pair the badge names
            target = f"u:{G.num_layers(ms) - 1}:{pair[1]}"
        tr = G.trace_target(ms, target)
        if tr is not None:
            st.markdown(G.trace_summary(ms, tr) + (" *(Traced for you: the pair in the red badge.)*" if auto else ""))
            if cfg.shape is not None and min(cfg.shape) > 1:
                st.plotly_chart(dep_fig(cj, k, target), key="dep_plot", width="stretch",
                                config={"displayModeBar": False})
                st.html(" &nbsp; ".join(f"<span style='font-size:13px;white-space:nowrap'><span style='color:{c};"
                                        f"-webkit-text-stroke:1px #9ca3af'>■</span> {name}</span>"
                                        for c, name in F.dependency_legend(ms, tr)))
        else:
            st.markdown("Click a unit (or pick one above) to see everything it reaches and everything that reaches it.")
        st.latex(r"\small m^{l}(k) \in \big[\min m^{l-1},\ D{-}1\big]")
        st.latex(r"\small M^{l}_{k,k'} = \mathbb{1}\big[m^{l}(k) \ge m^{l-1}(k')\big]")
        st.latex(r"\small M^{V}_{d,k} = \mathbb{1}\big[m^{0}(d) " + (r"{\color{red}\ge}" if cfg.masking == "nonstrict"
                 else ">") + r" m^{L}(k)\big]")
        if lines := G.diagnostics(ms).summary():
            st.warning("\n\n".join(lines), icon=":material/warning:")
    with left:
        st.plotly_chart(network_fig(cj, k, arrange, target, aggregated), key="net_plot", on_select=_on_pick,
                        selection_mode="points", width="stretch", config={"displayModeBar": False})
        n_grey = len(G.unit_reasons(ms))
        st.caption(("Blue: reaches the traced unit · orange: reached from it · red: a forbidden path. "
                    if tr is not None or not cfg.is_autoregressive else "")
                   + (f"Grey: {n_grey} unit(s) with no input or no output (hover for why). " if n_grey else "")
                   + (F.aggregated_summary(ms) if aggregated else
                      "Each node shows its degree m, the last position in the order it may depend on. Look: along "
                      "any path the degrees never decrease, and the step into an output goes strictly up."))

def masks_tab() -> None:
    c1, c2 = st.columns(2)
    ge = r"{\color{red}\ge}" if cfg.masking == "nonstrict" else ">"
    with c1:
        n_masks = len(ms.masks)
        names = G.layer_names(ms)
        labels = [f"M{'ᵛ' if l == n_masks - 1 else l + 1}: {names[l]} → {names[l + 1]}" for l in range(n_masks)]
        if st.session_state.get("w_mask_layer", 0) >= n_masks:
            st.session_state["w_mask_layer"] = 0
        layer = st.selectbox("Mask", range(n_masks), key="w_mask_layer", format_func=lambda l: labels[l],
                             label_visibility="collapsed")
        if layer < n_masks - 1:
            st.latex(r"\small M^{%d}_{k,k'} = \mathbb{1}\big[m^{%d}(k) \ge m^{%d}(k')\big]" % (layer + 1, layer + 1, layer))
        else:
            st.latex(r"\small M^{V}_{d,k} = \mathbb{1}\big[m^{0}(d) " + ge + r" m^{L}(k)\big]")
        st.plotly_chart(mask_fig(cj, k, layer), key="mask_plot", width="stretch", config={"displayModeBar": False})
        st.caption("Rows receive, columns send, both sorted by degree: look for the staircase. Dark = weight "
                   "allowed, red = an edge on a forbidden path.")
    with c2:
        st.markdown("**Connectivity: number of paths input → output**")
        st.latex(r"\small M^{C} = M^{V} M^{L} \cdots M^{1} = 0 \ \text{above the diagonal}")
        st.plotly_chart(conn_fig(cj, k), key="conn_plot", width="stretch", config={"displayModeBar": False})
        st.caption("Both axes in generation order: a MADE fills only the strict lower triangle (below the dotted "
                   "diagonal). Red: an output that sees an input it must not.")

def check_tab() -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**The chain rule the masks must implement** (this ordering)")
        st.latex(F.chain_rule_latex(ms))
        st.markdown("**Jacobian check**: which outputs move when input i moves (∂ logit_d / ∂ x_i ≠ 0 at 8 random "
                    "inputs, with the network's own random weights). Each output may only depend on pixels before it. "
                    + (f"Here: computed in {how}." if how != "masks" else
                       f"Skipped for D > {JACOBIAN_MAX_D} (about D backward passes): the masks' product is used."))
        if bad:
            st.error("Offending pairs: " + ", ".join(f"output x{j} ← input x{i}" for i, j in bad))
        if lines := G.diagnostics(ms).summary():
            st.warning("\n\n".join(lines), icon=":material/warning:")
        else:
            st.markdown("No dead units and no starved conditionals in this mask.")
    with c2:
        if cfg.d <= EXACT_SUM_MAX_D:
            single, ens = exact_sums(cj, k)
            st.markdown(f"**Sum of p(x) over all $2^{{{cfg.d}}}$ = {2 ** cfg.d:,} images** (random weights, seed {cfg.seed})")
            for name, v in [(f"mask {k}", single)] + ([(f"ensemble of {cfg.num_masks} masks", ens)] if ens is not None else []):
                ok = abs(v - 1) < 1e-6
                msg = f"Σ p(x) = {v:.6f} ({name}): " + ("= 1, a proper distribution." if ok else
                                                        "≠ 1 — not a probability distribution.")
                (st.success if ok else st.error)(msg)
            st.caption("A true MADE sums to exactly 1 whatever its weights; the broken nets do not.")
        else:
            st.info(f"Σ p(x) over all 2^D images is computed for D ≤ {EXACT_SUM_MAX_D}; here D = {cfg.d}. "
                    "Pick the seed example or a 3x4 image to see it.")


# lazy tabs: only the open tab runs and is sent, so per change the server builds and the student's
# browser draws one tab's figures, not all three tabs' (bench/load_test.py --page-costs)
tabs = st.tabs(["Network", "Masks", "Check"], key="w_arch_tab", on_change="rerun")
for tab, draw in zip(tabs, (network_tab, masks_tab, check_tab)):
    if tab.open:
        with tab:
            draw()
