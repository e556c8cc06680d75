"""The room the app is shown in: projector mode and the themes (the sidebar's toggle and select,
kept in the link, and the CSS injected into the page; the figures keep their colours)."""

from __future__ import annotations

import streamlit as st

PROJECTOR = "w_projector"  # session_state key: projector mode on (sidebar toggle, URL ?projector=1)
THEME = "w_theme"  # session_state key: "light", "dark" or "contrast" (sidebar select, URL ?theme=)

THEMES = {"light": "Light (default)", "dark": "Dark", "contrast": "High contrast (light)"}


def projector() -> bool:
    """Projector mode: larger type, figures sized for a 1920 x 1080 screen, the sidebar out of the way."""
    return bool(st.session_state.get(PROJECTOR, False))


def room_sidebar() -> None:
    """The projector toggle and the theme select (both kept in the link), and their CSS."""
    ss = st.session_state
    ss[PROJECTOR] = projector()  # kept across pages (widget values are forgotten)
    ss[THEME] = ss.get(THEME) if ss.get(THEME) in THEMES else "light"
    st.sidebar.subheader("The room")
    st.sidebar.toggle(
        "Projector mode",
        key=PROJECTOR,
        help="Larger type and figures that fill a 1920 x 1080 screen; the sidebar folds away "
        "(open it again with the » at the top left).",
    )
    st.sidebar.selectbox(
        "Theme",
        list(THEMES),
        key=THEME,
        format_func=THEMES.get,
        help="Dark for a dim room; high contrast for a washed-out projector.",
    )
    if projector():  # fold the sidebar away; the » at the top left opens it again
        st.set_page_config(initial_sidebar_state="collapsed")
    css = room_css(projector(), ss[THEME])
    if css:
        st.html(f"<style>{css}</style>")


_PROJECTOR_CSS = """
[data-testid=stMain] {font-size: 1.45rem}
[data-testid=stMain] p, [data-testid=stMain] li, [data-testid=stMain] label,
[data-testid=stMain] [data-testid=stCaptionContainer], [data-testid=stMain] button {font-size: 1.45rem !important}
[data-testid=stMain] h1 {font-size: 3.6rem !important}
[data-testid=stMain] h2, [data-testid=stMain] h3 {font-size: 2.4rem !important}
[data-testid=stMain] .katex {font-size: 1.6em !important}
[data-testid=stMainBlockContainer] {max-width: 100% !important; padding-left: 2rem; padding-right: 2rem}
"""


_DARK_CSS = """
[data-testid=stApp], [data-testid=stHeader], [data-testid=stBottomBlockContainer] {background: #0e1117 !important}
[data-testid=stApp] {color: #e6e6e6}
[data-testid=stApp] h1, [data-testid=stApp] h2, [data-testid=stApp] h3, [data-testid=stApp] p,
[data-testid=stApp] label, [data-testid=stApp] li, [data-testid=stApp] span,
[data-testid=stCaptionContainer], [data-testid=stMetricValue], [data-testid=stMetricLabel] {color: #e6e6e6 !important}
section[data-testid=stSidebar] {background: #1a1d24 !important}
[data-testid=stApp] button[data-testid^=stBaseButton] {background: #262a33 !important; border-color: #5a606c !important}
[data-testid=stPlotlyChart] {background: #ffffff; border-radius: 6px; padding: 4px}
[data-testid=stImage] img {background: #ffffff}
"""


_CONTRAST_CSS = """
[data-testid=stApp], [data-testid=stHeader], section[data-testid=stSidebar] {background: #ffffff !important}
[data-testid=stApp] h1, [data-testid=stApp] h2, [data-testid=stApp] h3, [data-testid=stApp] p,
[data-testid=stApp] label, [data-testid=stApp] li, [data-testid=stCaptionContainer] {color: #000000 !important}
[data-testid=stApp] p, [data-testid=stApp] li, [data-testid=stCaptionContainer] {font-weight: 500}
[data-testid=stApp] a {color: #0000cc !important; text-decoration: underline !important}
section[data-testid=stSidebar] {border-right: 3px solid #000000}
[data-testid=stPlotlyChart], [data-testid=stAlertContainer] {outline: 2px solid #000000}
"""


def room_css(projector_on: bool, theme: str) -> str:
    """The page's extra CSS for the projector mode and the theme ("" for the default light screen).
    In the dark theme the figures stay on a white card: their colours carry meaning (dark ink on white
    paper, red = forbidden), which a recoloured figure would change."""
    return (_PROJECTOR_CSS if projector_on else "") + {"dark": _DARK_CSS, "contrast": _CONTRAST_CSS}.get(theme, "")
