"""What every page run pays, whatever changed: kept small (issue 17, "Cheaper reruns";
bench/profile_pages.py shows where a run's time goes)."""

from __future__ import annotations

import gc

from made_viz import ui


def test_prepare_process_walks_the_frozen_generation_once(monkeypatch):
    """gc.get_freeze_count() counts the frozen objects one by one (~1 M after the warm-up: ~40 ms), and
    prepare_process runs at the start of every page run: it may ask once per process, not per run."""
    calls = []
    real = gc.get_freeze_count
    monkeypatch.setattr(gc, "get_freeze_count", lambda: calls.append(1) or real())
    monkeypatch.setattr(ui, "_prepared", False, raising=False)
    for _ in range(5):
        ui.prepare_process()
    assert len(calls) <= 1


def test_degree_colors_from_the_table_are_plotlys_own_samples():
    """degree_colors looks whole degrees up in a table sampled once per D: the same strings as sampling each."""
    import numpy as np
    import plotly.colors as pcolors

    from made_viz.plot_parts import DEGREE_SCALE, degree_colors

    rng = np.random.default_rng(0)
    for d in (1, 2, 3, 16, 64, 784, 4096):
        for deg in (rng.integers(1, d + 1, size=300), np.arange(1, d + 1, dtype=np.int32), np.array([d, 1, d])):
            t = np.clip((deg.astype(float) - 1) / max(d - 1, 1), 0, 1).tolist()
            assert degree_colors(deg, d) == pcolors.sample_colorscale(DEGREE_SCALE, t)
    assert degree_colors(np.array([0.5, 2.5]), 4) == pcolors.sample_colorscale(DEGREE_SCALE, [0.0, 0.5])


def test_a_shared_figure_sends_the_same_json_every_time():
    """plot_parts.shared: st.plotly_chart's to_dict is computed once, gives what go.Figure gives, and a caller
    that changes the top of the returned dict does not change what the next run sends."""
    import plotly.io as pio

    from made_viz import figures as F
    from made_viz.config import Config
    from made_viz.masks import build_masks
    from made_viz.plot_parts import SharedFigure, shared

    ms = build_masks(Config(d=16, shape=(4, 4), hidden=(32, 6), seed=3))
    for make in (lambda: F.network_figure(ms), lambda: F.connectivity_figure(ms), lambda: F.mask_figure(ms, 1)):
        want = pio.to_json(make().to_dict(), validate=False)
        fig = shared(make())
        assert type(fig) is SharedFigure
        first = fig.to_dict()
        assert pio.to_json(first, validate=False) == want
        first["layout"]["height"] = 1
        first["data"].clear()
        assert pio.to_json(fig.to_dict(), validate=False) == want
