"""The landing page in a real browser."""

import re

from playwright.sync_api import expect

from .conftest import goto, wait_idle


def test_home_loads_and_sidebar_changes_url(page, app_url, shots):
    goto(page, app_url)
    expect(page.get_by_role("heading", name="MADE Explorer")).to_be_visible()
    page.screenshot(path=str(shots / "home.png"))
    box = page.get_by_role("textbox", name="Hidden layers")
    box.fill("32, 16")
    box.press("Enter")
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"hidden=32(%2C|,)16"))
