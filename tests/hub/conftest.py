"""Hub fixtures: the hub image (built when missing; a cached build takes seconds), Debian's docker client."""

import os

import pytest

from hub_helpers import build_hub_image


@pytest.fixture(autouse=True, scope="session")
def debian_docker_client():
    """The engine tests use Debian's docker client (the one in /usr/local/bin cannot build)."""
    if os.path.exists("/usr/bin/docker"):
        os.environ["PATH"] = "/usr/bin:" + os.environ.get("PATH", "")


@pytest.fixture(scope="session")
def hub_image(debian_docker_client, docker_client):
    return build_hub_image()
