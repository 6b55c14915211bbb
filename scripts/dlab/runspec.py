"""A container to run, as data: what `dlab up`, `dlab check` and the GPU preflight start.

argv() is the one place that turns it into `docker run` arguments. Values of env travel in the
CLI's environment and only their names on the command line, so a token never shows in `ps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .defaults import CONTAINER_PORT


@dataclass(frozen=True)
class Mount:
    source: str                    # a host path (bind), or a volume's name
    target: str
    readonly: bool = False
    volume: bool = False           # a named volume, created on first use with labels
    labels: dict[str, str] = field(default_factory=dict)

    def arg(self) -> str:
        spec = f"source={self.source}"
        if "," in spec or '"' in spec:  # --mount is CSV: quote a source with commas or quotes in it
            spec = '"' + spec.replace('"', '""') + '"'
        kind = "volume" if self.volume else "bind"
        extra = "".join(f",volume-label={k}={v}" for k, v in self.labels.items()) if self.volume else ""
        return f"type={kind},{spec},target={self.target}" + (",readonly" if self.readonly else "") + extra


@dataclass(frozen=True)
class Publish:
    host_ip: str
    host_port: int
    container_port: int = CONTAINER_PORT


@dataclass(frozen=True)
class RunSpec:
    image: str
    command: Sequence[str] = ()
    name: str = ""
    detach: bool = True
    remove: bool = False
    user: str | None = None                    # uid:gid, or None where the engine maps users (Windows)
    groups: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    mounts: Sequence[Mount] = ()
    ports: Sequence[Publish] = ()
    labels: dict[str, str] = field(default_factory=dict)
    gpus: str = "none"                         # none | all | 0,2
    network: str = ""
    restart: str = ""                          # a restart policy: unless-stopped, on-failure
    entrypoint: str = ""
    security: Sequence[str] = ()               # --security-opt values, e.g. no-new-privileges
    cap_drop: Sequence[str] = ()
    cap_add: Sequence[str] = ()
    userns: str = ""                           # keep-id: Podman maps the caller's uid into the container
    resources: dict[str, str] = field(default_factory=dict)  # memory, memory-swap, cpus, pids-limit, shm-size

    def argv(self) -> list[str]:
        args = ["run"] + (["-d"] if self.detach else []) + (["--rm"] if self.remove else [])
        for flag, value in (("--name", self.name), ("--user", self.user), ("--userns", self.userns),
                            ("--network", self.network), ("--restart", self.restart), ("--entrypoint", self.entrypoint)):
            args += [flag, value] if value else []
        for flag, values in (("--group-add", self.groups), ("--label", [f"{k}={v}" for k, v in self.labels.items()]),
                             ("-e", list(self.env)),
                             ("-p", [f"{p.host_ip}:{p.host_port}:{p.container_port}" for p in self.ports]),
                             ("--mount", [m.arg() for m in self.mounts]), ("--security-opt", self.security),
                             ("--cap-drop", self.cap_drop), ("--cap-add", self.cap_add)):
            for value in values:
                args += [flag, value]
        args += [f"--{flag}={value}" for flag, value in self.resources.items()]
        args += ["--gpus", gpu_flag(self.gpus)] if self.gpus != "none" else []
        return [*args, self.image, *self.command]


def gpu_flag(gpus: str) -> str:
    # `--gpus 0,2` would be read as two options; the quotes keep the device list together.
    return gpus if gpus == "all" else f'"device={gpus}"'
