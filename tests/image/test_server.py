"""The Jupyter server in each flavor's image: token auth, tini, health, a clean stop on SIGTERM."""

import re
import time

import pytest

from tests.support.logs import REFUSED, unexpected_lines
from tests.support.wait import http_status, until, wait_for_http

pytestmark = pytest.mark.engine
TOKEN = "test-token-0123456789"


def wait_for_api(port, timeout=60):
    wait_for_http(f"http://127.0.0.1:{port}/api", timeout)


@pytest.fixture
def lab(container, port):
    """A lab of the flavor's image on the reserved port, its API answering."""
    started = container.start(environment={"JUPYTER_TOKEN": TOKEN}, ports={"8888/tcp": ("127.0.0.1", port)},
                              allowed=REFUSED)
    wait_for_api(port)
    return started


def test_api_status_needs_the_token(lab, port):
    """/api/status answers 200 with the token and 403 without it."""
    assert http_status(f"http://127.0.0.1:{port}/api/status?token={TOKEN}") == 200
    assert http_status(f"http://127.0.0.1:{port}/api/status") == 403
    assert http_status(f"http://127.0.0.1:{port}/api/status?token=wrong") == 403


def test_generated_token_is_printed_and_works(container, port):
    """Without JUPYTER_TOKEN the server makes a token, prints it, and it opens the API."""
    started = container.start(ports={"8888/tcp": ("127.0.0.1", port)}, allowed=REFUSED)
    wait_for_api(port)

    def log():
        return started.logs().decode()
    match = until(lambda: re.search(r"token=([0-9a-f]{32,})", log()), 10, "a token in the log", interval=0.2, explain=log)
    assert http_status(f"http://127.0.0.1:{port}/api/status?token={match[1]}") == 200
    assert http_status(f"http://127.0.0.1:{port}/api/status") == 403


def test_entrypoint_messages_go_to_stderr(container, tmp_path):
    """`docker run IMAGE echo hi` prints exactly `hi` on stdout; the entrypoint's own lines go to stderr."""
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o777)
    started = container.start(command=["echo", "hi"], volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}})
    container.finish(started, timeout=120)
    assert started.logs(stdout=True, stderr=False) == b"hi\n"
    assert b"new course notebooks" in started.logs(stdout=False, stderr=True)


def test_tini_is_pid_1(container, lab):
    """tini is PID 1 and JupyterLab runs under it."""
    pid1 = container.exec(lab, ["cat", "/proc/1/cmdline"]).output.split("\0")
    assert pid1[0].endswith("tini"), pid1
    assert "start-lab" in pid1


def test_container_turns_healthy(container, lab):
    """The HEALTHCHECK reports healthy once Jupyter answers."""
    container.wait_healthy(lab, timeout=60)


def test_docker_stop_ends_it_on_sigterm(lab):
    """`docker stop` ends the lab on its SIGTERM: exit 0 or 143, not the 137 of the SIGKILL after the grace period."""
    lab.stop(timeout=10)
    lab.reload()
    assert lab.status == "exited"
    assert lab.attrs["State"]["ExitCode"] in (0, 143), lab.attrs["State"]


def test_server_log_is_clean(lab):
    """A started lab logs no unexpected WARNING or ERROR line."""
    time.sleep(1)
    assert not unexpected_lines(lab.logs().decode())
