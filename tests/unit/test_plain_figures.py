"""The Train page's figures are built without plotly's validation (made_viz.plot_parts.plain_figure: the live
panel redraws the curves every tick for every student training). Each builder's figures, in their variants,
must be what validated figures would send."""

from __future__ import annotations

import numpy as np
import pytest

from made_viz import curves, images, paper
from made_viz.plot_parts import plain_figure
from tests.plotly_valid import assert_valid_as_plotly_would_send


def test_the_curves_in_nats_and_bits_with_references_and_without_points():
    rng = np.random.default_rng(0)
    train = [(i / 50, 90 - i * 0.05 + rng.random()) for i in range(600)]
    valid = [(float(e), 80.0 - e) for e in range(1, 12)]
    refs = curves.reference_lines(120.5, 60.25)
    for unit in ("nats", "bits"):
        assert_valid_as_plotly_would_send(curves.nll_figure(train, valid, 64, unit=unit, references=refs, epochs=20))
    assert_valid_as_plotly_would_send(curves.nll_figure([], [], 64))


def test_the_peek_and_the_data_preview():
    rng = np.random.default_rng(1)
    x = (rng.random((8, 64)) < 0.5).astype(np.float32)
    x[0, :10] = np.nan  # not drawn yet
    assert_valid_as_plotly_would_send(images.grid_figure(x, (8, 8), cols=4, title="samples", height=80))
    assert_valid_as_plotly_would_send(curves.preview_figure(x, (8, 8), n=8, cols=4, height=130))
    assert_valid_as_plotly_would_send(curves.conditionals_figure(x[1], rng.random(64), (8, 8), height=110))


def test_the_masks_figure_with_and_without_the_students_point():
    results = paper.load_results()
    assert_valid_as_plotly_would_send(paper.masks_figure(results, None, height=260))
    assert_valid_as_plotly_would_send(paper.masks_figure(results, paper.MaskPoint(4, 95.0, 93.5), height=260))
    assert_valid_as_plotly_would_send(paper.masks_figure(results, paper.MaskPoint(1, 97.0, None), height=260))


def test_a_misspelt_property_is_caught():
    with pytest.raises(ValueError, match="colr"):
        assert_valid_as_plotly_would_send(plain_figure([{"type": "scatter", "line": {"colr": "red"}}], {}))
