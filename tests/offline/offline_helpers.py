"""Helpers for the offline tests: the `dlab` command, docker, throwaway tags."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DLAB = [sys.executable, str(ROOT / "scripts" / "dlab")]
SMALL_PINS = ("six", "idna")  # two small pure-Python wheels of the lock, for a quick wheelhouse
REPOSITORY = os.environ.get("DLAB_REPOSITORY") or "dlab"  # the only repository a bundle may tag


def dlab(*args, launcher=None, timeout=1800, env=None):
    """Run `python3 scripts/dlab ...` (or a launcher unpacked from a bundle) as a user would; env: variables added."""
    command = [sys.executable, str(launcher)] if launcher else DLAB
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env} if env else None)


def docker(*args, check=True, timeout=900):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def image_id(ref):
    result = docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def remove_tag(ref):
    """Untag our own ref, also while a container uses its image (the image stays); a missing tag is fine."""
    docker("image", "rm", "--force", "--no-prune", ref, check=False)


def fresh_tag(prefix, version):
    """A tag of the lab's repository that no one else uses: <repository>:<prefix>-<random>-<version>-cpu."""
    return f"{REPOSITORY}:{prefix}-{secrets.token_hex(4)}-{version}-cpu"
