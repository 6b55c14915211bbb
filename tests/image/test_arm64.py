"""The arm64 CPU image, built from the arm64 base and run under QEMU user emulation: a smoke subset.

One lab container answers every test (TensorFlow is imported once): emulation is slow.
"""

import json

import pytest

from dlab.images import arch_tag
from tests.image.test_packages import PROMISED, TINY_FIT
from tests.support.containers import TrackedContainer
from tests.support.logs import REFUSED
from tests.support.ports import reserved_port
from tests.support.runner import dlab, docker
from tests.support.wait import http_status, until

pytestmark = [pytest.mark.engine, pytest.mark.emulated, pytest.mark.slow, pytest.mark.timeout(3600)]

ARM64_BASE = "dlab-base:bookworm-arm64"
TOKEN = "arm64-token-0123456789"
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
    probe = docker("run", "--rm", "--platform", "linux/arm64", "--network", "none", ARM64_BASE, "true", check=False)
    if probe.returncode != 0:
        pytest.fail(f"arm64 binaries do not run here ({probe.stderr.strip()}); run `sudo scripts/enable-emulation`")
    # The build downloads the aarch64 wheels from PyPI: the real network, not the suite's tripwire proxy.
    result = dlab("build", "--flavor", "cpu", "--platform", "linux/arm64", "--quiet", timeout=3000, network=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return arch_tag("cpu", "arm64")


@pytest.fixture(scope="module")
def arm64_lab(docker_client, arm64_image, tmp_path_factory):
    """A running arm64 lab (token set, a fresh work folder) and its published port; its log is checked at the end."""
    work = tmp_path_factory.mktemp("arm64-work")
    work.chmod(0o777)  # the container's user (uid 1000) writes here
    # The tests ask once without the token, on purpose: the lab logs that refusal.
    with TrackedContainer(docker_client, arm64_image, allowed=REFUSED) as tracked, reserved_port() as port:
        container = tracked.start(
            platform="linux/arm64", environment={"JUPYTER_TOKEN": TOKEN}, ports={"8888/tcp": ("127.0.0.1", port)},
            volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}}, healthcheck={"test": ["NONE"]},
        )

        def answers():
            container.reload()
            assert container.status == "running", container.logs().decode(errors="replace")
            return http_status(f"http://127.0.0.1:{port}/api")
        until(answers, 600, "the arm64 lab's answer", interval=1)
        yield {"container": container, "port": port, "work": work, "tracked": tracked}


@pytest.fixture(scope="module")
def inside(arm64_lab):
    """What one Python in the arm64 lab reports after importing everything and training."""
    result = arm64_lab["tracked"].exec(arm64_lab["container"], ["python", "-c", INSIDE], timeout=1800, user="1000:100")
    return json.loads(result.output.strip().splitlines()[-1])


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
    shipped = arm64_lab["tracked"].exec(arm64_lab["container"], ["ls", "/opt/dlab/course/exercises"]).output.split()
    exercises = sorted(p.name for p in (arm64_lab["work"] / "course" / "exercises").glob("*.ipynb"))
    solutions = sorted(p.name for p in (arm64_lab["work"] / "course" / "solutions").glob("*.ipynb"))
    assert exercises and exercises == solutions == sorted(n for n in shipped if n.endswith(".ipynb"))
