"""Launcher fixtures: labs that are always removed, stand-in GPUs, Debian's docker client."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from launcher_helpers import Labs, fake_gpu_path


@pytest.fixture(autouse=True, scope="session")
def debian_docker_client():
    """The engine tests use Debian's docker client (the one in /usr/local/bin cannot build)."""
    if os.path.exists("/usr/bin/docker"):
        os.environ["PATH"] = "/usr/bin:" + os.environ.get("PATH", "")


@pytest.fixture
def labs():
    tracked = Labs()
    yield tracked
    tracked.remove_all()


@pytest.fixture
def fake_gpu_host(tmp_path):
    """make(toolkit=False) -> env in which the host looks as if it had two NVIDIA GPUs."""
    return lambda toolkit=False: fake_gpu_path(tmp_path / "stand-in-bin", toolkit)


@pytest.fixture
def open_tmp():
    """A temporary folder other users can traverse (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="dlabtest-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def default_cpu_image(docker_client):
    """The checkout's own CPU image (tests that let `dlab up` pick the image need it, or it would build)."""
    from dlab.images import default_image

    ref = default_image("cpu")
    try:
        docker_client.images.get(ref)
    except Exception:
        pytest.fail(f"image {ref} is missing; build it with `make image FLAVOR=cpu`")
    return ref
