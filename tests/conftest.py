"""Shared test settings."""

import os

import pytest
import torch

# The Train page's Stop and "+20 steps" wait this long for a training worker's count (default 0.3 s, then the
# page says "stopping" / "training 20 steps" until it comes). The tests that check the count right after the
# click wait for it, also in the servers the browser tests start, and a first "+20 steps" may wait for a cold
# worker (torch imported at a low priority on a loaded machine); test_train_page checks the short wait itself.
os.environ.setdefault("MADE_VIZ_STOP_WAIT", "120")


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
