"""Notebook 02 in a real browser: its sliders render, and moving one changes the loss shown."""

import re
import secrets

import pytest

from tests.support.logs import UNTRUSTED

NOTEBOOK = "course/solutions/02-linear-regression.ipynb"
MSE = re.compile(r"MSE = (\d+(?:\.\d+)?)")

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def lab(cpu_container, port):
    """A CPU lab container on 127.0.0.1:port with a known token; (base URL, token)."""
    token = secrets.token_hex(16)
    container = cpu_container.start(ports={"8888/tcp": ("127.0.0.1", port)}, environment={"JUPYTER_TOKEN": token},
                                    allowed=UNTRUSTED)
    cpu_container.wait_healthy(container, timeout=120)
    return f"http://127.0.0.1:{port}", token


def run_all_cells(page):
    """Run > Run All Cells, once the status bar shows the notebook's kernel idle (not 'No Kernel')."""
    kernel_idle = re.compile(r"^(?!No Kernel).+ \| Idle$")
    page.locator(".jp-StatusBar-TextItem", has_text=kernel_idle).first.wait_for(timeout=180_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def mse_in(text):
    match = MSE.search(text)
    assert match, f"no 'MSE = ...' in {text!r}"
    return float(match.group(1))


def drag(page, handle, dx):
    """Drag a slider handle dx pixels to the right with the mouse."""
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box, "the slider handle is not on screen"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=6)
    page.mouse.up()


def test_moving_the_slope_slider_changes_the_loss(lab, page):
    """Run notebook 02 in JupyterLab: the sliders render, and dragging the slope changes the MSE shown and the plot."""
    from playwright.sync_api import expect

    base, token = lab
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Cell").first.wait_for(timeout=120_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
    run_all_cells(page)

    # The widgets answer once the kernel is free, so let every cell finish first.
    panel.locator(".jp-OutputArea-output", has_text="All checks passed").wait_for(state="attached", timeout=300_000)
    slider, readout = panel.locator(".dlab-slope"), panel.locator(".dlab-mse-readout")
    plot = panel.locator("img.dlab-line-plot")
    readout.scroll_into_view_if_needed()
    expect(readout).to_contain_text(MSE, timeout=30_000)
    expect(slider.locator(".noUi-handle")).to_be_visible(timeout=30_000)
    expect(plot).to_be_attached(timeout=30_000)
    text_before = readout.inner_text()
    slope_before = slider.locator(".widget-readout").inner_text()
    plot_before = plot.get_attribute("src")

    drag(page, slider.locator(".noUi-handle"), 60)

    slope_after = slider.locator(".widget-readout").inner_text()
    assert slope_after != slope_before, f"dragging did not move the slope from {slope_before}"
    expect(readout).not_to_have_text(text_before, timeout=30_000)
    assert mse_in(readout.inner_text()) != mse_in(text_before)
    expect(plot).not_to_have_attribute("src", plot_before, timeout=30_000)
