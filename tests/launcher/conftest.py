"""Launcher fixtures: recorded host situations, the `dlab` command, labs that are always removed."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from dlab import engine, probe
from dlab.images import default_image

ROOT = Path(__file__).resolve().parents[2]
HOSTS = Path(__file__).parent / "hosts"
DLAB = [sys.executable, str(ROOT / "scripts" / "dlab")]
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-zA-Z_-]+)")


def load_host(name, **overrides):
    """HostFacts from a recorded host (raw docker info and nvidia-smi output go through the real parsers)."""
    record = json.loads((HOSTS / f"{name}.json").read_text())
    fields = dict(record["host"])
    fields.update(probe.parse_docker_info(record["docker_info"]))
    smi = record.get("nvidia_smi")
    if smi:
        fields.update(probe.nvidia_smi_facts(smi["path"], smi.get("returncode", 0), smi["stdout"]))
    fields["toolkit_tools"] = tuple(record.get("toolkit_tools", ()))
    fields["busy_ports"] = tuple(record.get("busy_ports", ()))
    fields["images"] = {default_image(f): {"org.dlab.flavor": f} for f in record.get("images", ())}
    fields["work"] = probe.Work(path="/home/student/work", exists=True, is_dir=True, writable=True)
    fields.update(overrides)
    return probe.HostFacts(**fields)


def dlab(*args, env=None, timeout=600, **kwargs):
    """Run the launcher as a user would: `python3 scripts/dlab ...`."""
    return subprocess.run([*DLAB, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


class Labs:
    """Names of labs a test starts; each is removed at the end, nothing else is touched."""

    def __init__(self):
        self.names = []

    def name(self):
        name = f"dlabtest-{secrets.token_hex(4)}"
        self.names.append(name)
        return name

    def remove_all(self):
        for name in self.names:
            found = engine.find_instance(name)
            if found is not None and found.name == name:
                engine.run(["rm", "-f", found.id], check=False)


@pytest.fixture
def labs():
    tracked = Labs()
    yield tracked
    tracked.remove_all()


@pytest.fixture(autouse=True, scope="session")
def debian_docker_client():
    """The engine tests use Debian's docker client (the one in /usr/local/bin cannot build)."""
    if os.path.exists("/usr/bin/docker"):
        os.environ["PATH"] = "/usr/bin:" + os.environ.get("PATH", "")
