"""The images: their flavors, names and tags, the version, the image's Python, architecture names."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "docker" / "requirements"
# DLAB_REPOSITORY: another name for the images (a site registry, or a side-by-side checkout).
REPOSITORY = os.environ.get("DLAB_REPOSITORY") or "dlab"
# The engine's and uname's names for an architecture, as OCI images name it.
ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Flavor:
    """What differs between the flavors of the image."""

    name: str
    gpus: bool          # can give the lab NVIDIA GPUs
    disk_gb: int        # free disk the engine needs to build or load it (with room for layers)
    tensorflow: str     # the TensorFlow distribution its amd64 lock pins (arm64: always `tensorflow`)

    def lock(self, arch: str = "amd64") -> Path:
        """docker/requirements/<flavor>-<arch>.lock."""
        return REQUIREMENTS / f"{self.name}-{architecture(arch)}.lock"

    @property
    def architectures(self) -> tuple[str, ...]:
        """The architectures it is locked for: the `# architectures:` line of its .in file."""
        found = re.search(r"^# architectures:(.*)$", (REQUIREMENTS / f"{self.name}.in").read_text(), re.M)
        return tuple(found[1].split()) if found else ()


FLAVORS = {flavor.name: flavor for flavor in (
    Flavor("cpu", gpus=False, disk_gb=12, tensorflow="tensorflow-cpu"),
    Flavor("cuda", gpus=True, disk_gb=25, tensorflow="tensorflow"),
)}


def version() -> str:
    return (ROOT / "VERSION").read_text().strip()


def python_version() -> str:
    """The image's Python (major.minor): docker/Dockerfile's PYTHON_VERSION, the one place that says it."""
    found = re.search(r"^ARG PYTHON_VERSION=(\S+)", (ROOT / "docker" / "Dockerfile").read_text(), re.M)
    if not found:
        raise UserError("docker/Dockerfile has no `ARG PYTHON_VERSION=` line", "restore it from the repository")
    return found[1]


def architecture(name: str) -> str:
    return ARCHITECTURES.get(name, name)


def check_flavor(flavor: str) -> str:
    if flavor not in FLAVORS:
        raise UserError(f"unknown flavor {flavor!r}", f"use one of: {', '.join(FLAVORS)}")
    return flavor


def versioned_tag(flavor: str, ver: str = "") -> str:
    return f"{REPOSITORY}:{ver or version()}-{check_flavor(flavor)}"


def moving_tag(flavor: str) -> str:
    return f"{REPOSITORY}:{check_flavor(flavor)}"


def default_image(flavor: str) -> str:
    """The image `dlab up` runs for a flavor: the one this checkout builds."""
    return versioned_tag(flavor)
