"""A classroom registry on 127.0.0.1: push the pinned image, lose it locally, pull it back."""

import json
import secrets
import urllib.request

import pytest

from offline_helpers import dlab, docker, fresh_tag, image_id, remove_tag

pytestmark = pytest.mark.timeout(1800)


def push_fresh(registry, cpu_image, prefix, version):
    """Tag the image under a fresh name, push it with `dlab registry push`, drop the local tag; (ref, remote)."""
    ref = fresh_tag(prefix, version)
    repo, tag = ref.split(":")
    docker("tag", cpu_image, ref)
    try:
        push = dlab("registry", "push", "--image", ref, "--data", str(registry["data"]))
        assert push.returncode == 0, push.stdout + push.stderr
    finally:
        remove_tag(ref)
    return ref, push, f"{registry['address']}/{repo}:{tag}"


def test_push_remove_pull_gives_the_same_image(registry, cpu_image, version):
    """push to the registry, remove the local tag, pull it back: same image ID, digest as the registry serves it."""
    ref, push, remote = push_fresh(registry, cpu_image, "registry", version)
    repo, tag = ref.split(":")
    assert f"pushed {remote}" in push.stdout and "dlab up --image" in push.stdout
    assert image_id(remote) is None, "push left its registry tag behind"
    with urllib.request.urlopen(f"http://{registry['address']}/v2/{repo}/tags/list", timeout=10) as reply:
        assert json.load(reply)["tags"] == [tag]
    assert image_id(ref) is None
    try:
        pull = dlab("registry", "pull", remote)
        assert pull.returncode == 0, pull.stdout + pull.stderr
        assert image_id(remote) == image_id(cpu_image)
        digests = json.loads(docker("image", "inspect", "--format", "{{json .RepoDigests}}", remote).stdout)
        served = urllib.request.urlopen(urllib.request.Request(
            f"http://{registry['address']}/v2/{repo}/manifests/{tag}", method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}), timeout=10)
        assert f"{registry['address']}/{repo}@{served.headers['Docker-Content-Digest']}" in digests
        status = dlab("registry", "status", "--data", str(registry["data"]))
        assert f"{repo}: {tag}" in status.stdout
    finally:
        remove_tag(remote)


def test_registry_start_on_a_taken_port(registry):
    """A second registry on the port the first one holds is refused with exit 2; the first keeps running."""
    port = registry["address"].rsplit(":", 1)[1]
    other = registry["data"].parent / "other"
    result = dlab("registry", "start", "--port", port, "--data", str(other))
    assert result.returncode == 2 and "taken" in result.stderr, result.stdout + result.stderr
    with urllib.request.urlopen(f"http://{registry['address']}/v2/", timeout=5) as reply:
        assert reply.status == 200


def test_registry_stop_when_none_runs(tmp_path):
    """`dlab registry stop` with no registry of ours running says so (exit 2) and kills nothing."""
    result = dlab("registry", "stop", "--data", str(tmp_path / "none"))
    assert result.returncode == 2 and "no registry started by dlab" in result.stderr


def test_up_pulls_a_missing_image_from_the_registry(registry, cpu_image, version, tmp_path):
    """`dlab up --image HOST:PORT/...` pulls the image from the classroom registry when the laptop lacks it."""
    ref, _, remote = push_fresh(registry, cpu_image, "registry-up", version)
    assert image_id(remote) is None
    name = f"dlabtest-{secrets.token_hex(4)}"
    try:
        up = dlab("up", "--no-browser", "--image", remote, "--name", name, "--work", str(tmp_path / "work"))
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"pulling it from {registry['address']}" in up.stdout
        assert image_id(remote) == image_id(cpu_image)
    finally:
        dlab("down", "--purge", name)
        remove_tag(remote)
