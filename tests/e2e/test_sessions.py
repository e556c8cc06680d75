"""Two students on one server at the same time: two browser contexts (= two Streamlit sessions)
each set their own architecture; neither ever sees the other's, in the sidebar or in the URL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import goto, wait_idle

CAPTION = '[data-testid="stSidebar"] [data-testid="stCaptionContainer"]'


@pytest.fixture
def two_pages(new_context):
    """Two browser contexts (pytest-playwright's: 1280x720, traced, closed afterwards)."""
    pages = [new_context().new_page() for _ in range(2)]
    for p in pages:
        p.set_default_timeout(30_000)
    return pages


def caption(page) -> str:
    return " | ".join(t for t in page.locator(CAPTION).all_inner_texts() if t.startswith("D = "))


def url_hidden(page) -> str | None:
    m = re.search(r"[?&]hidden=([^&]*)", page.url)
    return m.group(1).replace("%2C", ",") if m else None


def set_hidden(page, text: str) -> None:
    """Type into the sidebar box without waiting (so both sessions can run at the same time)."""
    box = page.get_by_role("textbox", name="Hidden layers")
    box.fill(text)
    box.press("Enter")


def wait_shows(page, hidden: str) -> None:
    want = " → ".join(hidden.split(",")) if hidden else "(none)"
    page.wait_for_function(
        """([sel, want]) => [...document.querySelectorAll(sel)].some(e => e.innerText.includes(' ' + want + ' → '))""",
        arg=[CAPTION, want],
    )
    wait_idle(page)


def assert_own(page, hidden: str, other: str) -> None:
    cap = caption(page)
    want, bad = " → ".join(hidden.split(",")), " → ".join(other.split(","))
    assert f"→ {want} →" in cap and f"→ {bad} →" not in cap, cap
    assert url_hidden(page) == hidden, page.url


def nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    page.wait_for_function(f"() => location.pathname.endsWith('/{title.lower()}')")
    wait_idle(page)


def test_two_sessions_keep_their_own_architecture(two_pages, app_url, shots):
    a, b = two_pages
    for p in (a, b):
        goto(p, app_url)
    # both students press Enter at about the same moment
    set_hidden(a, "33")
    set_hidden(b, "44,12")
    wait_shows(a, "33")
    wait_shows(b, "44,12")
    assert_own(a, "33", "44,12")
    assert_own(b, "44,12", "33")

    # A changes again (a preset, then more layers); B's page, rerun by B's own click, is unaffected
    set_hidden(a, "33,7,5")
    b.locator('[data-testid="stSidebar"]').get_by_text("Direct input→output connections").click()
    wait_shows(a, "33,7,5")
    wait_idle(b)
    assert_own(a, "33,7,5", "44,12")
    assert_own(b, "44,12", "33,7,5")
    assert "direct=1" in b.url and "direct=1" not in a.url

    # each on another page of the app (client-side navigation: same session)
    nav(a, "Architecture")
    nav(b, "Train")
    assert_own(a, "33,7,5", "44,12")
    assert_own(b, "44,12", "33,7,5")

    # a reload starts a fresh session from the tab's own URL, not from the other tab's state
    b.reload()
    wait_idle(b)
    assert_own(b, "44,12", "33,7,5")
    a.screenshot(path=str(shots / "sessions_a.png"))
    b.screenshot(path=str(shots / "sessions_b.png"))


def test_sidebar_keeps_the_session_architecture_across_pages(two_pages, app_url):
    """After a page switch the sidebar's controls still show the session's architecture (and the
    next edit builds on it, not on blank widgets)."""
    a, _ = two_pages
    goto(a, app_url)
    set_hidden(a, "21")
    wait_shows(a, "21")
    nav(a, "Architecture")
    expect(a.get_by_role("textbox", name="Hidden layers")).to_have_value("21")
    expect(a.get_by_role("spinbutton", name="Height")).to_have_value("8")
    set_hidden(a, "21,9")
    wait_shows(a, "21,9")
    assert caption(a).startswith("D = 64 ·"), caption(a)
