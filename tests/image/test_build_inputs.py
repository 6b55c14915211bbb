"""Bad build input gets one clear line, a fix, and a non-zero exit."""

import os
import shutil
import subprocess

import pytest

from tests.support.paths import ROOT
from tests.support.runner import dlab


def test_unknown_flavor_is_refused():
    """`dlab build --flavor gpu` says which flavors exist and exits 2."""
    result = dlab("build", "--flavor", "gpu", timeout=120)
    assert result.returncode == 2
    assert "error: unknown flavor 'gpu'" in result.stderr and "fix: use one of: cpu, cuda" in result.stderr


@pytest.mark.parametrize("args, what, fix", [
    (["--platform", "linux/s390x"], "error: unknown platform 'linux/s390x'", "fix: use linux/amd64 or linux/arm64"),
    (["--flavor", "cuda", "--platform", "linux/arm64"], "error: the cuda image is made for amd64 only, not arm64",
     "fix: use --flavor cpu on arm64"),
])
def test_platform_that_cannot_be_built_is_refused(args, what, fix):
    """An unknown platform, or the cuda flavor for arm64 (PyPI's aarch64 TensorFlow has no CUDA): two lines, exit 2."""
    result = dlab("build", *args, timeout=120)
    assert result.returncode == 2
    assert what in result.stderr and fix in result.stderr


@pytest.mark.engine
def test_missing_base_image_is_refused(docker_client):
    """A base image that is not present is named, with the offline script to make it."""
    result = dlab("build", "--flavor", "cpu", "--base-image", "dlab-test-no-such-base:1", timeout=120)
    assert result.returncode == 2
    assert "error: base image 'dlab-test-no-such-base:1' is not present" in result.stderr
    assert "scripts/make-base-image" in result.stderr


def copy_tree_with_stale_lock(tmp_path):
    tree = tmp_path / "tree"
    for part in ("docker", "lab", "scripts"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("VERSION", ".dockerignore"):
        shutil.copy(ROOT / part, tree / part)
    with open(tree / "docker" / "requirements" / "cpu.in", "a") as f:
        f.write("rich\n")
    return tree


def test_stale_lock_is_refused_by_dlab(tmp_path):
    """A lock that does not match its .in files is refused before any build starts."""
    tree = copy_tree_with_stale_lock(tmp_path)
    result = dlab("build", "--flavor", "cpu", launcher=tree / "scripts" / "dlab", timeout=60)
    assert result.returncode == 2
    assert "error: docker/requirements/cpu-amd64.lock does not match common.in + cpu.in" in result.stderr
    assert "fix: run scripts/lock cpu" in result.stderr


@pytest.mark.engine
def test_stale_lock_is_refused_by_the_dockerfile(tmp_path, docker_client):
    """A plain `docker build` with a stale lock stops at the lock check with the same message."""
    tree = copy_tree_with_stale_lock(tmp_path)
    base = "debian:bookworm-slim"
    for candidate in ("debian:bookworm-slim", "dlab-base:bookworm"):
        try:
            docker_client.images.get(candidate)
            base = candidate
            break
        except Exception:
            continue
    result = subprocess.run(
        ["docker", "build", "-f", "docker/Dockerfile", "--target", "cpu", "--build-arg", f"BASE_IMAGE={base}",
         "--progress", "plain", "-t", "dlab-test-stale-lock", "."],
        cwd=tree, capture_output=True, text=True, timeout=600, env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert result.returncode != 0
    assert "error: cpu-amd64.lock does not match common.in + cpu.in" in result.stderr
