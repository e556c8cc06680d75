"""conftest.wait_idle, the wait every browser test relies on, against a tiny app: it counts every run, fast ones
too, returns only once the action's run is drawn, and fails when the action caused no run at all."""

from __future__ import annotations

import textwrap

import pytest
from playwright.sync_api import expect

from .conftest import count_runs, goto, serve, wait_idle

pytestmark = pytest.mark.e2e

APP = textwrap.dedent("""
    import streamlit as st

    st.title("Runs")
    st.session_state.setdefault("clicks", 0)
    if st.button("Count"):
        st.session_state.clicks += 1
    st.write(f"clicks: {st.session_state.clicks}")
""")


@pytest.fixture(scope="module")
def tiny_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_app")
    (folder / "tiny.py").write_text(APP)
    with serve("tiny.py", cwd=folder) as url:
        yield url


def test_each_fast_run_is_counted_and_waited_for(page, tiny_url):
    """Runs of a few ms, whose "running" state React may never draw: each click's run is counted once."""
    goto(page, tiny_url)
    expect(page.get_by_text("clicks: 0")).to_be_visible()
    for clicks in (1, 2):
        page.get_by_role("button", name="Count").click()
        wait_idle(page)
        # a plain read, no retry: wait_idle has returned, so the click's run must be drawn
        assert page.get_by_test_id("stMarkdownContainer").filter(has_text="clicks:").inner_text() == (
            f"clicks: {clicks}"
        )
        assert page.evaluate("() => [window.__madeRuns, window.__madeSeen]") == [1 + clicks, 1 + clicks]


def test_an_action_that_runs_nothing_fails_the_wait(page, tiny_url):
    count_runs(page.context)
    goto(page, tiny_url)
    page.get_by_role("heading", name="Runs").click()  # no widget: no run
    with pytest.raises(AssertionError, match="caused no script run"):
        wait_idle(page, timeout=3_000)
    wait_idle(page, timeout=3_000, started=500)  # told that it may run nothing: only the quiet
