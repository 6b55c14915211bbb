"""Exporting from the browser: the File menu offers HTML, and no export the image cannot do."""

import re
import time
import urllib.request

TOKEN = "export-menu-token-0123456789"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CANNOT = re.compile(r"PDF|LaTeX|ReStructured|AsciiDoc|Qt", re.I)


def wait_for_api(port, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with DIRECT.open(f"http://127.0.0.1:{port}/api", timeout=5):
                return
        except OSError:
            assert time.monotonic() < deadline, "the lab did not answer"
            time.sleep(0.3)


def test_export_menu_offers_html_and_nothing_that_fails(cpu_container, port, page):
    """File > Save and Export Notebook As lists HTML (for Print to PDF) and no PDF, LaTeX, ReST or AsciiDoc entry."""
    cpu_container.start(environment={"JUPYTER_TOKEN": TOKEN}, ports={"8888/tcp": ("127.0.0.1", port)})
    wait_for_api(port)
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
