"""The app's views (thin Streamlit pages) and its router; they ship inside the package, so an installed
wheel serves the same app as a checkout (`made-viz app`, or `streamlit run app.py` in a checkout).

`run_app()` is the router both entry points call: it sets the page up and runs the page the student
picked. Each page draws the shared architecture controls itself (`ui.architecture_sidebar()`),
because elements drawn by the entry point are not seen by `streamlit.testing` after a rerun. Page
files are named by absolute path, so the router works whichever script Streamlit was started on.
(Not a folder called `pages/`: Streamlit would register that on its own, and a deep link would then
bypass the router.)
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
# name -> (title, icon); the first is the default page
PAGES = {
    "home": ("Home", ":material/home:"),
    "architecture": ("Architecture", ":material/account_tree:"),
    "train": ("Train", ":material/trending_down:"),
    "sample": ("Sample", ":material/brush:"),
    "exercises": ("Exercises", ":material/quiz:"),
}


def page_path(name: str) -> str:
    """The script of page `name`, as st.Page and st.page_link take it."""
    if name not in PAGES:
        raise KeyError(f"no page {name!r}; pages: {', '.join(PAGES)}")
    return str(HERE / f"{name}.py")


def run_app() -> None:
    """Route to the page the student picked (called by app.py and made_viz/streamlit_app.py)."""
    import streamlit as st

    from made_viz import ui

    st.set_page_config(page_title="MADE Explorer", page_icon=":material/grid_on:", layout="wide")
    ui.prepare_process()
    pages = [
        st.Page(page_path(name), title=title, icon=icon, default=i == 0)
        for i, (name, (title, icon)) in enumerate(PAGES.items())
    ]
    page = st.navigation(pages)
    ui.init_session()
    ui.account()  # what this session holds now, in the class's budget
    from made_viz.app_pages.scroll_top import on_page_change

    on_page_change(page.url_path or "home")
    page.run()
