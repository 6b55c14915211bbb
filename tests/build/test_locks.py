"""The locks: each flavor pinned for its architectures from the same .in files, from wheels, alike."""

import hashlib
import json
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import pytest
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from dlab.images import FLAVORS, REQUIREMENTS
from dlab.wheels import pins

MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
GLIBC = 28  # the locks' platform, manylinux_2_28 (the image's bookworm has 2.36)
INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
# The pins allowed to differ between the architectures, and why.
ONLY_ON = {
    # PyPI has no tensorflow-cpu wheel for Linux aarch64; there the plain wheel is the CPU build.
    "cpu": {"amd64": {"tensorflow-cpu"}, "arm64": {"tensorflow"}},
}
LOCKS = [(flavor, arch) for flavor in FLAVORS for arch in FLAVORS[flavor].architectures]


def lock_file(flavor, arch):
    return FLAVORS[flavor].lock(arch)


def versions(flavor, arch):
    return {canonicalize_name(pin.split("==")[0]): pin.split("==")[1] for pin, _ in pins(lock_file(flavor, arch))}


def supported_tags(machine):
    """What pip accepts for CPython 3.11 on Linux <machine> with glibc 2.28."""
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC, 4, -1)]
    platforms += [f"manylinux{legacy}_{machine}" for legacy in ("2014", "2010", "1")]
    return set(cpython_tags((3, 11), platforms=platforms)) | set(compatible_tags((3, 11), "cp311", platforms))


@lru_cache(maxsize=None)
def index_files(name):
    """{sha256: file name} of every file PyPI's simple JSON API lists for the project."""
    request = urllib.request.Request(f"{INDEX}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            listing = json.load(response)
    except OSError as exc:
        pytest.fail(f"the package index {INDEX} did not answer for {name} ({exc}); this check needs PyPI")
    return {f["hashes"].get("sha256"): f["filename"] for f in listing["files"]}


def wheels_of(pin, hashes):
    """The wheel files of the pinned version whose sha256 the lock carries."""
    name, version = pin.split("==")
    found = []
    for digest, filename in index_files(canonicalize_name(name)).items():
        if digest in hashes and filename.endswith(".whl"):
            wheel_name, wheel_version, _, tags = parse_wheel_filename(filename)
            if str(wheel_version) == version:
                found.append(tags)
    return found


def test_each_flavor_is_locked_for_its_architectures():
    """cpu is locked for amd64 and arm64, cuda for amd64 only (PyPI's aarch64 TensorFlow has no CUDA), as the
    launcher's flavor table and each .in file's `# architectures:` line (which scripts/lock reads) both say."""
    assert {f: FLAVORS[f].architectures for f in FLAVORS} == {"cpu": ("amd64", "arm64"), "cuda": ("amd64",)}
    for flavor in FLAVORS:
        lines = (REQUIREMENTS / f"{flavor}.in").read_text().splitlines()
        assert f"# architectures: {' '.join(FLAVORS[flavor].architectures)}" in lines
    locks = [p.name for arch in MACHINES for p in REQUIREMENTS.glob(f"*-{arch}.lock")]
    assert sorted(locks) == sorted(f"{f}-{a}.lock" for f, a in LOCKS)


@pytest.mark.parametrize("flavor,arch", LOCKS)
def test_lock_is_current_and_names_its_platform(flavor, arch):
    """Each lock comes from the current common.in + <flavor>.in and says which platform it pins for."""
    inputs = hashlib.sha256((REQUIREMENTS / "common.in").read_bytes() + (REQUIREMENTS / f"{flavor}.in").read_bytes())
    head = lock_file(flavor, arch).read_text().splitlines()[:2]
    assert head == [f"# inputs-sha256: {inputs.hexdigest()}", f"# python-platform: {MACHINES[arch]}-manylinux_2_{GLIBC}"]


@pytest.mark.parametrize("flavor,arch", LOCKS)
@pytest.mark.network
def test_every_pin_has_a_wheel_for_its_architecture(flavor, arch):
    """Every pin of the lock has a hashed wheel that installs on CPython 3.11, Linux <arch>."""
    supported = supported_tags(MACHINES[arch])
    locked = pins(lock_file(flavor, arch))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(index_files, {canonicalize_name(pin.split("==")[0]) for pin, _ in locked}))
    missing = [pin for pin, hashes in locked if not any(tags & supported for tags in wheels_of(pin, hashes))]
    assert not missing, f"no {arch} wheel with a locked hash for: {', '.join(missing)}"


@pytest.mark.network
def test_build_tools_install_on_either_build_machine():
    """uv, which the build runs natively, has a hashed wheel for amd64 and for arm64 build machines."""
    locked = pins(REQUIREMENTS / "build-tools.lock")
    for arch, machine in MACHINES.items():
        supported = supported_tags(machine)
        missing = [pin for pin, hashes in locked if not any(tags & supported for tags in wheels_of(pin, hashes))]
        assert not missing, f"no {arch} wheel in build-tools.lock for: {', '.join(missing)}"


@pytest.mark.parametrize("flavor", [f for f in FLAVORS if len(FLAVORS[f].architectures) > 1])
def test_architectures_pin_the_same_versions(flavor):
    """amd64 and arm64 pin the same packages at the same versions, but for the known differences."""
    amd64, arm64 = versions(flavor, "amd64"), versions(flavor, "arm64")
    only = ONLY_ON.get(flavor, {})
    assert set(amd64) - set(arm64) == only.get("amd64", set())
    assert set(arm64) - set(amd64) == only.get("arm64", set())
    assert {name: (v, arm64[name]) for name, v in amd64.items() if name in arm64 and arm64[name] != v} == {}
    tensorflow = {arch: v for arch, pinned in (("amd64", amd64), ("arm64", arm64))
                  for name, v in pinned.items() if name in ("tensorflow", "tensorflow-cpu")}
    assert tensorflow["amd64"] == tensorflow["arm64"]
