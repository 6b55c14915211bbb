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
    architectures: tuple[str, ...]  # what it is made for: its .in file's `# architectures:` line (scripts/lock reads that)
    build_minutes: int  # a first build on 2 cores and a fast network (most of it downloads TensorFlow)

    def lock(self, arch: str = "amd64") -> Path:
        """docker/requirements/<flavor>-<arch>.lock."""
        return REQUIREMENTS / f"{self.name}-{architecture(arch)}.lock"


FLAVORS = {flavor.name: flavor for flavor in (
    Flavor("cpu", gpus=False, disk_gb=12, build_minutes=3, architectures=("amd64", "arm64")),
    # PyPI's TensorFlow for Linux aarch64 is built without CUDA: no cuda image for arm64.
    Flavor("cuda", gpus=True, disk_gb=25, build_minutes=5, architectures=("amd64",)),
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


def parse_platform(value: str) -> str:
    """`linux/amd64` or `linux/arm64` -> amd64 or arm64."""
    osname, _, arch = value.partition("/")
    if osname != "linux" or architecture(arch) not in ("amd64", "arm64"):
        raise UserError(f"unknown platform {value!r}", "use linux/amd64 or linux/arm64")
    return architecture(arch)


def check_locked(flavor: str, arch: str) -> None:
    """The flavor is made for arch: its .in file's `# architectures:` line names it."""
    made = FLAVORS[check_flavor(flavor)].architectures
    if arch not in made:
        raise UserError(f"the {flavor} image is made for {' and '.join(made)} only, not {arch} "
                        f"(docker/requirements/{flavor}.in says why)", f"use --flavor {other_flavor(flavor, arch)} on {arch}")


def other_flavor(flavor: str, arch: str) -> str:
    return next((f for f in FLAVORS if f != flavor and arch in FLAVORS[f].architectures), flavor)


def check_flavor(flavor: str) -> str:
    if flavor not in FLAVORS:
        raise UserError(f"unknown flavor {flavor!r}", f"use one of: {', '.join(FLAVORS)}")
    return flavor


def versioned_tag(flavor: str, ver: str = "") -> str:
    return f"{REPOSITORY}:{ver or version()}-{check_flavor(flavor)}"


def moving_tag(flavor: str) -> str:
    """dlab:<flavor>: the engine's own architecture's build."""
    return f"{REPOSITORY}:{check_flavor(flavor)}"


def arch_tag(flavor: str, arch: str, ver: str = "") -> str:
    """dlab:<version>-<flavor>-<arch>: every build has it; versioned_tag and moving_tag name the native one."""
    return f"{versioned_tag(flavor, ver)}-{architecture(arch)}"


def default_image(flavor: str) -> str:
    """The image `dlab up` runs for a flavor: the one this checkout builds."""
    return versioned_tag(flavor)
