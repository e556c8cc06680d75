"""What the figures built without plotly's validation (made_viz.plot_parts.plain_figure, animation.AnimationFigure)
are checked with: plotly's validation must accept them and change nothing in what the browser is sent."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio


def assert_valid_as_plotly_would_send(fig: go.Figure) -> None:
    """Validation raises on a misspelt or ill-typed property (which plotly.js would silently ignore); the JSON
    sent must be the JSON of the validated figure (frames aside: tests/unit/test_animation.py checks those)."""
    sent = json.loads(pio.to_json(fig, validate=False))
    sent.pop("frames", None)
    validated = go.Figure({k: v for k, v in fig.to_dict().items() if k != "frames"})
    assert sent == json.loads(pio.to_json(validated, validate=False))
