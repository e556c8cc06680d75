"""Home: what MADE is, in three sentences and one formula, and where to go next."""

import streamlit as st

from made_viz import ui
from made_viz.app_pages import page_path
from made_viz.config import Config

STEPS = [  # (heading, what the page shows, page, link label, icon)
    (
        "1 · Architecture",
        (
            "See the masked network with every unit's **degree**, the mask matrices, and trace which "
            "inputs reach which outputs. Break the masks on purpose and watch the probabilities stop summing to 1."
        ),
        page_path("architecture"),
        "Open the architecture explorer",
        ":material/account_tree:",
    ),
    (
        "2 · Train",
        (
            "Train the network you drew on handwritten digits or generated patterns and watch the negative "
            "log-likelihood fall towards what the data allow."
        ),
        page_path("train"),
        "Train a MADE",
        ":material/trending_down:",
    ),
    (
        "3 · Sample",
        (
            "Watch a trained MADE draw images pixel by pixel, compare each sample with its nearest training "
            "image, and complete half-drawn digits."
        ),
        page_path("sample"),
        "Sample pixel by pixel",
        ":material/brush:",
    ),
]


def introduction() -> None:
    st.title("MADE Explorer")
    st.markdown(
        "**MADE** (Masked Autoencoder for Distribution Estimation, Germain et al. 2015) turns an ordinary "
        "autoencoder into an exact density model for binary images. Pick an order for the pixels; the chain rule "
        "then writes the probability of an image as a product of one-pixel conditionals, and masks on the weights "
        "make sure each output only *sees* the pixels that come before it."
    )
    st.latex(r"p(\mathbf{x}) = \prod_{d=1}^{D} p\big(x_{o(d)} \mid x_{o(1)}, \dots, x_{o(d-1)}\big)")
    st.markdown(
        "One forward pass gives all D conditionals, so $\\log p(\\mathbf{x})$ is exact and cheap. "
        "Sampling is the slow direction: D steps, one pixel at a time, in the chosen order."
    )


def where_next() -> None:
    for col, (heading, text, page, label, icon) in zip(st.columns(len(STEPS)), STEPS):
        with col:
            st.subheader(heading)
            st.markdown(text)
            st.page_link(page, label=label, icon=icon)


def your_architecture(cfg: Config) -> None:
    st.divider()
    order = cfg.order if isinstance(cfg.order, str) else "explicit"
    st.markdown(
        f"**Your architecture** (left sidebar, shared by every page and kept in the link you can copy): "
        f"D = {cfg.d} inputs, hidden layers {list(cfg.hidden) or 'none'}, order *{order}*, "
        f"{cfg.num_masks} mask(s). Start from a preset, e.g. the paper's D = 3 example."
    )
    st.caption(
        "Reference: M. Germain, K. Gregor, I. Murray, H. Larochelle. MADE: Masked Autoencoder for "
        "Distribution Estimation. ICML 2015, arXiv:1502.03509."
    )


def main() -> None:
    cfg = ui.architecture_sidebar()
    introduction()
    where_next()
    your_architecture(cfg)


main()
