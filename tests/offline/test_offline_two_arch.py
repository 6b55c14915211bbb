"""One stick for Intel and Apple laptops: `dlab bundle --platform all` holds an amd64 and an arm64 image,
and `dlab load` checks every part, then loads the engine's own architecture only.

The two images are small real images of each architecture (the arm64 base made by scripts/make-base-image)
holding what `dlab bundle` reads from a lab image; the full-size figure is in `make bench` (group arm64).
"""

import json
import os
import secrets
import subprocess
import tarfile

import pytest

from dlab.images import architecture
from tests.support.images import image_id
from tests.support.paths import VERSION
from tests.support.runner import dlab, docker

pytestmark = pytest.mark.engine

BASES = {"amd64": ("debian:bookworm-slim", "dlab-base:bookworm"), "arm64": ("dlab-base:bookworm-arm64",)}


def base_for(arch):
    for ref in BASES[arch]:
        found = docker("image", "inspect", "-f", "{{.Architecture}}", ref, check=False)
        if found.returncode == 0 and found.stdout.strip() == arch:
            return ref
    pytest.fail(f"no {arch} base image; make it with `sudo scripts/make-base-image --arch {arch}`")


def lab_like(tag, arch, version, context):
    """An image of arch with a lab's labels, course and assets record (no RUN step: nothing is emulated)."""
    (context / "opt" / "dlab" / "course" / "exercises").mkdir(parents=True, exist_ok=True)
    (context / "opt" / "dlab" / "course" / "exercises" / "01-intro.ipynb").write_text('{"cells": []}\n')
    (context / "opt" / "dlab" / "assets.json").write_text('{"missing": []}\n')
    (context / "Dockerfile").write_text(f"FROM {base_for(arch)}\nCOPY opt /opt\n"
                                        f"LABEL org.dlab.flavor=cpu org.opencontainers.image.version={version}\n")
    result = subprocess.run(["docker", "build", "--platform", f"linux/{arch}", "-q", "-t", tag, str(context)],
                            capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}, timeout=600)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def two_arch(tmp_path_factory):
    """A bundle of `<repository>:<version>-cpu-amd64` and `-cpu-arm64`, and the ids of both images."""
    repository, version = f"dlabtest-twoarch-{secrets.token_hex(4)}", VERSION
    folder = tmp_path_factory.mktemp("two-arch")
    tags = {arch: f"{repository}:{version}-cpu-{arch}" for arch in ("amd64", "arm64")}
    try:
        for arch, tag in tags.items():
            lab_like(tag, arch, version, folder / arch)
        ids = {arch: image_id(tag) for arch, tag in tags.items()}
        out = folder / "stick"
        out.mkdir()
        result = dlab("bundle", str(out), "--platform", "all", "--no-wheels", env={"DLAB_REPOSITORY": repository})
        assert result.returncode == 0, result.stdout + result.stderr
        yield {"repository": repository, "tags": tags, "ids": ids, "path": next(out.iterdir()), "version": version}
    finally:
        for tag in (*tags.values(), f"{repository}:{version}-cpu", f"{repository}:cpu"):
            docker("image", "rm", "--force", tag, check=False)


def test_bundle_for_all_platforms_holds_both_architectures(two_arch):
    """`dlab bundle --platform all` writes one archive, named for both, with the amd64 and the arm64 image."""
    assert two_arch["path"].name == f"dlab-{two_arch['version']}-cpu-amd64-arm64.tar"
    with tarfile.open(two_arch["path"]) as tar:
        manifest = json.load(tar.extractfile("dlab-bundle/MANIFEST.json"))
    found = {i["architecture"]: (i["ref"], i["id"]) for i in manifest["images"]}
    assert found == {arch: (two_arch["tags"][arch], two_arch["ids"][arch]) for arch in ("amd64", "arm64")}


def test_load_of_a_two_architecture_bundle_loads_only_the_hosts_image(two_arch):
    """`dlab load` checks every part, then loads this engine's image only, also as dlab:<version>-cpu and dlab:cpu."""
    native = architecture(docker("version", "--format", "{{.Server.Arch}}").stdout.strip())
    other = "arm64" if native == "amd64" else "amd64"
    for tag in two_arch["tags"].values():
        docker("image", "rm", "--force", tag)
    result = dlab("load", str(two_arch["path"]), env={"DLAB_REPOSITORY": two_arch["repository"]})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "parts match" in result.stderr + result.stdout
    assert f"left out: the bundle's images for {other}" in result.stdout
    repository, version = two_arch["repository"], two_arch["version"]
    for tag in (two_arch["tags"][native], f"{repository}:{version}-cpu", f"{repository}:cpu"):
        assert image_id(tag) == two_arch["ids"][native], tag
    assert image_id(two_arch["tags"][other]) is None
