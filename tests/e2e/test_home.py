"""The landing page in a real browser."""
from .conftest import goto, wait_idle


def test_home_loads_and_sidebar_changes_url(page, app_url, shots):
    goto(page, app_url)
    assert page.get_by_role("heading", name="MADE Explorer").is_visible()
    page.screenshot(path=str(shots / "home.png"))
    box = page.get_by_role("textbox", name="Hidden layers")
    box.fill("32, 16")
    box.press("Enter")
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('hidden=32%2C16') || location.search.includes('hidden=32,16')")
    assert "32" in page.url
