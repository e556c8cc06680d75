"""The class's budget (made_viz.budget.Ledger): what all sessions of one process hold, summed and bounded,
with one sentence for a refusal, and given back when a session is dropped."""

from __future__ import annotations

import gc
import threading

import pytest

from made_viz import budget
from made_viz.config import ConfigError


def test_sessions_are_admitted_until_the_sum_would_pass_the_limit():
    ledger = budget.Ledger(limit=100)
    a, b, c = ledger.share(), ledger.share(), ledger.share()
    ledger.admit(a, 60)
    ledger.admit(b, 40)  # exactly the limit: inclusive
    assert ledger.total() == 100
    with pytest.raises(ConfigError) as err:
        ledger.admit(c, 1)
    assert str(err.value) == (
        "The server is full: the class's networks already use 100 of the 100 weights this server holds at "
        "once (MADE_VIZ_CLASS_WEIGHTS), and this one needs 1 (at most 0 fit now). Use a smaller network, or "
        "try again when others have finished."
    )
    assert ledger.held(c) == 0 and ledger.total() == 100  # a refusal changes nothing


def test_a_session_that_grows_is_priced_without_its_own_holding():
    ledger = budget.Ledger(limit=100)
    a, b = ledger.share(), ledger.share()
    ledger.admit(a, 30)
    ledger.admit(b, 50)
    ledger.admit(a, 50)  # 30 -> 50: the others hold 50, so 100 in all
    assert ledger.held(a) == 50
    with pytest.raises(ConfigError, match=r"already use 50 of the 100 .* needs 51 \(at most 50 fit now\)"):
        ledger.admit(a, 51)
    assert ledger.held(a) == 50  # kept what it had


def test_shrinking_or_keeping_is_always_admitted_even_over_a_lowered_limit():
    ledger = budget.Ledger(limit=100)
    a, b = ledger.share(), ledger.share()
    ledger.admit(a, 80)
    ledger.record(b, 90)  # what a session holds is recorded whatever the limit (e.g. a checkpoint run)
    ledger.admit(a, 80)  # the same size again: a new seed
    ledger.admit(a, 10)  # smaller: a student can always back off
    assert ledger.total() == 100
    with pytest.raises(ConfigError):
        ledger.admit(a, 11)


def test_a_dropped_session_gives_its_share_back():
    ledger = budget.Ledger(limit=100)
    a, b = ledger.share(), ledger.share()
    ledger.admit(a, 70)
    with pytest.raises(ConfigError):
        ledger.admit(b, 40)
    del a
    gc.collect()
    assert ledger.total() == 0
    ledger.admit(b, 40)
    assert ledger.total() == 40


def test_the_limit_is_the_operators(monkeypatch):
    monkeypatch.setenv("MADE_VIZ_CLASS_WEIGHTS", "1,000")
    assert budget.read_class_limit() == 1000
    ledger = budget.Ledger()
    s = ledger.share()
    with pytest.raises(ConfigError, match="at most 1,000 fit now"):
        ledger.admit(s, 1001)
    monkeypatch.delenv("MADE_VIZ_CLASS_WEIGHTS")
    assert budget.read_class_limit() == budget.DEFAULT_CLASS_WEIGHTS == 10_000_000
    for bad in ("0", "-5", "lots"):
        monkeypatch.setenv("MADE_VIZ_CLASS_WEIGHTS", bad)
        with pytest.raises(ValueError, match="MADE_VIZ_CLASS_WEIGHTS must be a positive whole number"):
            budget.read_class_limit()


def test_concurrent_admissions_never_pass_the_limit():
    """Students click at once: the check and the update are one step, so 2 x 60 never both get in."""
    ledger = budget.Ledger(limit=100)
    shares = [ledger.share() for _ in range(16)]
    admitted = []
    barrier = threading.Barrier(len(shares))

    def one(s):
        barrier.wait()
        try:
            ledger.admit(s, 60)
            admitted.append(s)
        except ConfigError:
            pass

    threads = [threading.Thread(target=one, args=(s,)) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 1 and ledger.total() == 60


def test_giving_back_by_hand_is_the_same_as_being_dropped_and_happens_once():
    ledger = budget.Ledger(limit=100)
    a = ledger.share()
    ledger.admit(a, 70)
    b = ledger.share()
    ledger.admit(b, 30)
    a.give_back()
    assert ledger.total() == 30
    a.give_back()  # a finalizer runs once: a second call (or the collector later) does nothing
    del a
    gc.collect()
    assert ledger.total() == 30 and ledger.held(b) == 30
