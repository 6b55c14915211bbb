"""The tracker keeps its contract: a bad exit, an unexpected log line or a hung exec fails the test; nothing is left."""

import time

import docker.errors
import pytest

from tests.support.containers import TrackedContainer
from tests.support.runner import docker as docker_cli

pytestmark = pytest.mark.engine


def test_non_zero_exit_fails(cpu_container):
    """A container that exits 3 where 0 is expected fails, showing its log."""
    with pytest.raises(AssertionError, match=r"exit 3, expected 0:\n(.*\n)*going down"):
        cpu_container.run(["sh", "-c", "echo going down; exit 3"])


def test_unexpected_warning_fails_and_an_allowed_one_passes(cpu_container):
    """A WARNING line fails a clean run unless the test names it as allowed."""
    command = ["sh", "-c", "echo 'WARNING: the disk is almost full'"]
    with pytest.raises(AssertionError, match="unexpected lines in the log:\nWARNING: the disk is almost full"):
        cpu_container.run(command)
    assert "almost full" in cpu_container.run(command, allowed=[r"the disk is almost full"])


def test_hung_exec_is_killed_at_its_timeout(cpu_container):
    """A command run inside a container is killed after its timeout and fails, instead of hanging the suite."""
    idle = cpu_container.start(command=["sleep", "infinity"])
    # Only GNU timeout's kill gives the exit codes that this failure reports; `sleep 60` left alone exits 0.
    with pytest.raises(AssertionError, match="did not end within 2 s"):
        cpu_container.exec(idle, ["sleep", "60"], timeout=2)
    assert cpu_container.exec(idle, ["echo", "still here"]).output.strip() == "still here"


def test_close_removes_all_and_checks_what_was_left_running(docker_client, cpu_image):
    """close() removes started and adopted containers, then fails on an ERROR line one of them logged."""
    tracked = TrackedContainer(docker_client, cpu_image)
    loud = tracked.start(command=["sh", "-c", "echo 'ERROR: lost the connection'; exec sleep 600"])
    name = tracked.name()
    docker_cli("create", "--name", name, cpu_image, "true")
    time.sleep(1)
    with pytest.raises(AssertionError, match="ERROR: lost the connection"):
        tracked.close()
    for gone in (loud.id, name):
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(gone)
