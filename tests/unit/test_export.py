"""Slides and handouts (made_viz.export): the toolbar config, and figures as self-contained HTML files."""

import re

import torch

from made_viz import animation as A
from made_viz import export
from made_viz import figures as F
from made_viz import graph as G
from made_viz.config import Config
from made_viz.masks import build_masks
from made_viz.model import MADE
from made_viz.sampling import sample


def network_fig():
    ms = build_masks(Config(d=3, shape=(1, 3), hidden=(4,), order=(1, 2, 0), degrees="even", seed=0), 0)
    return F.network_figure(ms, tr=G.trace_target(ms, "u:2:0"), arrange="natural", aggregated=False)


def animation_fig():
    torch.manual_seed(0)
    model = MADE(Config(d=16, shape=(4, 4), hidden=(16,), seed=1)).eval()
    traj = sample(model, n=4, seed=0)
    plan = A.frame_plan(traj.order.numpy(), None, all_steps=True)
    return A.animation_figure(traj, (4, 4), None, plan, False, A.SPEEDS["normal"])


def test_toolbar_offers_only_the_image_download():
    bar = export.TOOLBAR
    assert bar["displayModeBar"] and bar["modeBarButtons"] == [["toImage"]] and not bar["displaylogo"]
    assert bar["toImageButtonOptions"]["format"] == "png" and bar["toImageButtonOptions"]["scale"] >= 2


def _script_sources(page: str) -> list[str]:
    return re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", page)


def test_network_html_embeds_plotly_and_loads_nothing_from_the_network():
    page = export.network_html(network_fig(), "D = 3.")
    assert _script_sources(page) == [], "the file must not load a script from anywhere"
    assert len(page) > 3_000_000, "plotly.js must be embedded"
    assert "Download SVG" in page and "Download PNG" in page
    assert page == export.network_html(network_fig(), "D = 3."), "the same figure gives the same file"


def test_animation_html_keeps_frames_and_buttons_and_does_not_autoplay():
    fig = animation_fig()
    page = export.animation_html(fig, "4 samples.")
    assert _script_sources(page) == []
    for label in ("Play", "Pause", "◀ Step", "Step ▶"):
        assert label.encode("unicode_escape").decode() in page or label in page
    assert "Plotly.addFrames" in page and "Plotly.animate" not in page.split("Plotly.addFrames", 1)[1][:2000]
    assert len(fig.frames) > 2
