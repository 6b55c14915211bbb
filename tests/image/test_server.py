"""The Jupyter server in the image: token auth, tini, health, a quick stop."""

import re
import time
import urllib.error
import urllib.request

import pytest

TOKEN = "test-token-0123456789"


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def wait_for_api(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            http_status(f"http://127.0.0.1:{port}/api")
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing answered on port {port}")


@pytest.fixture
def lab(cpu_container, port):
    container = cpu_container.start(environment={"JUPYTER_TOKEN": TOKEN}, ports={"8888/tcp": ("127.0.0.1", port)})
    wait_for_api(port)
    return container


def test_api_status_needs_the_token(lab, port):
    """/api/status answers 200 with the token and 403 without it."""
    assert http_status(f"http://127.0.0.1:{port}/api/status?token={TOKEN}") == 200
    assert http_status(f"http://127.0.0.1:{port}/api/status") == 403
    assert http_status(f"http://127.0.0.1:{port}/api/status?token=wrong") == 403


def test_generated_token_is_printed_and_works(cpu_container, port):
    """Without JUPYTER_TOKEN the server makes a token, prints it, and it opens the API."""
    container = cpu_container.start(ports={"8888/tcp": ("127.0.0.1", port)})
    wait_for_api(port)
    match = None
    for _ in range(50):
        match = re.search(r"token=([0-9a-f]{32,})", container.logs().decode())
        if match:
            break
        time.sleep(0.2)
    assert match, container.logs().decode()
    assert http_status(f"http://127.0.0.1:{port}/api/status?token={match[1]}") == 200
    assert http_status(f"http://127.0.0.1:{port}/api/status") == 403


def test_entrypoint_messages_go_to_stderr(cpu_container, tmp_path):
    """`docker run IMAGE echo hi` prints exactly `hi` on stdout; the entrypoint's own lines go to stderr."""
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o777)
    container = cpu_container.start(command=["echo", "hi"], volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}})
    assert container.wait(timeout=120)["StatusCode"] == 0
    assert container.logs(stdout=True, stderr=False) == b"hi\n"
    assert b"new course notebooks" in container.logs(stdout=False, stderr=True)


def test_tini_is_pid_1(lab):
    """tini is PID 1 and JupyterLab runs under it."""
    pid1 = lab.exec_run("cat /proc/1/cmdline").output.decode().split("\0")
    assert pid1[0].endswith("tini"), pid1
    assert "start-lab" in pid1


def test_container_turns_healthy(cpu_container, lab):
    """The HEALTHCHECK reports healthy once Jupyter answers."""
    cpu_container.wait_healthy(lab, timeout=60)


def test_docker_stop_ends_it_quickly(lab):
    """`docker stop` ends the lab well within 10 s."""
    started = time.monotonic()
    lab.stop(timeout=10)
    elapsed = time.monotonic() - started
    lab.reload()
    assert lab.status == "exited"
    assert elapsed < 10, f"stop took {elapsed:.1f} s"
    assert lab.attrs["State"]["ExitCode"] in (0, 143), lab.attrs["State"]


def test_server_log_is_clean(cpu_container, lab, port):
    """A started lab logs no unexpected WARNING or ERROR line."""
    from dlabtest import unexpected_lines

    time.sleep(1)
    assert not unexpected_lines(lab.logs().decode())
