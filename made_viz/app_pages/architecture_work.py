"""The Architecture page's working parts: the context its panels share, the cached masks, figures
and checks (keyed by the Config's JSON text and the mask index), and the widget callbacks. Imported
by app_pages/architecture.py, which reads top to bottom as the header and the three tabs."""

import json
import time
from dataclasses import dataclass

import streamlit as st

from made_viz import export, ui
from made_viz import figures as F
from made_viz import graph as G
from made_viz.budget import jacobian_affordable
from made_viz.config import Config
from made_viz.masks import MaskSet, build_masks
from made_viz.plot_parts import shared

# every figure's toolbar: only the camera, a sharp PNG for slides (the name is kept for the call sites)
NO_BAR = export.TOOLBAR


@dataclass(frozen=True)
class Ctx:
    """Everything the tabs need, decided once per page run."""

    cfg: Config
    k: int  # the mask shown (0-based; students read k + 1)
    cj: str  # the Config's JSON text: the key of the cached work
    ms: MaskSet
    bad: list  # offending (input, output) pairs the check found
    how: str  # how it was checked: "masks" or the Jacobian's time
    pair: tuple | None  # the pair the badge names and the network traces

    @property
    def mask_note(self) -> str:
        return f" (mask {self.k + 1} of {self.cfg.num_masks})" if self.cfg.num_masks > 1 else ""


def _cfg(cj: str) -> Config:
    return Config.from_dict(json.loads(cj))


# --- cached pure work, keyed by the config's JSON text and the mask index -----------------------
# Figures are cached as shared, never-mutated objects (plot_parts.shared: st.plotly_chart's to_dict on every
# run is then computed once): cache_data would unpickle, i.e. re-validate, every figure on every rerun.
figure_cache = st.cache_resource(max_entries=96, show_spinner=False)


BIG_MASK_SET = 1_000_000  # weights; above this, a mask set is one of the few big ones kept (see mask_set)


def mask_set(cj: str, k: int):
    """The config's k-th MaskSet, shared by every session. The masks take a byte per weight, so the cache
    counts entries by size: 64 small ones, but only 4 above BIG_MASK_SET (a student trying seed after seed
    of a 10 M-weight network would otherwise keep 64 x 10 MB of masks in the server)."""
    return (big_mask_set if _cfg(cj).num_weights > BIG_MASK_SET else small_mask_set)(cj, k)


@st.cache_resource(max_entries=64, show_spinner=False)
def small_mask_set(cj: str, k: int):
    return build_masks(_cfg(cj), k)


@st.cache_resource(max_entries=4, show_spinner=False)
def big_mask_set(cj: str, k: int):
    return build_masks(_cfg(cj), k)


@figure_cache
def network_fig(cj: str, k: int, arrange: str, target: str, aggregated: bool):
    ms = mask_set(cj, k)
    return shared(F.network_figure(ms, tr=G.trace_target(ms, target), arrange=arrange, aggregated=aggregated))


@figure_cache
def mask_fig(cj: str, k: int, layer: int):
    return shared(F.mask_figure(mask_set(cj, k), layer))


@figure_cache
def direct_fig(cj: str, k: int):
    return shared(F.direct_mask_figure(mask_set(cj, k)))


@figure_cache
def conn_fig(cj: str, k: int):
    return shared(F.connectivity_figure(mask_set(cj, k)))


@figure_cache
def dep_fig(cj: str, k: int, target: str):
    ms = mask_set(cj, k)
    return shared(F.dependency_figure(ms, G.trace_target(ms, target), _cfg(cj).image_shape))


@st.cache_data(max_entries=64, show_spinner="Checking the Jacobian…")
def jacobian_check(cj: str, k: int) -> tuple[list, str]:
    """Offending (input, output) pairs and how they were found."""
    cfg = _cfg(cj)
    if not jacobian_affordable(cfg):
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


def network_download(c: Ctx, arrange: str, target: str, aggregated: bool, fig=None) -> None:
    """The network as one offline HTML file (hover and the traced paths as drawn), built on click: `fig` when
    the page shows the plotly figure, else (the in-browser view) the same figure made only when asked for,
    not on every new config (building it was half of such a run's server time)."""

    def page() -> str:
        shown = fig
        if shown is None:  # no st.cache here: the callable runs outside the page's script run
            shown = F.network_figure(c.ms, tr=G.trace_target(c.ms, target), arrange=arrange, aggregated=aggregated)
        return export.network_html(shown, ui.describe(c.cfg) + ".")

    st.download_button(
        "Download the network (HTML, works offline)",
        page,
        "made_network.html",
        "text/html",
        key="net_html",
        icon=":material/download:",
        help="One file with everything inside: open it in any browser, no network needed.",
    )


# --- callbacks ------------------------------------------------------------------------------------
def on_pick() -> None:
    event = st.session_state.get("net_plot")
    points = [p for p in (event.selection.points if event else []) if p.get("customdata")]
    if points:
        layer, unit, b = (int(v) for v in points[0]["customdata"][:3])
        st.session_state["w_trace"] = f"u:{layer}:{unit}" if unit >= 0 else f"g:{layer}:{b}"


def on_break(kind: str) -> None:
    on = st.session_state[f"w_break_{kind}"]
    ui.set_config(ui.get_config().replace(masking=kind if on else "made"))
    st.session_state["w_trace"] = ""
