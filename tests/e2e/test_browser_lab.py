"""A student's first minutes, in a real browser: `dlab up`, JupyterLab, the course, a cell that runs."""

import re

import pytest

from tests.support.images import image_args
from tests.support.logs import UNTRUSTED
from tests.support.runner import LAB_URL, dlab

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.timeout(600)]


@pytest.fixture
def lab_url(tmp_path, cpu_image, labs):
    """A lab started with `dlab up --no-browser`; its printed URL. Removed afterwards, its home too (`labs`)."""
    result = dlab("up", "--no-browser", "--flavor", "cpu", *image_args(cpu_image), "--name", labs.name(allowed=UNTRUSTED),
                  "--work", str(tmp_path / "work"), timeout=600)
    match = LAB_URL.search(result.stdout)
    assert result.returncode == 0 and match, result.stdout + result.stderr
    return match.group(0)


def entry(page, name):
    """A file-browser entry by its exact name."""
    return page.locator(".jp-DirListing-item", has=page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")))


def test_student_opens_the_lab_and_runs_a_cell(lab_url, page):
    """The printed URL opens JupyterLab; the course folder is there; a course notebook opens and runs a cell."""
    page.goto(lab_url)
    entry(page, "course").wait_for(timeout=120_000)
    entry(page, "course").dblclick()
    entry(page, "exercises").dblclick()
    notebook = page.locator(".jp-DirListing-item .jp-DirListing-itemText", has_text=re.compile(r"\.ipynb$")).first
    notebook.wait_for(timeout=30_000)
    name = notebook.inner_text()
    notebook.dblclick()

    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Cell").first.wait_for(timeout=60_000)
    assert name in page.locator(".jp-mod-current .lm-TabBar-tabLabel, .lm-TabBar-tab.jp-mod-current").first.inner_text()
    # The status bar says Idle only once the notebook's kernel has started and connected.
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\(ipykernel\) \| Idle")).first.wait_for(timeout=120_000)

    panel.locator(".jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("a")            # a new cell above, in command mode
    page.keyboard.press("Enter")        # edit it
    page.keyboard.type("print(6 * 7)")
    page.keyboard.press("Shift+Enter")
    output = panel.locator(".jp-OutputArea-output", has_text=re.compile(r"^\s*42\s*$"))
    output.wait_for(timeout=120_000)
    assert output.count() == 1
    assert page.locator(".jp-Dialog").count() == 0, "a dialog interrupted the student"
