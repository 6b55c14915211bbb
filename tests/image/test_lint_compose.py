"""Linters pass; compose.yaml is valid and `docker compose up lab` serves JupyterLab on 127.0.0.1."""

import os
import subprocess
import uuid

import pytest

from tests.support.paths import ROOT
from tests.support.wait import http_status, until

SHELL_SCRIPTS = [".ci/run", "scripts/lint", "scripts/lock", "scripts/make-base-image", "scripts/enable-emulation",
                 "scripts/test", "scripts/venv", "docker/rootfs/usr/local/bin/start-lab",
                 "docker/rootfs/usr/local/bin/start-jupyter"]


def run(*args, **kwargs):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, **kwargs)


def test_hadolint_passes():
    """hadolint finds nothing in docker/Dockerfile and hub/Dockerfile."""
    result = run("hadolint", "docker/Dockerfile", "hub/Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_passes():
    """shellcheck finds nothing in the project's shell scripts."""
    result = run("shellcheck", *SHELL_SCRIPTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_has_no_syntax_line():
    """No `# syntax=` line: it would pull a frontend image and break offline builds."""
    for dockerfile in ("docker/Dockerfile", "hub/Dockerfile"):
        assert "# syntax=" not in (ROOT / dockerfile).read_text(), dockerfile


def test_compose_config_is_valid():
    """`docker compose config` accepts compose.yaml, with and without the gpu and hub profiles."""
    for args in ([], ["--profile", "gpu"], ["--profile", "hub"]):
        result = run("docker", "compose", *args, "config", "--quiet")
        assert result.returncode == 0, result.stderr


@pytest.fixture
def compose_project(tmp_path, port, cpu_image, labs):
    """A Compose project of our own; its lab container is watched like any other, then `compose down`."""
    work = tmp_path / "work"
    work.mkdir()
    name = f"dlabtest{uuid.uuid4().hex[:8]}"
    labs.adopt(f"{name}-lab-1")
    env = {**os.environ, "DLAB_PORT": str(port), "DLAB_WORK": str(work), "JUPYTER_TOKEN": "compose-token",
           "DLAB_UID": str(os.getuid()), "DLAB_GID": str(os.getgid()),
           "DLAB_ALLOW_ROOT": "1" if os.getuid() == 0 else "0"}  # a root caller asks for its root lab
    yield name, env, work
    try:
        labs.close()  # the lab's log is checked before Compose removes it
    finally:
        run("docker", "compose", "-p", name, "down", "--volumes", env=env)


@pytest.mark.engine
def test_compose_up_lab_serves_jupyterlab(compose_project, port):
    """`docker compose up lab` serves JupyterLab on 127.0.0.1 with the token, and seeds the work folder."""
    name, env, work = compose_project
    result = run("docker", "compose", "-p", name, "up", "--detach", "--no-build", "lab", env=env)
    assert result.returncode == 0, result.stderr
    until(lambda: http_status(f"http://127.0.0.1:{port}/api/status?token=compose-token") == 200, 90, "status 200",
          explain=lambda: run("docker", "compose", "-p", name, "logs", env=env).stdout)
    published = run("docker", "compose", "-p", name, "port", "lab", "8888", env=env).stdout.strip()
    assert published == f"127.0.0.1:{port}"
    assert (work / "course").is_dir()
