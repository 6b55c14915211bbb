"""Shared fixtures: the images under test and a tracked container that is always removed."""

import pytest

from dlabtest import TrackedContainer, free_port, image_ref


@pytest.fixture(scope="session")
def docker_client():
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # the image tests need an engine; say so instead of failing obscurely
        pytest.fail(f"no Docker engine answers ({exc}); start one (.ci/run does) and run again")
    return client


def _image_or_fail(client, flavor):
    ref = image_ref(flavor)
    try:
        client.images.get(ref)
    except Exception:
        pytest.fail(f"image {ref} is missing; build it with `make image FLAVOR={flavor}`")
    return ref


@pytest.fixture(scope="session")
def cpu_image(docker_client):
    return _image_or_fail(docker_client, "cpu")


@pytest.fixture(scope="session")
def cuda_image(docker_client):
    return _image_or_fail(docker_client, "cuda")


@pytest.fixture
def cpu_container(docker_client, cpu_image):
    tracked = TrackedContainer(docker_client, cpu_image)
    yield tracked
    tracked.remove_all()


@pytest.fixture
def cuda_container(docker_client, cuda_image):
    tracked = TrackedContainer(docker_client, cuda_image)
    yield tracked
    tracked.remove_all()


@pytest.fixture
def port():
    return free_port()
