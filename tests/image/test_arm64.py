"""The arm64 CPU image, built from the arm64 base and run under QEMU user emulation: a smoke subset.

One lab container answers every test (TensorFlow is imported once): emulation is slow.
"""

import json
import subprocess
import sys
import time

import pytest

from dlab.images import arch_tag
from dlabtest import ROOT, free_port, unexpected_lines
from test_packages import PROMISED, TINY_FIT
from test_server import http_status

pytestmark = [pytest.mark.emulated, pytest.mark.slow]

ARM64_BASE = "dlab-base:bookworm-arm64"
TOKEN = "arm64-token-0123456789"
REFUSED = (r"403 GET /api/status", r"wrote error: 'Forbidden'")  # the request without a token, logged
# Every promised package, then the tiny fit, in one interpreter: one TensorFlow import.
INSIDE = f"""
import importlib, json, platform
imported = [importlib.import_module(name).__name__ for name in {PROMISED!r}]
{TINY_FIT}
print(json.dumps({{"machine": platform.machine(), "imported": imported, "accuracy": h.history["accuracy"][-1]}}))
"""


def present(docker_client, ref):
    try:
        return docker_client.images.get(ref)
    except Exception:
        return None


@pytest.fixture(scope="module")
def arm64_image(docker_client):
    """dlab:<version>-cpu-arm64, built by `dlab build --platform linux/arm64`: packages natively, OS steps under qemu."""
    if not present(docker_client, ARM64_BASE):
        pytest.fail(f"the arm64 base {ARM64_BASE} is missing; make it with `sudo scripts/make-base-image --arch arm64`")
    probe = subprocess.run(["docker", "run", "--rm", "--platform", "linux/arm64", "--network", "none",
                            ARM64_BASE, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"arm64 binaries do not run here ({probe.stderr.strip()}); run `sudo scripts/enable-emulation`")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "dlab"), "build", "--flavor", "cpu",
                             "--platform", "linux/arm64", "--quiet"], capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return arch_tag("cpu", "arm64")


@pytest.fixture(scope="module")
def arm64_lab(docker_client, arm64_image, tmp_path_factory):
    """A running arm64 lab (token set, a fresh work folder) and its published port."""
    work = tmp_path_factory.mktemp("arm64-work")
    work.chmod(0o777)  # the container's user (uid 1000) writes here
    port = free_port()
    container = docker_client.containers.run(
        arm64_image, detach=True, platform="linux/arm64", environment={"JUPYTER_TOKEN": TOKEN},
        ports={"8888/tcp": ("127.0.0.1", port)}, volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}},
        healthcheck={"test": ["NONE"]}, name=f"dlab-arm64-smoke-{port}",
    )
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                http_status(f"http://127.0.0.1:{port}/api")
                break
            except OSError:
                container.reload()
                assert container.status == "running" and time.monotonic() < deadline, container.logs().decode()
                time.sleep(1)
        yield {"container": container, "port": port, "work": work}
        bad = unexpected_lines(container.logs().decode(errors="replace"), allowed=REFUSED)
        assert not bad, "unexpected lines in the lab's log:\n" + "\n".join(bad)
    finally:
        container.remove(force=True)


@pytest.fixture(scope="module")
def inside(arm64_lab):
    """What one Python in the arm64 lab reports after importing everything and training."""
    result = arm64_lab["container"].exec_run(["python", "-c", INSIDE], user="1000:100", demux=True)
    out, err = (part.decode(errors="replace") if part else "" for part in result.output)
    assert result.exit_code == 0, out + err
    bad = unexpected_lines(err)
    assert not bad, "unexpected lines:\n" + "\n".join(bad)
    return json.loads(out.strip().splitlines()[-1])


def test_arm64_image_is_a_native_arm64_image(docker_client, arm64_image, inside):
    """The image says linux/arm64 and its Python is an aarch64 program."""
    attrs = docker_client.images.get(arm64_image).attrs
    assert (attrs["Os"], attrs["Architecture"]) == ("linux", "arm64")
    assert inside["machine"] == "aarch64"


def test_arm64_promised_packages_import(inside):
    """TensorFlow, Keras, h5py, OpenCV, Jupyter and the rest import on arm64."""
    assert inside["imported"] == PROMISED


def test_arm64_tiny_keras_fit_learns(inside):
    """The tiny Keras fit learns on arm64 as on amd64."""
    assert inside["accuracy"] > 0.8


def test_arm64_lab_needs_the_token(arm64_lab):
    """The arm64 JupyterLab answers with the token and refuses without it."""
    url = f"http://127.0.0.1:{arm64_lab['port']}/api/status"
    assert http_status(f"{url}?token={TOKEN}") == 200
    assert http_status(url) == 403


def test_arm64_course_is_seeded(arm64_lab):
    """The course notebooks are copied into the work folder, exercises and solutions alike."""
    shipped = arm64_lab["container"].exec_run(["ls", "/opt/dlab/course/exercises"]).output.decode().split()
    exercises = sorted(p.name for p in (arm64_lab["work"] / "course" / "exercises").glob("*.ipynb"))
    solutions = sorted(p.name for p in (arm64_lab["work"] / "course" / "solutions").glob("*.ipynb"))
    assert exercises and exercises == solutions == sorted(n for n in shipped if n.endswith(".ipynb"))
