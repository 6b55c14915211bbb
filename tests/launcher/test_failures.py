"""The engine's refusals, as a real engine worded them (tests/launcher/engine/*.json), through the launcher.

classify() over every recorded reply; then `dlab bundle`, `load`, `registry` and the launch session
against a stand-in docker CLI that answers from those records: the failure paths, in milliseconds.
"""

import io
import json
import re
import sys
import tarfile
from pathlib import Path

import pytest

from dlab import archive, cli, engine, images, session
from dlab.plan import Options
from tests.support.hosts import load_host

RECORDED = Path(__file__).parent / "engine"
REPLIES = sorted(p.stem for p in RECORDED.glob("*.json") if json.loads(p.read_text())["returncode"] != 0)
KINDS = {"port-in-use": "port-taken", "port-allocated": "port-taken", "no-such-image-save": "no-such-image",
         "pull-not-found": "no-such-image"}
CPU = images.versioned_tag("cpu")


def recorded(name):
    return json.loads((RECORDED / f"{name}.json").read_text())


@pytest.mark.parametrize("name", REPLIES)
def test_recorded_refusals_are_classified(name):
    """Each refusal a real engine gave gets its kind, and the port or name it is about as data."""
    reply = recorded(name)
    failure = engine.classify(reply["stderr"])
    assert failure.kind == KINDS.get(name, name)
    assert failure.words and "Error response from daemon" not in failure.words
    if failure.kind == "port-taken":
        published = next(a for a in reply["command"] if a.count(":") == 2)
        assert failure.port == int(published.split(":")[1])
    if failure.kind == "name-in-use":
        assert failure.name == reply["command"][reply["command"].index("--name") + 1]


def test_exceptions_carry_their_data():
    """PortTaken.port, GpuRefused.reason: data, not a message to parse; the user's refusals exit 2, ours 1."""
    taken = engine.error(recorded("port-allocated")["stderr"], ["run"])
    assert isinstance(taken, engine.PortTaken) and taken.port > 0 and taken.exit_code == 2
    refused = engine.error(recorded("gpu-refused")["stderr"], ["run"])
    assert isinstance(refused, engine.GpuRefused) and refused.reason.startswith("could not select device driver")
    assert engine.error("something new went wrong", ["run"]).exit_code == 1


@pytest.fixture
def fake_engine(tmp_path, monkeypatch):
    """answer(pattern, **reply) scripts the stand-in docker CLI; calls() lists what the launcher asked it."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    (folder / "docker").write_text(f"#!/bin/sh\nexec {sys.executable} {RECORDED / 'fake_docker.py'} \"$@\"\n")
    (folder / "docker").chmod(0o755)
    replies, log = tmp_path / "replies.json", tmp_path / "calls.log"
    log.touch()
    script = []
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_DOCKER_REPLIES", str(replies))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))

    class Fake:
        def answer(self, pattern, **reply):
            script.append([pattern, reply])
            replies.write_text(json.dumps(script))
            return self

        def calls(self):
            return [" ".join(json.loads(line)) for line in log.read_text().splitlines()]

    return Fake()


def refused(capsys, *argv, code=2):
    """Run `dlab ARGV` in this process; the two lines it printed, once it exited with code."""
    assert cli.main(list(argv)) == code
    error, fix = capsys.readouterr().err.strip().splitlines()[-2:]
    assert error.startswith("error: ") and fix.startswith("fix: ")
    return error, fix


def lab_image(fake):
    """The stand-in engine has the CPU lab image (as a real one described it) and nothing else."""
    return (fake.answer(f"image inspect {CPU}", **recorded("image-inspect"))
            .answer("image inspect *", recorded="no-such-image"))


def test_bundle_with_the_engine_down(fake_engine, capsys, tmp_path):
    """`dlab bundle` with the daemon down: the engine's own words and how to start it; nothing written."""
    fake_engine.answer("image inspect *", recorded="daemon-down")
    error, fix = refused(capsys, "bundle", str(tmp_path))
    assert "the Docker engine is not reachable: Cannot connect to the Docker daemon" in error
    assert "systemctl start docker" in fix and not list(tmp_path.glob("*.tar*"))


def test_bundle_of_an_image_that_is_not_built(fake_engine, capsys, tmp_path):
    """`dlab bundle --flavor all` without the CUDA image: which image, how to build it, or bundle only cpu."""
    lab_image(fake_engine)
    error, fix = refused(capsys, "bundle", str(tmp_path), "--flavor", "all")
    assert error == f"error: image {images.versioned_tag('cuda')} is not built"
    assert "dlab build --flavor cuda" in fix and "bundle only --flavor cpu" in fix


def test_bundle_of_a_foreign_image_removes_its_container(fake_engine, capsys, tmp_path):
    """An image without the course (not a dlab image): refused, and the container made to read it is removed."""
    lab_image(fake_engine).answer(f"create {CPU}", stdout="c0ffee\n").answer("cp *", recorded="no-such-path")
    fake_engine.answer("rm c0ffee")
    error, _ = refused(capsys, "bundle", str(tmp_path), "--no-wheels")
    assert f"{CPU} is not a dlab lab image (it has no /opt/dlab/assets.json)" in error
    assert "rm c0ffee" in fake_engine.calls() and not list(tmp_path.glob("*.tar*"))


