"""bench/soak.py's new student actions against a real server, one case at a time: uploads the way the
browser sends them (bench/st_client.py's Tab.upload), bad files, odd but valid hidden-layer texts and a
pasted document. Each must leave the student's state as the soak expects it (nothing in `lost`), with no
exception on the page."""

from __future__ import annotations

import argparse
import asyncio
import io
import random

import numpy as np
import pytest

from bench import soak_student
from bench.soak_student import BAD_UPLOADS, ODD_HIDDEN, PASTES, UPLOAD, SoakStudent
from bench.st_client import Tab, run_async

pytestmark = pytest.mark.e2e

ARGS = argparse.Namespace(
    timeout=120.0, think=1.0, bad=0.0, huge_layers="4096,4096", paste_mb=0.25, huge_upload_mb=60.0
)


def npy(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def test_an_upload_is_stored_and_reaches_the_page_and_one_over_the_limit_is_refused_without_a_rerun(app_url):
    async def lesson():
        tab = Tab(app_url, 120)
        await tab.connect()
        try:
            await tab.open("train")
            sent, node = await tab.set_value("Source", "Upload")
            await tab.wait_done(sent, node.fragment_id)
            bad = await tab.upload(UPLOAD, "wrong-size.npy", npy(np.zeros((3, 65, 65), np.uint8)))
            assert bad.status == 204 and bad.sent is not None
            await tab.wait_done(bad.sent, bad.node.fragment_id)
            refused = tab.shown_errors()
            good = await tab.upload(UPLOAD, "digits.npy", npy(np.ones((20, 8, 8), np.uint8) * 200))
            await tab.wait_done(good.sent, good.node.fragment_id)
            after_good = tab.shown_errors()
            runs = len(tab.finishes)
            huge = await tab.upload(UPLOAD, "huge.npy", bytes(51 * 2**20))
            await asyncio.sleep(1)
            return refused, after_good, huge, len(tab.finishes) - runs, tab.errors
        finally:
            await tab.close()

    refused, after_good, huge, reruns, errors = run_async(lesson())
    assert any("wrong-size.npy" in e and "larger than 64x64" in e for e in refused), refused
    assert after_good == []  # the app parsed the good file: its message is gone
    assert huge.status == 413 and huge.sent is None and reruns == 0
    assert errors == []


def student(url: str, **args) -> SoakStudent:
    everyone = {0: {200, 300}, 1: {201, 301}}
    s = SoakStudent(0, everyone, random.Random(0), argparse.Namespace(**{**vars(ARGS), **args}))
    s.url = url
    return s


@pytest.mark.parametrize("action", ["odd_hidden", "upload", "bad_upload", "paste"])
def test_each_new_action_keeps_the_students_state(app_url, action):
    cases = {"odd_hidden": ODD_HIDDEN, "upload": [None], "bad_upload": BAD_UPLOADS, "paste": PASTES}[action]

    async def lesson():
        s = student(app_url)
        await s.open_tab("architecture", "")
        try:
            for case in cases:
                if case is not None:
                    s.rng.choice = lambda seq, case=case: case if case in seq else seq[0]
                s.where = f"{action} {case[0] if isinstance(case, tuple) and isinstance(case[0], str) else case}"
                await getattr(s, "do_" + action)()
                s.check(action)
                s.collect_tab_errors()
        finally:
            await s.tab.close()
        return s

    s = run_async(lesson())
    assert s.lost == [] and s.exceptions == [] and s.errors == [] and s.leaks == [], (s.lost, s.exceptions, s.errors)
    if action == "odd_hidden":
        assert s.hidden == ODD_HIDDEN[-1][1](200)  # the last odd text was taken
    if action == "bad_upload":
        assert any("60 MB upload: HTTP 413" in n for n in s.notes), s.notes


def test_the_bad_upload_check_catches_a_page_that_takes_a_bad_file(app_url, monkeypatch):
    """The check can fail: a 'bad' file that is in fact good is reported as lost (no message naming it)."""
    good = ("fine.npy", lambda args: npy(np.ones((20, 8, 8), np.uint8)), "larger than 64x64")
    monkeypatch.setattr(soak_student, "BAD_UPLOADS", (good,))

    async def lesson():
        s = student(app_url)
        await s.open_tab("architecture", "")
        try:
            s.rng.choice = lambda seq: good if good in seq else seq[0]
            await s.do_bad_upload()
        finally:
            await s.tab.close()
        return s

    s = run_async(lesson())
    assert any("bad upload fine.npy: no message naming it" in x for x in s.lost), s.lost


def test_a_scripted_megabyte_paste_closes_the_socket_and_the_session_keeps_its_network(app_url):
    """The box takes 200 characters, but a script can send megabytes in one message: the server closes
    that socket unread (1009, server.maxWidgetStateSize) instead of parsing and keeping it, and the tab that
    reconnects (as the browser does) finds its session with the last network it chose: its session state,
    since the rerun after reconnecting sends neither widget values nor the URL's keys."""

    async def lesson():
        tab = Tab(app_url, 120)
        await tab.connect()
        try:
            await tab.open("architecture")
            sent, node = await tab.set_value("Hidden layers", "40, 30")
            await tab.wait_done(sent, node.fragment_id)
            sent, node = await tab.set_value("Hidden layers", "7," * 600_000)  # 1.2 MB
            try:
                await tab.wait_done(sent, node.fragment_id)
                answered = True
            except ConnectionError:
                answered = False
            code, session = tab.close_code, tab.session_id
            await tab.reconnect([], query="")
            return answered, code, session == tab.session_id, tab.caption(), tab.errors, tab.shown_errors()
        finally:
            await tab.close()

    answered, code, same_session, caption, errors, shown = run_async(lesson())
    assert not answered and code == 1009
    assert same_session and "→ 40 → 30 →" in caption, caption
    assert [e for e in errors if not e.startswith("websocket closed by the server")] == [] and shown == []


def test_the_soaks_big_paste_reconnects_and_finds_the_students_network(app_url):
    """bench/soak.py's default 10 MB paste is over the server's message limit: the student's tab
    reconnects and the soak's own check (the sidebar shows the last network chosen) passes."""

    async def lesson():
        s = student(app_url, paste_mb=2.0)
        await s.open_tab("architecture", "")
        try:
            await s.run(await s.tab.set_value("Hidden layers", "40, 30"))
            s.hidden = (40, 30)
            await s.do_paste()
            s.check("paste")
            s.collect_tab_errors()
        finally:
            await s.tab.close()
        return s

    s = run_async(lesson())
    assert s.lost == [] and s.exceptions == [] and s.errors == [], (s.lost, s.exceptions, s.errors)
    assert any("closed the socket (1009)" in n for n in s.notes), s.notes
    assert s.hidden == (40, 30)
