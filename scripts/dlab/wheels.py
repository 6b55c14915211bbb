"""The wheelhouse of a bundle: the wheels of docker/requirements/<flavor>-<arch>.lock, matched by sha256.

`pip download` fetches them for the image's platform (Linux, the image's CPython) whatever the host is;
a classroom then installs with `pip install --no-index --find-links wheels -r wheels/cpu-amd64.lock`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import images
from .errors import DlabError, UserError

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
GLIBC_MINOR = 36       # bookworm's glibc 2.36
MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}  # OCI architecture -> manylinux tag


def pins(lock):
    """[(name==version, {sha256, ...})] of a hashed lock file."""
    found, current = [], None
    for line in Path(lock).read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = (f"{match[1]}=={match[2]}", set())
            found.append(current)
        if current is not None:
            current[1].update(HASH.findall(line))
    return found


def default_cache():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlab" / "wheels"


def platform_args(arch):
    """pip's --platform list for manylinux wheels up to glibc 2.36 (pip does not expand PEP 600 tags)."""
    machine = MACHINES.get(images.architecture(arch))
    if machine is None:
        raise UserError(f"no wheels for the image architecture {arch!r}", "bundle with --no-wheels")
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 4, -1)]
    tags += [f"manylinux2014_{machine}"] + ([f"manylinux2010_{machine}", f"manylinux1_{machine}"] if machine == "x86_64" else [])
    return [arg for tag in tags for arg in ("--platform", tag)]


def pip_command():
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        if shutil.which(name):
            return [shutil.which(name)]
    raise UserError("pip is not available to download the wheelhouse",
                    "install pip (Debian/Ubuntu: apt install python3-pip), or pass --wheels-from DIR or --no-wheels")


def download(flavors, folder, arch):
    """`pip download` every pin of the flavors' locks into folder (files already there are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    python = images.python_version()
    for flavor in flavors:
        lock = images.FLAVORS[flavor].lock(arch)
        print(f"downloading the wheels of {lock.name} into {folder} (kept for the next bundle) ...", flush=True)
        command = [*pip_command(), "download", "--disable-pip-version-check", "--progress-bar", "off",
                   "--require-hashes", "--no-deps", "--only-binary=:all:", *platform_args(arch),
                   "--python-version", python, "--implementation", "cp", "--abi", "cp" + python.replace(".", ""),
                   "-r", str(lock), "-d", str(folder)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
            raise DlabError(f"pip could not download the wheels of {lock.name}: "
                            f"{errors[-1] if errors else 'exit ' + str(result.returncode)}",
                            "bundle where PyPI is reachable, or pass --wheels-from DIR (wheels you have) or --no-wheels")


def sha256_of(path):
    from .archive import sha256

    digest = sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def select(flavors, folder, arch="amd64"):
    """({file name: path} of the wheels in folder that the locks pin, [pins with no wheel there])."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"no wheel folder {folder}", "pass --wheels-from with a folder of wheels (from `pip download`)")
    by_hash: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in (".whl", ".gz", ".zip"):
            by_hash.setdefault(sha256_of(path), path)
    chosen, missing = {}, []
    for flavor in flavors:
        for pin, hashes in pins(images.FLAVORS[flavor].lock(arch)):
            found = next((by_hash[h] for h in sorted(hashes) if h in by_hash), None)
            if found is None:
                missing.append(pin)
            else:
                chosen[found.name] = found
    return chosen, sorted(set(missing))
