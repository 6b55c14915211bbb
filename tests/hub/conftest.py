"""Hub fixtures: the hub image (built when missing; a cached build takes seconds)."""

import pytest

from tests.hub.hub_helpers import build_hub_image


@pytest.fixture(scope="session")
def hub_image(docker_client):
    return build_hub_image()
