"""Shared test settings."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Like the app (MADE_VIZ_THREADS=1): the tests' tiny models train fastest on one thread, and
    one thread is immune to an oversubscribed machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def fresh_class_ledger(monkeypatch):
    """Each test starts with an empty class budget (made_viz.budget.LEDGER is process-wide: sessions of
    earlier tests that the garbage collector has not dropped yet must not count against this one)."""
    from made_viz import budget

    monkeypatch.setattr(budget, "LEDGER", budget.Ledger())
