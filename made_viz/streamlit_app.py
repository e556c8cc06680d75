"""MADE Explorer's entry script inside the installed package (what `made-viz app` runs)."""

from made_viz.app_pages import run_app

run_app()