def test_bundle_interrupted_by_the_engine_leaves_no_partial_file(fake_engine, capsys, tmp_path):
    """The engine stops in the middle of `docker save`: exit 2 with its words, and no half-written bundle."""
    course = tmp_path / "course.tar"
    with tarfile.open(course, "w") as tar:
        for name, data in (("assets.json", b'{"missing": []}'), ("course/course.toml", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    lab_image(fake_engine).answer(f"create {CPU}", stdout="c0ffee\n").answer("cp *", stdout_file=str(course))
    fake_engine.answer("rm c0ffee").answer("save *", recorded="daemon-down")
    out = tmp_path / "stick"
    out.mkdir()
    error, _ = refused(capsys, "bundle", str(out), "--no-wheels")
    assert "the Docker engine is not reachable" in error
    assert f"save {CPU}" in fake_engine.calls() and list(out.iterdir()) == []


def docker_archive(config: str, tags: list[str]) -> bytes:
    """A gzip-compressed `docker save` archive reduced to its index: manifest.json, no layers."""
    import gzip

    index = json.dumps([{"Config": config, "RepoTags": tags, "Layers": []}]).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(index)
        tar.addfile(info, io.BytesIO(index))
    return gzip.compress(raw.getvalue())


@pytest.fixture
def small_bundle(tmp_path):
    """A bundle as `dlab bundle` writes it, its image part an index without layers (the stand-in engine never reads it)."""
    path = tmp_path / "dlab-small.tar"
    image = {"ref": CPU, "tags": [CPU], "id": "sha256:" + "ab" * 32, "flavor": "cpu", "size_bytes": 5,
             "architecture": "amd64", "file": "images/small.tar.gz"}
    with open(path, "wb") as f:
        writer = archive.Writer(f)
        writer.add_stream(image["file"], [docker_archive("ab" * 32 + ".json", [CPU])])
        writer.close({"version": images.version(), "images": [image]}, "readme")
    return path


def test_load_on_an_engine_of_another_architecture(fake_engine, capsys, small_bundle):
    """An amd64 bundle on an arm64 engine: refused before anything is loaded, with how to make one for both."""
    fake_engine.answer("version *", stdout="arm64\n")
    error, fix = refused(capsys, "load", str(small_bundle))
    assert error == "error: the bundle has no image for this Docker engine's architecture, arm64 (it has: cpu for amd64)"
    assert "dlab bundle --platform all" in fix
    assert not any(call.startswith("load") for call in fake_engine.calls())


def test_load_refused_by_the_engine_undoes_its_tags(fake_engine, capsys, small_bundle):
    """`docker load` fails (permission denied): the engine's words, the fix, and the tags it might have made go."""
    fake_engine.answer("version *", stdout="amd64\n").answer("image inspect *", recorded="no-such-image")
    fake_engine.answer("load", recorded="permission-denied").answer("image rm --no-prune *")
    error, fix = refused(capsys, "load", str(small_bundle))
    assert error.startswith("error: no permission to use the Docker engine") and "docker group" in fix
    assert f"image rm --no-prune {CPU}" in fake_engine.calls()


@pytest.mark.parametrize("reply, words, fix", [
    ("registry-unreachable", "no registry answers at 127.0.0.1:1: ", "dlab registry start"),
    ("registry-http", "the engine will not use 127.0.0.1:1 over plain HTTP", "insecure-registries"),
])
def test_push_refused_by_the_registry(fake_engine, capsys, reply, words, fix):
    """`dlab registry push` to a registry that is down or speaks plain HTTP: why, what to do; the push tag goes."""
    lab_image(fake_engine).answer("tag *").answer("push *", recorded=reply).answer("image rm --no-prune *")
    error, how = refused(capsys, "registry", "push", "--registry", "127.0.0.1:1")
    assert words in error and fix in how
    assert f"image rm --no-prune 127.0.0.1:1/{CPU}" in fake_engine.calls()


def test_pull_over_plain_http_says_how_to_trust_the_registry(fake_engine, capsys):
    """`dlab registry pull` from a registry this engine reaches only over plain HTTP: the insecure-registries fix."""
    fake_engine.answer("pull *", recorded="registry-http")
    error, fix = refused(capsys, "registry", "pull", "192.0.2.2:5000/dlab:0.1.0-cpu")
    assert "192.0.2.2:5000 over plain HTTP" in error and '"192.0.2.2:5000"' in fix


@pytest.mark.parametrize("refusal, changed", [("port-allocated", "port"), ("gpu-refused", "gpus")])
def test_session_plans_again_after_a_refusal(monkeypatch, refusal, changed):
    """A port taken meanwhile, or GPUs refused at `docker run`: the session folds it into the facts and tries again."""
    facts = load_host("two-gpus")
    monkeypatch.setattr(session, "facts_for", lambda options, serve: facts)
    tried = []

    def start(launch):
        tried.append(launch)
        if len(tried) == 1:
            raise engine.error(re.sub(r":\d+ failed", f":{launch.port} failed", recorded(refusal)["stderr"]), ["run"])
        return "started"

    launch, result = session.launch(Options(new_token="t", port=8888), start)
    assert result == "started" and len(tried) == 2
    first, second = tried
    assert (first.port, first.gpus) == (8888, "all")
    assert (second.port, second.gpus) == ((8889, "all") if changed == "port" else (8888, "none"))
