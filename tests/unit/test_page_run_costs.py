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
