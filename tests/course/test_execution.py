"""Execution: every notebook runs inside the CPU image, smoke mode, no network, on smoke data made in the container.

The selected notebooks run once, two kernels at a time (`dlab_course.run --kind check --kind untrained
--jobs 2`); each test below reads its notebook's result.
"""

import json

import pytest

from dlab_course import render
from tests.support.containers import TrackedContainer
from tests.support.logs import assert_clean
from tests.support.paths import ROOT

# The first test's setup runs every selected notebook: the module's timeout covers the whole course.
pytestmark = [pytest.mark.engine, pytest.mark.timeout(3600)]
COURSE = render.load_manifest(ROOT / "lab" / "course.toml")
NUMBERS = [e["number"] for e in COURSE["notebooks"]]
SMOKE_ENV = {"KERAS_HOME": "/tmp/smoke/keras", "DLAB_DATA": "/tmp/smoke/data"}
JOBS = 2  # the CI machine's cores


@pytest.fixture(scope="module")
def lab(docker_client, cpu_image):
    """One network-less container of the CPU image for the module; `lab.exec(command)` runs in it."""
    with TrackedContainer(docker_client, cpu_image) as tracked:
        yield Lab(tracked, tracked.start(command=["sleep", "infinity"], network_mode="none"))


class Lab:
    """The module's container; exec runs a command in it through the tracker (exit code, log lines, a timeout)."""

    def __init__(self, tracked, container):
        self.tracked, self.container = tracked, container

    def exec(self, command, **kwargs):
        return self.tracked.exec(self.container, command, **kwargs)


@pytest.fixture(scope="module")
def smoke_lab(lab):
    """The module's container with smoke data made inside it (once: it takes a minute)."""
    lab.exec(["python", "-m", "dlab_course.smoke_data", "/tmp/smoke"], timeout=600)
    return lab


def selected(request):
    """The notebook numbers that this module's parametrized tests will run in this session."""
    numbers = {item.callspec.params["number"] for item in request.session.items
               if item.module is request.module and hasattr(item, "callspec")}
    return sorted(numbers, key=NUMBERS.index)


@pytest.fixture(scope="module")
def course_run(smoke_lab, request):
    """(output, {(number, kind): result record}) of one parallel run of the selected notebooks in the container."""
    numbers = selected(request)
    out = "/tmp/runs"
    code, output = smoke_lab.exec(["python", "-m", "dlab_course.run", "--smoke", "--kind", "check", "--kind", "untrained",
                                   "--jobs", str(JOBS), "--out", out, *numbers], environment=SMOKE_ENV, timeout=3000,
                                  expect_exit=None)
    raw = smoke_lab.exec(["cat", f"{out}/results.json"], expect_exit=None).output
    try:
        records = json.loads(raw)
    except ValueError:
        pytest.fail(f"the runner wrote no results (exit {code}):\n{output[-3000:]}")
    return output, {(r["number"], r["kind"]): r for r in records}


@pytest.fixture(scope="module")
def course(course_run):
    """{(number, kind): result record} of the module's run of the course."""
    return course_run[1]


def test_image_ships_every_rendered_notebook(lab):
    """The image holds an exercise and a solution for every notebook in the manifest."""
    listing = lab.exec(["ls", "/opt/dlab/course/exercises", "/opt/dlab/course/solutions"]).output
    for entry in COURSE["notebooks"]:
        assert listing.count(render.notebook_name(entry)) == 2, f"{render.notebook_name(entry)} missing from the image"


def test_network_is_really_cut(lab):
    """The container used for the runs cannot reach any network."""
    code, output = lab.exec(["python", "-c", "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)"],
                            expect_exit=None)
    assert code != 0, output


@pytest.mark.slow
@pytest.mark.parametrize("number", NUMBERS)
def test_solution_runs_in_smoke_mode(course, number):
    """The solution notebook runs top to bottom on smoke data, offline, and its own asserts pass."""
    result = course[(number, "check")]
    assert result.get("solution") == "ran to the end", result["message"]


@pytest.mark.slow
@pytest.mark.parametrize("number", NUMBERS)
def test_every_stub_stops_with_its_message(course, number):
    """Each region left alone as a stub (all others solved) stops the notebook with that stub's own message."""
    result = course[(number, "check")]
    assert result["ok"], result["message"]
    assert "stubs stopped with their own message" in result["message"]


@pytest.mark.slow
@pytest.mark.parametrize("number", NUMBERS)
def test_untrained_run_fails_its_final_assert(course, number):
    """With the notebook's `untrained` values (learning disabled, or a broken input) its final check fails, an AssertionError."""
    result = course[(number, "untrained")]
    assert result["ok"], result["message"]


@pytest.mark.slow
def test_course_run_logs_nothing_unexpected(course_run):
    """The run of the course logs no WARNING or ERROR line beyond the known noise."""
    assert_clean(course_run[0], what="the course run")
