"""Exporting a notebook: HTML works (then the browser's Print to PDF); the menu offers no format that fails."""

import urllib.parse

import pytest

from tests.support.containers import TrackedContainer
from tests.support.jupyter import TOKEN, api, start_lab
from tests.support.logs import UNTRUSTED
from tests.support.ports import reserved_port
from tests.support.wait import DIRECT

pytestmark = pytest.mark.engine

# JupyterLab's File > Save and Export Notebook As menu lists the server's formats, less these.
NOT_IN_MENU = {"notebook", "python", "custom"}


@pytest.fixture(scope="module")
def port(docker_client, cpu_image):
    """One lab for this module's tests (they only read): its port."""
    with TrackedContainer(docker_client, cpu_image) as tracked, reserved_port() as lab_port:
        start_lab(tracked, lab_port, allowed=UNTRUSTED)
        yield lab_port


def export(port, fmt, path):
    url = f"http://127.0.0.1:{port}/nbconvert/{fmt}/{urllib.parse.quote(path)}?download=true&token={TOKEN}"
    with DIRECT.open(url, timeout=120) as reply:
        return reply.status, reply.headers.get("Content-Type", ""), reply.read()


def a_course_notebook(port):
    status, listing = api(port, "/api/contents/course/exercises")
    assert status == 200
    return sorted(item["path"] for item in listing["content"] if item["type"] == "notebook")[0]


def test_export_menu_offers_only_formats_that_work(port):
    """Every format the export menu offers converts a course notebook; PDF and LaTeX (no TeX here) are not offered."""
    status, formats = api(port, "/api/nbconvert")
    assert status == 200
    menu = set(formats) - NOT_IN_MENU
    assert {"html", "markdown", "script", "slides"} <= menu, menu
    assert not menu & {"pdf", "webpdf", "latex", "qtpdf", "qtpng", "rst", "asciidoc"}, menu
    path = a_course_notebook(port)
    for fmt in sorted(menu):
        assert export(port, fmt, path)[0] == 200, fmt


def test_html_export_is_a_whole_page(port):
    """Export as HTML gives a standalone page holding the notebook's text, ready for Print to PDF."""
    path = a_course_notebook(port)
    status, kind, body = export(port, "html", path)
    assert status == 200 and kind.startswith("text/html"), kind
    page = body.decode()
    _, notebook = api(port, f"/api/contents/{urllib.parse.quote(path)}")
    first_markdown = next(c for c in notebook["content"]["cells"] if c["cell_type"] == "markdown")
    heading = first_markdown["source"].splitlines()[0].lstrip("# ").strip()
    assert page.lstrip().lower().startswith("<!doctype html") and heading in page, heading
