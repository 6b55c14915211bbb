"""Debian's chromium, driven by Playwright: headless, no sandbox (tests run as root), nothing fetched."""

import contextlib

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@contextlib.contextmanager
def new_page(screenshot=None):
    """A fresh page in a fresh browser; a screenshot of its last state is saved to screenshot (a path)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            if screenshot:
                page.screenshot(path=str(screenshot))
            browser.close()
