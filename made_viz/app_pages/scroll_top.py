"""Land at the top of a page the student switches to.

Streamlit keeps one scrolling container for all pages, so a button far down Home (the lesson's steps)
opened the Train page scrolled down by as much, its Start button above the screen. When the page
differs from the one this session drew last, a tiny in-browser component (st.components.v2, no
iframe) scrolls the container to the top once; reruns of the same page keep the student's place.
"""

from __future__ import annotations

import streamlit as st

SHOWN = "_shown_page"  # session key: the page drawn last, and how many switches so far

JS = """
export default function (component) {
  for (const sel of ['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]', 'section.main']) {
    const el = document.querySelector(sel);
    if (el) el.scrollTo({ top: 0 });
  }
  window.scrollTo(0, 0);
}
"""

_mount = st.components.v2.component("made_viz_scroll_top", js=JS)


def on_page_change(page: str) -> bool:
    """Scroll to the top if `page` is not the page this session drew last; True if it did."""
    last, switches = st.session_state.get(SHOWN, (None, 0))
    if last == page:
        return False
    st.session_state[SHOWN] = (page, switches + 1)
    if last is None:  # the session's first page opens at the top anyway
        return False
    with st.sidebar:
        _mount(key=f"scroll_top_{switches + 1}", data={"page": page})
    return True
