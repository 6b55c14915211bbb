"""Exporting from the browser: the File menu offers HTML, and no export the image cannot do."""

import re

import pytest

from tests.support.logs import UNTRUSTED
from tests.support.wait import wait_for_http

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.timeout(600)]
TOKEN = "export-menu-token-0123456789"
CANNOT = re.compile(r"PDF|LaTeX|ReStructured|AsciiDoc|Qt", re.I)
# The test closes the page as soon as it has read the menu, while the notebook's kernel socket may still open.
CLOSED_EARLY = (r"ServerApp\] Uncaught exception GET /api/kernels/\S+/channels",)


def test_export_menu_offers_html_and_nothing_that_fails(cpu_container, port, page):
    """File > Save and Export Notebook As lists HTML (for Print to PDF) and no PDF, LaTeX, ReST or AsciiDoc entry."""
    cpu_container.start(environment={"JUPYTER_TOKEN": TOKEN}, ports={"8888/tcp": ("127.0.0.1", port)}, allowed=UNTRUSTED + CLOSED_EARLY)
    wait_for_http(f"http://127.0.0.1:{port}/api", timeout=120)
    page.goto(f"http://127.0.0.1:{port}/lab/tree/course/exercises?token={TOKEN}")
    notebook = page.locator(".jp-DirListing-item .jp-DirListing-itemText", has_text=re.compile(r"\.ipynb$")).first
    notebook.wait_for(timeout=120_000)
    with page.expect_response(lambda reply: "/api/nbconvert" in reply.url, timeout=120_000):
        notebook.dblclick()  # the first notebook opened makes JupyterLab ask the server for its formats
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^File$")).click()
    page.locator(".lm-Menu-itemLabel", has_text="Save and Export Notebook As").click()
    submenu = page.locator(".lm-Menu").last
    submenu.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^HTML$")).wait_for(timeout=30_000)
    entries = submenu.locator(".lm-Menu-itemLabel").all_inner_texts()
    assert "HTML" in entries and not [e for e in entries if CANNOT.search(e)], entries
