"""JupyterLab in the image reaches for nothing outside: no news, no update check, no extension catalogue."""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.timeout(600)
TOKEN = "offline-test-token-0123"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
        return reply.read().decode()


@pytest.fixture
def lab_port(cpu_container, port):
    """A lab container on a published 127.0.0.1 port, its API answering."""
    cpu_container.start(environment={"JUPYTER_TOKEN": TOKEN}, ports={"8888/tcp": ("127.0.0.1", port)})
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            get(port, f"/api/status?token={TOKEN}")
            return port
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    raise AssertionError("the lab did not answer")


def test_lab_page_config_turns_news_and_extension_installs_off(lab_port):
    """The /lab page config has news disabled and a read-only extension manager that cannot install."""
    page = get(lab_port, f"/lab?token={TOKEN}")
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    assert config["news"] == {"disabled": True}
    assert config["extensionManager"]["name"] == "read-only"
    assert config["extensionManager"]["can_install"] is False


def test_news_update_and_settings_endpoints_stay_silent(lab_port):
    """/lab/api/news is empty, /lab/api/update has no notification, news and update checks are off in the settings."""
    assert json.loads(get(lab_port, f"/lab/api/news?token={TOKEN}"))["news"] == []
    assert json.loads(get(lab_port, f"/lab/api/update?token={TOKEN}"))["notification"] is None
    settings = json.loads(get(lab_port, f"/lab/api/settings/@jupyterlab/apputils-extension:notification?token={TOKEN}"))
    effective = {**{k: v.get("default") for k, v in settings["schema"]["properties"].items()}, **settings["settings"]}
    assert effective["checkForUpdates"] is False and effective["fetchNews"] == "false"


def test_browser_loading_the_lab_asks_only_the_lab(lab_port):
    """Chromium opening JupyterLab sends requests to 127.0.0.1 only (no fonts, news or catalogue from outside)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    hosts = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: hosts.append(urllib.parse.urlsplit(request.url).hostname))
            page.goto(f"http://127.0.0.1:{lab_port}/lab?token={TOKEN}")
            page.wait_for_selector(".jp-Launcher", timeout=60000)
            page.wait_for_timeout(3000)  # late requests (news, update check) would come now
        finally:
            browser.close()
    assert hosts and set(hosts) == {"127.0.0.1"}, sorted(set(hosts))
