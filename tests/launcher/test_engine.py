"""`dlab up`, `status`, `logs`, `down` against the real engine, with the real image."""

import contextlib
import os
import socket

import pytest

from tests.support.images import image_args
from tests.support.ports import reserved_port
from tests.support.runner import LAB_URL, dlab, lab_container
from tests.support.student import STUDENT_UID, as_student, student_dir
from tests.support.wait import http_get

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]


def up(labs, work, *extra, env=None, name=None, port=None):
    """`dlab up --no-browser` on a fresh name and port (held until the lab takes it); returns (result, name, port, token)."""
    name = name or labs.name()
    with contextlib.ExitStack() as held:
        port = port or held.enter_context(reserved_port())
        result = dlab("up", "--no-browser", "--name", name, "--work", str(work), "--port", str(port), *extra, env=env)
    match = LAB_URL.search(result.stdout)
    assert result.returncode == 0 and match, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result, name, int(match.group(1)), match.group(2)


def api_status(port, token):
    return http_get(f"http://127.0.0.1:{port}/api/status?token={token}").status


def inspect(name, owner=None):
    return lab_container(name, owner)


def test_up_status_logs_down(labs, tmp_path, cpu_image):
    """up starts a healthy lab with its URL; status lists it; logs show Jupyter; down removes it, the work stays."""
    work = tmp_path / "work"
    result, name, port, token = up(labs, work, "--flavor", "cpu", *image_args(cpu_image))
    assert api_status(port, token) == 200
    assert "created the work folder" in result.stdout and work.is_dir()
    assert (work / "course" / "exercises").is_dir()
    lab = inspect(name)
    assert lab.labels["org.dlab.flavor"] == "cpu" and lab.labels["org.dlab.gpus"] == "none"
    assert lab.image == cpu_image

    status = dlab("status")
    line = next(l for l in status.stdout.splitlines() if l.startswith(name))
    assert f"http://127.0.0.1:{port}/lab?token={token}" in line and str(work) in line and " cpu " in line

    logs = dlab("logs", name)
    assert logs.returncode == 0 and "Jupyter" in logs.stdout + logs.stderr

    down = dlab("down", name)
    assert down.returncode == 0 and f"your work stays in {work}" in down.stdout
    assert inspect(name) is None
    assert (work / "course" / "exercises").is_dir()


def test_up_twice_shows_the_running_lab(labs, tmp_path, cpu_image):
    """A second `dlab up` with the same name prints the running lab's URL and starts nothing new."""
    _, name, port, token = up(labs, tmp_path / "work", *image_args(cpu_image))
    first = inspect(name).id
    again = dlab("up", "--no-browser", "--name", name, "--work", str(tmp_path / "work"))
    assert again.returncode == 0 and "already running" in again.stdout
    assert f"http://127.0.0.1:{port}/lab?token={token}" in again.stdout
    assert inspect(name).id == first


def test_two_named_labs_side_by_side(labs, tmp_path, cpu_image, port):
    """Two named labs on the same asked port: the second moves to the next free port; both answer."""
    _, first, port1, token1 = up(labs, tmp_path / "a", *image_args(cpu_image), port=port)
    result, second, port2, token2 = up(labs, tmp_path / "b", *image_args(cpu_image), port=port)
    assert port1 == port and port2 != port and f"port {port} is taken; using {port2}" in result.stdout
    assert api_status(port1, token1) == 200 and api_status(port2, token2) == 200
    listed = dlab("status").stdout
    assert first in listed and second in listed


def test_taken_port_moves_to_the_next_free_one(labs, tmp_path, cpu_image):
    """The asked port held by another program: the lab takes the next free one and says so."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result, _, port, token = up(labs, tmp_path / "work", *image_args(cpu_image), port=taken)
    assert port > taken and f"port {taken} is taken; using {port}" in result.stdout
    assert api_status(port, token) == 200


def test_work_files_belong_to_the_caller(labs, open_tmp, cpu_image, port):
    """Run by uid 1234, the lab writes the course into the work folder as uid 1234."""
    home = student_dir(open_tmp / "home")
    work = home / "work"
    name = labs.name()
    result = as_student("up", "--no-browser", "--name", name, "--work", str(work), "--port", str(port),
                        *image_args(cpu_image), home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    notebooks = list((work / "course" / "exercises").glob("*.ipynb"))
    assert notebooks
    for path in [work, work / "course", *notebooks]:
        assert os.stat(path).st_uid == STUDENT_UID, path
    assert inspect(name, str(STUDENT_UID)).labels["org.dlab.work"] == str(work)


def test_fake_gpus_without_toolkit_use_the_cpu(labs, tmp_path, default_cpu_image, fake_gpu_host):
    """GPUs on the host but no NVIDIA Container Toolkit: the CPU image, with one line saying why."""
    result, name, _, _ = up(labs, tmp_path / "work", env=fake_gpu_host())
    assert "found 2 NVIDIA GPUs but the Docker engine cannot give containers GPUs" in result.stdout
    assert inspect(name).labels["org.dlab.flavor"] == "cpu"


def test_engine_refusal_falls_back_to_cpu(labs, tmp_path, default_cpu_image, fake_gpu_host):
    """auto on a host that looks GPU-ready: the engine's real refusal turns into the CPU image and the fix."""
    result, name, port, token = up(labs, tmp_path / "work", env=fake_gpu_host(toolkit=True))
    assert "the Docker engine refused GPUs (could not select device driver" in result.stdout
    assert "nvidia-ctk runtime configure" in result.stdout
    lab = inspect(name)
    assert (lab.labels["org.dlab.flavor"], lab.labels["org.dlab.gpus"]) == ("cpu", "none")
    assert api_status(port, token) == 200


@pytest.mark.parametrize("gpus", ["all", "1"])
def test_engine_refusal_fails_explicit_gpus(labs, tmp_path, default_cpu_image, fake_gpu_host, gpus):
    """An explicit --gpus the engine refuses: exit 2 with the engine's words and the fix; nothing left running."""
    name = labs.name()
    result = dlab("up", "--no-browser", "--name", name, "--gpus", gpus, "--work", str(tmp_path / "work"),
                  env=fake_gpu_host(toolkit=True))
    assert result.returncode == 2, result.stdout + result.stderr
    error, fix = result.stderr.splitlines()[-2:]
    assert error.startswith("error: the Docker engine refused GPUs: could not select device driver")
    assert fix.startswith("fix: install the NVIDIA Container Toolkit")
    assert inspect(name) is None


def test_caller_can_pip_install_in_the_lab(labs, open_tmp, cpu_image, port):
    """Run by uid 1234, the lab's user may write the image's Python environment (pip install works)."""
    from dlab.images import python_version

    home = student_dir(open_tmp / "home")
    name = labs.name()
    result = as_student("up", "--no-browser", "--name", name, "--work", str(home / "work"), "--port", str(port),
                        *image_args(cpu_image), home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    probe = labs.exec(inspect(name, str(STUDENT_UID)).id,
                      ["bash", "-c", f"id -u && test -w /opt/venv/lib/python{python_version()}/site-packages && echo writable"],
                      timeout=60)
    assert probe.output.split() == [str(STUDENT_UID), "writable"], probe.output
