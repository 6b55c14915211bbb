"""pytest hooks for the whole suite: every test marked for what it needs, the flavors under test, and a
tripwire for the proxy.

A test that uses a fixture in NEEDS must carry that marker, so `-m "not engine"` (and the others)
deselect exactly the tests that need the thing. A test of a flavor that this run does not test
(DLAB_TEST_FLAVORS, as scripts/test builds them) is deselected, and the summary says so and why.
The whole session runs with every proxy variable at a tripwire (no exemption list): a request of
ours that goes through a proxy fails the run, naming the first one.
"""

import os
import sys

import pytest

from dlab.images import FLAVORS
from tests.support.images import tested_flavors
from tests.support.proxy import Tripwire, put_behind

# fixture -> the marker a test using it (directly or through other fixtures) must carry
NEEDS = {"docker_client": "engine", "page": "browser", "small_wheels": "network"}


def flavors_of(item):
    """The flavors a test runs against: its `flavor` parameter, and every <flavor>_image it uses."""
    found = {f for f in FLAVORS if f"{f}_image" in item.fixturenames}
    callspec = getattr(item, "callspec", None)
    if callspec and "flavor" in callspec.params:
        found.add(callspec.params["flavor"])
    return found


def pytest_configure(config):
    # The tools beside this Python (hadolint, shellcheck, jupyterhub in .venv/bin), as scripts/test puts them,
    # also for `.venv/bin/python -m pytest`; and before them Debian's docker client, which builds with BuildKit as
    # it is (a newer one first on PATH refuses without buildx).
    os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    if os.path.exists("/usr/bin/docker"):
        os.environ["PATH"] = "/usr/bin:" + os.environ["PATH"]
    config.dlab_tripwire = Tripwire()
    put_behind(config.dlab_tripwire)
    try:
        config.dlab_flavors = tested_flavors()
    except ValueError as err:
        raise pytest.UsageError(f"{err}; fix: set DLAB_TEST_FLAVORS to some of them, or unset it") from None


def pytest_report_header(config):
    left_out = [f for f in FLAVORS if f not in config.dlab_flavors]
    line = f"flavors under test: {' '.join(config.dlab_flavors)}"
    return line + (f" (DLAB_TEST_FLAVORS; not tested: {' '.join(left_out)})" if left_out else "")


def pytest_collection_modifyitems(config, items):
    unmarked = [f"{item.nodeid} uses {fixture} but is not marked {marker}"
                for item in items for fixture, marker in NEEDS.items()
                if fixture in item.fixturenames and item.get_closest_marker(marker) is None]
    if unmarked:
        raise pytest.UsageError("tests without their markers:\n  " + "\n  ".join(unmarked)
                                + "\nfix: add pytestmark = pytest.mark.<marker> (or the decorator) to them")
    keep, dropped = [], []
    for item in items:
        (keep if flavors_of(item) <= set(config.dlab_flavors) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    config.dlab_flavor_deselected = len(dropped)


def pytest_sessionfinish(session):
    if session.config.dlab_tripwire.requests and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    seen = config.dlab_tripwire.requests
    if seen:
        terminalreporter.write_line(f"FAILED: {len(seen)} requests went through the proxy (the suite's tripwire), "
                                    f"the first: {seen[0]!r}; fix: send loopback requests direct, and give steps "
                                    "that need the real network tests.support.proxy.network_env()", red=True)
        for line in sorted(set(seen))[:10]:
            terminalreporter.write_line(f"  {line}")
    if getattr(config, "dlab_flavor_deselected", 0):
        left_out = " ".join(f for f in FLAVORS if f not in config.dlab_flavors)
        terminalreporter.write_line(
            f"{config.dlab_flavor_deselected} tests of the {left_out} flavor deselected: "
            f"DLAB_TEST_FLAVORS={os.environ.get('DLAB_TEST_FLAVORS', '')!r} does not name it (its image was not built for this run)")
