"""Home: what MADE is, in three sentences and one formula, and where to go next."""
import streamlit as st

from made_viz import ui

cfg = ui.architecture_sidebar()
st.title("MADE Explorer")
st.markdown(
    "**MADE** (Masked Autoencoder for Distribution Estimation, Germain et al. 2015) turns an ordinary "
    "autoencoder into an exact density model for binary images. Pick an order for the pixels; the chain rule "
    "then writes the probability of an image as a product of one-pixel conditionals, and masks on the weights "
    "make sure each output only *sees* the pixels that come before it.")
st.latex(r"p(\mathbf{x}) = \prod_{d=1}^{D} p\big(x_{o(d)} \mid x_{o(1)}, \dots, x_{o(d-1)}\big)")
st.markdown(
    "One forward pass gives all D conditionals, so $\\log p(\\mathbf{x})$ is exact and cheap. "
    "Sampling is the slow direction: D steps, one pixel at a time, in the chosen order.")

c1, c2, c3 = st.columns(3)
with c1:
    st.subheader("1 · Architecture")
    st.markdown("See the masked network with every unit's **degree**, the mask matrices, and trace which "
                "inputs reach which outputs. Break the masks on purpose and watch the probabilities stop "
                "summing to 1.")
    st.page_link("app_pages/architecture.py", label="Open the architecture explorer", icon=":material/account_tree:")
with c2:
    st.subheader("2 · Train")
    st.markdown("Train the network you drew on handwritten digits or generated patterns and watch the "
                "negative log-likelihood fall towards what the data allow.")
    st.page_link("app_pages/train.py", label="Train a MADE", icon=":material/trending_down:")
with c3:
    st.subheader("3 · Sample")
    st.markdown("Watch a trained MADE draw images pixel by pixel, compare each sample with its nearest "
                "training image, and complete half-drawn digits.")
    st.page_link("app_pages/sample.py", label="Sample pixel by pixel", icon=":material/brush:")

st.divider()
st.markdown(
    f"**Your architecture** (left sidebar, shared by every page and kept in the link you can copy): "
    f"D = {cfg.d} inputs, hidden layers {list(cfg.hidden) or 'none'}, order *{cfg.order if isinstance(cfg.order, str) else 'explicit'}*, "
    f"{cfg.num_masks} mask(s). Start from a preset, e.g. the paper's D = 3 example.")
st.caption("Reference: M. Germain, K. Gregor, I. Murray, H. Larochelle. MADE: Masked Autoencoder for "
           "Distribution Estimation. ICML 2015, arXiv:1502.03509.")
