"""JupyterLab in each flavor's image reaches for nothing outside: no news, no update check, no extension catalogue."""

import json
import re
import urllib.parse

import pytest

from tests.support.wait import http_get, until

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]
TOKEN = "offline-test-token-0123"


def get(port, path):
    return http_get(f"http://127.0.0.1:{port}{path}").text


@pytest.fixture
def lab_port(container, port):
    """A lab container on a published 127.0.0.1 port, its API answering."""
    container.start(environment={"JUPYTER_TOKEN": TOKEN}, ports={"8888/tcp": ("127.0.0.1", port)})
    until(lambda: get(port, f"/api/status?token={TOKEN}"), 90, "the lab's answer")
    return port


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


@pytest.mark.browser
def test_browser_loading_the_lab_asks_only_the_lab(lab_port, page):
    """Chromium opening JupyterLab sends requests to 127.0.0.1 only (no fonts, news or catalogue from outside)."""
    hosts = []
    page.on("request", lambda request: hosts.append(urllib.parse.urlsplit(request.url).hostname))
    page.goto(f"http://127.0.0.1:{lab_port}/lab?token={TOKEN}")
    page.wait_for_selector(".jp-Launcher", timeout=60000)
    page.wait_for_timeout(3000)  # late requests (news, update check) would come now
    assert hosts and set(hosts) == {"127.0.0.1"}, sorted(set(hosts))
