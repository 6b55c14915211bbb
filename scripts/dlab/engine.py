"""The docker CLI, as the user set it up (contexts, Docker Desktop), and what dlab reads back."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .errors import DlabError, UserError

LABEL = "org.dlab.instance"
GPU_REFUSAL = "could not select device driver"
TOOLKIT_FIX = (
    "install the NVIDIA Container Toolkit and run `sudo nvidia-ctk runtime configure --runtime=docker"
    " && sudo systemctl restart docker` (Docker Desktop: enable GPU support in WSL2)"
)


def docker_cli():
    return shutil.which("docker")


def run(args, check=True, timeout=None, capture=True):
    """Run `docker <args>`; on failure raise the engine's own message as a DlabError."""
    cli = docker_cli()
    if cli is None:
        raise missing_cli()
    try:
        result = subprocess.run(
            [cli, *args], text=True, timeout=timeout,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
        )
    except subprocess.TimeoutExpired:
        raise DlabError(f"`docker {args[0]}` did not answer in {timeout} s", "check the engine with `dlab doctor`")
    if check and result.returncode != 0:
        raise engine_error(result.stderr or "", args)
    return result


def missing_cli():
    return UserError(
        "the docker command is not on PATH",
        "install Docker (Docker Desktop on macOS/Windows, Docker Engine on Linux) and open a new terminal",
    )


def daemon_state(message):
    """'denied' | 'down' | '' (reachable) from an engine error message."""
    if "permission denied" in message and ("docker.sock" in message or "daemon socket" in message):
        return "denied"
    if "Cannot connect to the Docker daemon" in message or "error during connect" in message:
        return "down"
    return ""


def daemon_error(state, message):
    where = first_line(message)
    if state == "denied":
        return UserError(
            f"no permission to use the Docker engine: {where}",
            "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again)",
        )
    return UserError(
        f"the Docker engine is not reachable: {where}",
        "start Docker (Docker Desktop, or `sudo systemctl start docker`), or check DOCKER_HOST and `docker context ls`",
    )


def engine_error(message, args=()):
    state = daemon_state(message)
    if state:
        return daemon_error(state, message)
    return DlabError(f"`docker {' '.join(args[:1])}` failed: {first_line(message)}", "see the message above; `dlab doctor` checks the setup")


def first_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else "no message"


@dataclass
class Instance:
    """A container started by `dlab up`, as `docker inspect` describes it."""

    name: str
    id: str = ""
    state: str = ""           # running | exited | created | ...
    health: str = ""          # healthy | starting | unhealthy | ""
    image: str = ""
    labels: Dict[str, str] = field(default_factory=dict)
    token: str = ""

    @property
    def is_dlab(self):
        return LABEL in self.labels

    @property
    def port(self):
        return int(self.labels.get("org.dlab.port", "0") or 0)

    @property
    def url(self):
        if not self.port:
            return ""
        return lab_url(self.port, self.token)


def lab_url(port, token, host="127.0.0.1"):
    query = f"?token={token}" if token else ""
    return f"http://{host}:{port}/lab{query}"


def instance_from_inspect(data):
    config = data.get("Config") or {}
    state = data.get("State") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    return Instance(
        name=data.get("Name", "").lstrip("/"),
        id=data.get("Id", "")[:12],
        state=state.get("Status", ""),
        health=(state.get("Health") or {}).get("Status", ""),
        image=config.get("Image", ""),
        labels=config.get("Labels") or {},
        token=env.get("JUPYTER_TOKEN", ""),
    )


def inspect_containers(refs) -> List[Instance]:
    """The containers among refs (names or ids) that exist; missing ones are left out."""
    if not refs:
        return []
    result = run(["container", "inspect", *refs], check=False)
    if result.returncode != 0 and daemon_state(result.stderr):
        raise engine_error(result.stderr)
    try:
        return [instance_from_inspect(item) for item in json.loads(result.stdout or "[]")]
    except ValueError:
        return []


def list_instances() -> List[Instance]:
    ids = run(["ps", "-a", "-q", "--filter", f"label={LABEL}"]).stdout.split()
    return sorted(inspect_containers(ids), key=lambda i: i.name)


def find_instance(name) -> Optional[Instance]:
    found = [i for i in inspect_containers([name]) if i.name == name]  # not an id prefix
    return found[0] if found else None
