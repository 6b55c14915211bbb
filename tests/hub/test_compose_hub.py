"""The hub as a Compose service: `docker compose --profile hub up hub` serves the class from DLAB_HUB_DIR."""

import os
import subprocess
import time

import pytest

from tests.hub.hub_helpers import Classroom, HubApi
from tests.support.paths import ROOT
from tests.support.runner import docker

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(1200)]


def compose(project, *args, env):
    return subprocess.run(["docker", "compose", "-p", project, "--profile", "hub", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_compose_hub_serves_the_class(hub_image, tmp_path):
    """With DLAB_HUB_DIR and DLAB_HUB_ROOT set, the hub service answers over HTTPS and knows the class."""
    room = Classroom(tmp_path / "class", students=("ann",))
    env = {**os.environ, "DLAB_HUB_DIR": str(room.folder), "DLAB_HUB_ROOT": str(room.root),
           "DLAB_REPOSITORY": os.environ.get("DLAB_REPOSITORY") or "dlab"}
    project = f"dlabtest{room.name}"
    try:
        result = compose(project, "up", "--detach", "--no-build", "hub", env=env)
        assert result.returncode == 0, result.stderr
        cert = room.root / "state" / "tls" / "cert.pem"
        deadline = time.monotonic() + 120
        while not cert.exists():  # made at the hub's first start
            assert time.monotonic() < deadline, compose(project, "logs", env=env).stdout[-4000:]
            time.sleep(0.3)
        hub = HubApi(f"https://127.0.0.1:{room.port}", "", verify=str(cert))
        hub.wait_up(logs=lambda: compose(project, "logs", env=env).stdout[-4000:])
        hub.token = (room.root / "state" / "admin-token").read_text().strip()
        assert {u["name"] for u in hub.api("GET", "/users")} == {"teach", "ann"}
    finally:
        compose(project, "down", env=env)
        docker("network", "rm", f"dlab-hub-{room.name}", check=False)
