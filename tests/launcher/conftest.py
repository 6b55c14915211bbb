"""Launcher fixtures: the image `dlab up` picks by itself."""

import pytest


@pytest.fixture
def default_cpu_image(docker_client, cpu_image):
    """The checkout's own CPU image (tests that let `dlab up` pick the image need it, or it would build)."""
    from dlab.images import default_image

    ref = default_image("cpu")
    try:
        docker_client.images.get(ref)
    except Exception:
        pytest.fail(f"image {ref} is missing; build it with `make image FLAVOR=cpu`")
    return ref
