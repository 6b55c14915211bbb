"""Execution: every notebook runs inside the CPU image, smoke mode, no network, on smoke data made in the container.

The selected notebooks run once, two kernels at a time (`dlab_course.run --kind check --kind untrained
--jobs 2`); each test below reads its notebook's result.
"""

import json
from pathlib import Path

import pytest

from dlab_course import render

ROOT = Path(__file__).resolve().parents[2]
COURSE = render.load_manifest(ROOT / "lab" / "course.toml")
NUMBERS = [e["number"] for e in COURSE["notebooks"]]
SMOKE_ENV = {"KERAS_HOME": "/tmp/smoke/keras", "DLAB_DATA": "/tmp/smoke/data"}
JOBS = 2  # the CI machine's cores


@pytest.fixture(scope="module")
def lab(docker_client, cpu_image):
    """One network-less container of the CPU image, with smoke data made inside it."""
    container = docker_client.containers.run(
        cpu_image, command=["sleep", "infinity"], detach=True, network_mode="none", labels={"dlab.test": "course-execution"},
    )
    try:
        code, output = container.exec_run(["python", "-m", "dlab_course.smoke_data", "/tmp/smoke"])
        assert code == 0, output.decode(errors="replace")[-3000:]
        yield container
    finally:
        container.remove(force=True)


def selected(request):
    """The notebook numbers that this module's parametrized tests will run in this session."""
    numbers = {item.callspec.params["number"] for item in request.session.items
               if item.module is request.module and hasattr(item, "callspec")}
    return sorted(numbers, key=NUMBERS.index)


@pytest.fixture(scope="module")
def course(lab, request):
    """{(number, kind): result record} of one parallel run of the selected notebooks in the container."""
    numbers = selected(request)
    out = "/tmp/runs"
    code, output = lab.exec_run(["python", "-m", "dlab_course.run", "--smoke", "--kind", "check", "--kind", "untrained",
                                 "--jobs", str(JOBS), "--out", out, *numbers], environment=SMOKE_ENV)
    _, raw = lab.exec_run(["cat", f"{out}/results.json"])
    try:
        records = json.loads(raw)
    except ValueError:
        pytest.fail(f"the runner wrote no results (exit {code}):\n{output.decode(errors='replace')[-3000:]}")
    return {(r["number"], r["kind"]): r for r in records}


def test_image_ships_every_rendered_notebook(lab):
    """The image holds an exercise and a solution for every notebook in the manifest."""
    _, output = lab.exec_run(["ls", "/opt/dlab/course/exercises", "/opt/dlab/course/solutions"])
    listing = output.decode()
    for entry in COURSE["notebooks"]:
        assert listing.count(render.notebook_name(entry)) == 2, f"{render.notebook_name(entry)} missing from the image"


def test_network_is_really_cut(lab):
    """The container used for the runs cannot reach any network."""
    code, output = lab.exec_run(["python", "-c", "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)"])
    assert code != 0, output


@pytest.mark.parametrize("number", NUMBERS)
def test_solution_runs_in_smoke_mode(course, number):
    """The solution notebook runs top to bottom on smoke data, offline, and its own asserts pass."""
    result = course[(number, "check")]
    assert result.get("solution") == "ran to the end", result["message"]


@pytest.mark.parametrize("number", NUMBERS)
def test_every_stub_stops_with_its_message(course, number):
    """Each region left alone as a stub (all others solved) stops the notebook with that stub's own message."""
    result = course[(number, "check")]
    assert result["ok"], result["message"]
    assert "stubs stopped with their own message" in result["message"]


@pytest.mark.parametrize("number", NUMBERS)
def test_untrained_run_fails_its_final_assert(course, number):
    """With the notebook's `untrained` values (learning disabled, or a broken input) its final check fails, an AssertionError."""
    result = course[(number, "untrained")]
    assert result["ok"], result["message"]
