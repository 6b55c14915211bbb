"""Fixtures for every room: the engine, the images under test, tracked containers, ports, a browser."""

import shutil
import tempfile
from pathlib import Path

import pytest

from dlab.images import FLAVORS
from tests.support.browser import new_page
from tests.support.containers import TrackedContainer
from tests.support.gpus import stand_in_gpu_path
from tests.support.images import image_ref
from tests.support.ports import reserved_port
from tests.support.proxy import Tripwire

pytest_plugins = ["tests.support.plugin", "pytester"]


@pytest.fixture(scope="session")
def docker_client():
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # the image tests need an engine; say so instead of failing obscurely
        pytest.fail(f"no Docker engine answers ({exc}); start one (.ci/run does) and run again")
    return client


def image_or_fail(client, flavor):
    ref = image_ref(flavor)
    try:
        client.images.get(ref)
    except Exception:
        pytest.fail(f"image {ref} is missing; build it with `make image FLAVOR={flavor}`")
    return ref


@pytest.fixture(scope="session")
def cpu_image(docker_client):
    return image_or_fail(docker_client, "cpu")


@pytest.fixture(scope="session")
def cuda_image(docker_client):
    return image_or_fail(docker_client, "cuda")


@pytest.fixture(params=list(FLAVORS))
def flavor(request):
    """Each flavor in turn, for the tests that check the lab itself (as docker-stacks runs a parent's tests on its children)."""
    return request.param


@pytest.fixture
def image(request, flavor):
    return request.getfixturevalue(f"{flavor}_image")


@pytest.fixture
def container(docker_client, image):
    """A tracker for the flavor's image: what it started is checked and removed at the end."""
    with TrackedContainer(docker_client, image) as tracked:
        yield tracked


@pytest.fixture
def cpu_container(docker_client, cpu_image):
    with TrackedContainer(docker_client, cpu_image) as tracked:
        yield tracked


@pytest.fixture
def cuda_container(docker_client, cuda_image):
    with TrackedContainer(docker_client, cuda_image) as tracked:
        yield tracked


@pytest.fixture
def labs(docker_client):
    """Names for the labs a test has `dlab up` start; each is checked and removed at the end, nothing else."""
    with TrackedContainer(docker_client) as tracked:
        yield tracked


@pytest.fixture
def port():
    """A free port on 127.0.0.1, held for the test; a container publishing it takes it over."""
    with reserved_port() as number:
        yield number


@pytest.fixture
def tripwire():
    """A listener posing as the proxy, for a test to point one command's proxy variables at (tripwire.env)."""
    wire = Tripwire()
    yield wire
    wire.close()


@pytest.fixture
def open_tmp():
    """A temporary folder other users can traverse (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="dlabtest-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def work(tmp_path):
    """An empty work folder to mount at /home/jovyan/work; the container's user (uid 1000) writes here."""
    folder = tmp_path / "work"
    folder.mkdir()
    folder.chmod(0o777)
    return folder


@pytest.fixture
def fake_gpu_host(tmp_path):
    """make(toolkit=False) -> env in which the host looks as if it had two NVIDIA GPUs."""
    return lambda toolkit=False: stand_in_gpu_path(tmp_path / "stand-in-bin", toolkit)


@pytest.fixture
def page(tmp_path):
    """A fresh headless page; a screenshot of its last state lands in the test's tmp_path."""
    pytest.importorskip("playwright.sync_api")
    with new_page(screenshot=tmp_path / "last.png") as fresh:
        yield fresh
