"""Hub fixtures: the hub image (built when missing; a cached build takes seconds), Debian's docker client."""

import os
import sys

import pytest

from dlabtest import ROOT
from hub_helpers import build_hub_image

sys.path.insert(0, str(ROOT / "hub"))  # the hub's own package, dlab_hub, for its pure parts
sys.path.insert(0, str(ROOT / "tests" / "launcher"))  # the launcher tests' stand-in GPU host


@pytest.fixture(autouse=True, scope="session")
def debian_docker_client():
    """The engine tests use Debian's docker client (the one in /usr/local/bin cannot build)."""
    if os.path.exists("/usr/bin/docker"):
        os.environ["PATH"] = "/usr/bin:" + os.environ.get("PATH", "")


@pytest.fixture(scope="session")
def hub_image(debian_docker_client, docker_client):
    return build_hub_image()
