"""Sample page (being built)."""
import streamlit as st

st.title("Sample")
st.info("This page is being built; its issue describes what it will show.")
