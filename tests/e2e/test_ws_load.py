"""bench/ws_load.py, the browserless load generator, against a real server: two simulated students
(websockets speaking Streamlit's protocol) change their architecture, train, sample and come back;
neither sees the other's. A second app that shares its state between sessions on purpose must be
caught, so the isolation check is known to be able to fail."""

from __future__ import annotations

import textwrap

import pytest

from bench import ws_load

from .conftest import serve

pytestmark = pytest.mark.e2e

# correctness, not speed: a shared test machine may be slow, so the latency target is generous
ARGS = [
    "--sessions",
    "2",
    "--changes",
    "1",
    "--train-seconds",
    "1",
    "--no-warmup",
    "--json",
    "--timeout",
    "45",
    "--p95-target",
    "30",
]

# The bug on purpose: one architecture for the whole server (st.cache_resource), not one per session.
LEAKY_APP = textwrap.dedent("""
    import streamlit as st

    @st.cache_resource
    def shared():
        return {"hidden": "128, 128"}

    def sidebar():
        box = shared()
        st.sidebar.text_input("Hidden layers", value=box["hidden"], key="h",
                              on_change=lambda: box.update(hidden=st.session_state.h))
        layers = " → ".join(x.strip() for x in box["hidden"].split(","))
        st.sidebar.caption(f"D = 64 · layers 64 → {layers} → 64")

    def home():
        sidebar()
        st.title("Home")

    def architecture():
        sidebar()
        st.title("Architecture")

    def train():
        sidebar()
        st.title("Train")
        running = st.session_state.get("running", False)
        if running:
            st.button("Stop", on_click=lambda: st.session_state.update(running=False))
        else:
            st.button("Start", on_click=lambda: st.session_state.update(running=True))

        @st.fragment(run_every=0.5 if running else None)
        def tick():
            st.session_state["steps"] = st.session_state.get("steps", 0) + 1
            st.progress(0.0, text=f"step {st.session_state['steps']} of 100")
        tick()

    def sample():
        sidebar()
        st.title("Sample")
        st.button("New seed")

    st.navigation([st.Page(home, title="Home", default=True),
                   st.Page(architecture, title="Architecture", url_path="architecture"),
                   st.Page(train, title="Train", url_path="train"),
                   st.Page(sample, title="Sample", url_path="sample")]).run()
""")


@pytest.fixture
def leaky_url(tmp_path):
    (tmp_path / "leaky.py").write_text(LEAKY_APP)
    with serve("leaky.py", cwd=tmp_path) as url:
        yield url


def test_two_simulated_students_each_keep_their_own_architecture(app_url):
    r = ws_load.run(ws_load.parse_args(["--url", app_url, *ARGS]))
    assert r["errors"] == []
    assert r["isolation_violations"] == []
    assert r["state_lost"] == []
    seen = r["own_size_seen"]
    assert len(seen) == 2 and all(seen.values()), seen
    lat = r["latency_s"]
    assert lat["page_load"]["n"] == 2
    assert lat["change"]["n"] == 2 and lat["change"]["p95"] > 0
    assert lat["change_to_caption"]["n"] == 2
    assert lat["page_switch"]["n"] == 6  # Train, Sample, back to Architecture
    assert lat["button_by_label"]["Start"]["n"] == 2
    assert lat["button_by_label"]["New seed"]["n"] == 2
    assert r["train"]["status"] == ["ok"] and r["sample"]["status"] == ["ok"]
    assert r["train"]["fragment_requests"] > 0  # the Train page's run_every fragment was emulated
    assert r["streamlit_with_sessions"]["active_sessions"] >= 2
    assert r["ok"]


def test_a_server_that_shares_state_between_sessions_is_caught(leaky_url):
    r = ws_load.run(ws_load.parse_args(["--url", leaky_url, *ARGS]))
    assert r["errors"] == []  # the protocol side works on this app too
    assert r["latency_s"]["change"]["n"] == 2
    assert r["train"]["fragment_runs"] > 0
    # both sessions typed at once; afterwards the shared value is one of them, and the other
    # session sees it in its sidebar caption on its next run
    assert r["isolation_violations"], r
    assert r["state_lost"]
    assert not r["ok"]
