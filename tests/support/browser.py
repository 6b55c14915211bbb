"""Debian's chromium, driven by Playwright: headless, no sandbox (tests run as root), nothing fetched."""

import contextlib

CHROMIUM = "/usr/bin/chromium"
# --no-proxy-server: the browser stands for the student's, and Chromium's own calls home (update, autofill and
# account checks at Google, despite the flags before it) are not requests of ours for the suite's proxy tripwire.
# The pages' own requests are what the tests check (test_offline_jupyter); Chromium sends loopback ones direct anyway.
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--no-proxy-server"]


@contextlib.contextmanager
def new_page(screenshot=None, args=()):
    """A fresh page in a fresh browser (args: Chromium switches added); a screenshot of its last state is saved to
    screenshot (a path)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            if screenshot:
                page.screenshot(path=str(screenshot))
            browser.close()
