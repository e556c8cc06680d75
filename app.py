"""MADE Explorer — `streamlit run app.py`.

The entry point is a router: it sets the page up and runs the page the student picked. Each page
draws the shared architecture controls itself (`ui.architecture_sidebar()`), because elements
drawn by the entry point are not seen by `streamlit.testing` after a rerun. All logic lives in
`made_viz`.
"""
import streamlit as st

from made_viz import ui

st.set_page_config(page_title="MADE Explorer", page_icon=":material/grid_on:", layout="wide")
ui.prepare_process()

pages = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/architecture.py", title="Architecture", icon=":material/account_tree:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/trending_down:"),
    st.Page("app_pages/sample.py", title="Sample", icon=":material/brush:"),
]
page = st.navigation(pages)
ui.init_session()
page.run()
