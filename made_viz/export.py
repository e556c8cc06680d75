"""Figures for slides and handouts: the toolbar every figure of the app shows, and a figure as one
self-contained HTML file that opens offline in any browser.

A teacher's classroom may have no network, so the HTML file embeds plotly.js itself (about 4.7 MB,
never a CDN link) and everything the figure does in the app that does not need the server: hover on
the network, the traced paths drawn into it, and the animation's own Play, Pause, Step, Replay and
scrubbing slider (those live in the figure's buttons and frames, see made_viz.animation). Two plain
buttons above the figure download it as PNG (for slides) or SVG (for print, scales without blur).

No streamlit here: the pages hand in a figure and offer the text with st.download_button.
"""

from __future__ import annotations

import html
import json

import plotly.graph_objects as go

IMAGE_SCALE = 3  # a PNG three times the on-screen size: sharp on a 1920 px projector and on paper


def toolbar(filename: str = "made_figure") -> dict:
    """Plotly config of a minimal toolbar: only the camera, which downloads a sharp PNG.

    Streamlit hands the config to the browser as JSON, so no button with its own script can be added
    (an SVG button needs a click handler): the SVG variant lives in the HTML export's own buttons."""
    return {
        "displayModeBar": "hover",
        "displaylogo": False,
        "modeBarButtons": [["toImage"]],
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": IMAGE_SCALE},
    }


TOOLBAR = toolbar()

_BUTTONS = """
<div class="made-export-bar" style="font:14px sans-serif;margin:6px 0">
  <strong>{title}</strong> &nbsp;
  <button type="button" onclick="madeDownload('png')">Download PNG</button>
  <button type="button" onclick="madeDownload('svg')">Download SVG</button>
  <span style="color:#555">{note}</span>
</div>
"""

_SCRIPT = """
function madeDownload(format) {{
  var gd = document.getElementById('{div_id}');
  Plotly.downloadImage(gd, {{format: format, filename: {filename}, scale: format === 'png' ? {scale} : 1}});
}}
"""


def figure_html(fig: go.Figure, title: str, note: str = "", filename: str = "made_figure") -> str:
    """`fig` as one HTML page with plotly.js embedded: opens from disk with the network off.

    The figure is not started playing (`auto_play=False`): an animation opens on the frame the app
    showed, and the student presses Play. The text is deterministic for one figure (a fixed div id),
    so two exports of the same figure are the same file."""
    div_id = "made-figure"
    page = fig.to_html(
        include_plotlyjs=True,
        full_html=True,
        auto_play=False,
        div_id=div_id,
        config={**toolbar(filename), "displayModeBar": True, "responsive": True},
        default_width="100%",
        default_height=f"{_height(fig)}px",
    )
    page = page.replace("<head>", f'<head><meta charset="utf-8"><title>{html.escape(title)}</title>', 1)
    bar = _BUTTONS.format(title=html.escape(title), note=html.escape(note))
    script = "<script>" + _SCRIPT.format(div_id=div_id, filename=json.dumps(filename), scale=IMAGE_SCALE) + "</script>"
    return page.replace("<body>", "<body>" + bar + script, 1)


def _height(fig: go.Figure) -> int:
    """The figure's own height (as drawn in the app), or plotly's default."""
    return int(fig.layout.height or 450)


def network_html(fig: go.Figure, description: str) -> str:
    """The masked network as a handout: hover for each unit's degree; the traced unit's paths as drawn."""
    return figure_html(
        fig, "MADE: the masked network", note=description + " Hover a unit for its degree.", filename="made_network"
    )


def animation_html(fig: go.Figure, description: str) -> str:
    """The sampling animation as a handout: Play, Pause, Step and the slider work offline."""
    return figure_html(
        fig,
        "MADE: sampling pixel by pixel",
        note=description + " Play, Pause, Step and the slider work without a network.",
        filename="made_sampling",
    )
