"""Execution: every notebook runs inside the CPU image, smoke mode, no network, on smoke data made in the container."""

import json
from pathlib import Path

import pytest

from dlab_course import render

ROOT = Path(__file__).resolve().parents[2]
COURSE = render.load_manifest(ROOT / "lab" / "course.toml")
NUMBERS = [e["number"] for e in COURSE["notebooks"]]
SMOKE_ENV = {"KERAS_HOME": "/tmp/smoke/keras", "DLAB_DATA": "/tmp/smoke/data"}


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


def run_notebook(container, number, kind):
    """Run one notebook with the image's runner; returns (exit code, output, its result record)."""
    out = f"/tmp/runs/{kind}/{number}"
    code, output = container.exec_run(
        ["python", "-m", "dlab_course.run", "--smoke", "--kind", kind, "--out", out, number], environment=SMOKE_ENV,
    )
    text = output.decode(errors="replace")
    _, raw = container.exec_run(["cat", f"{out}/results.json"])
    try:
        results = json.loads(raw)
    except ValueError:
        results = []
    return code, text, (results[0] if results else {})


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
def test_solution_runs_in_smoke_mode(lab, number):
    """The solution notebook runs top to bottom on smoke data, offline, and its own asserts pass."""
    code, text, result = run_notebook(lab, number, "solutions")
    assert code == 0 and result.get("ok"), f"{result.get('message', '')}\n{text[-3000:]}"


@pytest.mark.parametrize("number", NUMBERS)
def test_exercise_stops_at_its_stub(lab, number):
    """The exercise notebook runs until a stub and stops there with the stub's message, not with a crash."""
    code, text, result = run_notebook(lab, number, "exercises")
    assert code == 0 and result.get("ok"), f"{result.get('message', '')}\n{text[-3000:]}"
    assert result["message"].startswith("stopped at a stub: NotImplementedError: Exercise: ")
