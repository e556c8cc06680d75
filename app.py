"""MADE Explorer — `streamlit run app.py` from a checkout (an installed package: `made-viz app`).

The router and the pages live in `made_viz/app_pages/`; all logic lives in `made_viz`."""

from made_viz.app_pages import run_app

run_app()
