"""Check that the app runs on the lowest Streamlit pyproject.toml admits (the floor, 1.55.0).

    python3 -m venv --system-site-packages /tmp/st-floor && /tmp/st-floor/bin/pip install streamlit==1.55.0
    /tmp/st-floor/bin/python -m streamlit run app.py --server.headless=true --server.port=8877 &
    python scripts/check_streamlit_floor.py 8877

Opens every page in headless chromium (Debian's /usr/bin/chromium) and fails if one shows an exception.
Why 1.55: lazy tabs (`st.tabs(on_change="rerun")`, `tab.open`) first appear there. The AppTest suite is not
run against the floor: streamlit.testing's own API changed since (query parameters, chart keys).
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

PAGES = ["", "architecture", "train", "sample", "exercises"]


def main(port: int) -> int:
    bad = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        for path in PAGES:
            page.goto(f"http://127.0.0.1:{port}/{path}", timeout=120_000)
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)
            page.wait_for_timeout(3000)
            errors = page.locator('[data-testid="stException"]').count()
            print(f"{path or 'home'}: {errors} exception(s)")
            if errors:
                bad.append(path or "home")
        browser.close()
    print("OK" if not bad else f"pages with exceptions: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8877))
