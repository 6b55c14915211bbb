"""Bundles made to fool `dlab load`: each is refused before anything is loaded, and no tag of the engine moves.

Each bundle is written by dlab's own writer (so every checksum in it is right) around `docker save` of a
few-byte image, then changed where an attacker would change it.
"""

import gzip
import hashlib
import io
import json
import secrets
import tarfile

import pytest

from dlab import archive
from tests.support.images import image_id, remove_tag
from tests.support.runner import dlab, docker

pytestmark = [pytest.mark.engine, pytest.mark.timeout(300)]


def saved(*refs, edit=None):
    """`docker save` of refs, its manifest.json passed through edit(entries) first, gzip-compressed."""
    plain = io.BytesIO(docker("save", *refs, timeout=120, text=False).stdout)
    out = io.BytesIO()
    with tarfile.open(fileobj=plain) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for info in src:
            data = src.extractfile(info).read() if info.isfile() else None
            if info.name == "manifest.json" and edit:
                data = json.dumps(edit(json.loads(data))).encode()
                info.size = len(data)
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(out.getvalue())


def write_bundle(path, ref, tags, part, file="images/lab.tar.gz", before_close=None):
    """A bundle of one image part, as `dlab bundle` lays it out; before_close(f) may add bytes no part lists."""
    image = {"ref": ref, "tags": tags, "id": image_id(ref), "flavor": "cpu", "size_bytes": 1,
             "architecture": "amd64", "file": file}
    with open(path, "wb") as f:
        writer = archive.Writer(f)
        if part is not None:
            writer.add_stream("images/lab.tar.gz", [part])
        if before_close:
            before_close(f)
        writer.close({"version": "0", "images": [image]}, "readme")
    return path


def unlisted_member(name, data):
    """A function that appends a tar member that no part of the manifest records."""
    def append(f):
        info = archive.member_info(name, len(data))
        f.write(info.tobuf(tarfile.GNU_FORMAT) + data + b"\0" * (-len(data) % tarfile.BLOCKSIZE))
    return append


@pytest.fixture
def lab_tag(tiny_images):
    """A tiny image under a tag of the lab's repository, the tag then removed (as on a laptop without it): (ref, id)."""
    ref = tiny_images("lab")
    found = image_id(ref)
    yield ref, found
    remove_tag(ref)


@pytest.fixture
def victim(tiny_images):
    """A local tag a bundle must never move: (ref, the image it names)."""
    ref = tiny_images("victim")
    return ref, image_id(ref)


def refused(result, *words):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "nothing was loaded" in result.stderr and "fix: " in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def loads_nothing(path, ref, *words, expect=None):
    """`dlab load` refuses path (exit 2, naming words) and the bundle's tag stays absent."""
    remove_tag(ref)
    refused(dlab("load", str(path), *(["--expect", expect] if expect else [])), *words)
    assert image_id(ref) is None, "the image was loaded from a refused bundle"


def test_image_file_that_is_not_a_hashed_part_is_refused(lab_tag, tmp_path):
    """The manifest points its image at a file the archive holds but no checksum covers: refused, nothing loaded."""
    ref, _ = lab_tag
    path = write_bundle(tmp_path / "b.tar", ref, [ref], None, file="images/other.tar.gz",
                        before_close=unlisted_member("images/other.tar.gz", saved(ref)))
    loads_nothing(path, ref, "images/other.tar.gz")


def test_file_the_manifest_does_not_list_is_refused(lab_tag, tmp_path):
    """An extra image file beside the listed, hashed one: refused, nothing loaded."""
    ref, _ = lab_tag
    part = saved(ref)
    path = write_bundle(tmp_path / "b.tar", ref, [ref], part, before_close=unlisted_member("images/extra.tar.gz", part))
    loads_nothing(path, ref, "images/extra.tar.gz", "does not list")


def test_extra_tag_inside_the_image_archive_is_refused(lab_tag, victim, tmp_path):
    """The image archive's own manifest.json also names a local tag of the lab's repository: refused; that tag stays."""
    ref, _ = lab_tag
    other, before = victim
    part = saved(ref, edit=lambda entries: [dict(e, RepoTags=e["RepoTags"] + [other]) for e in entries])
    loads_nothing(write_bundle(tmp_path / "b.tar", ref, [ref], part), ref, f"also tag {other}")
    assert image_id(other) == before


def test_tag_outside_the_lab_repository_is_refused(lab_tag, victim, tmp_path):
    """A bundle that lists a tag of another repository (as debian:bookworm-slim) is refused; that tag stays."""
    ref, _ = lab_tag
    outside = f"dlabtest-{secrets.token_hex(4)}:bookworm-slim"  # stands for debian:bookworm-slim, which builds use
    docker("tag", victim[0], outside)
    try:
        part = saved(ref, edit=lambda entries: [dict(e, RepoTags=[ref, outside]) for e in entries])
        loads_nothing(write_bundle(tmp_path / "b.tar", ref, [ref, outside], part), ref, outside, "not a tag of the")
        assert image_id(outside) == victim[1]
    finally:
        remove_tag(outside)


def test_second_image_inside_the_image_archive_is_refused(lab_tag, victim, tmp_path):
    """An image archive holding an image beside the listed one: refused; neither is loaded or tagged."""
    ref, _ = lab_tag
    other, before = victim
    part = saved(ref, other)
    loads_nothing(write_bundle(tmp_path / "b.tar", ref, [ref], part), ref, "2 image(s)")
    assert image_id(other) == before


def test_expect_loads_the_bundle_it_names(lab_tag, tmp_path):
    """`dlab load --expect SHA256` with the whole file's digest: checked, then loaded."""
    ref, found = lab_tag
    path = write_bundle(tmp_path / "b.tar", ref, [ref], saved(ref))
    remove_tag(ref)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    result = dlab("load", "--expect", f"sha256:{digest.upper()}", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches the one you were given" in result.stdout
    assert image_id(ref) == found


def test_expect_refuses_another_bundle(lab_tag, tmp_path):
    """A well-formed bundle whose sha256 is not the one handed out: refused, nothing loaded."""
    ref, _ = lab_tag
    path = write_bundle(tmp_path / "b.tar", ref, [ref], saved(ref))
    loads_nothing(path, ref, "is not the bundle you were given", expect="0" * 64)


def test_expect_that_is_not_a_digest_is_a_usage_error(tmp_path):
    """`--expect 1234` is refused as a bad flag (exit 2), before the file is read."""
    result = dlab("load", "--expect", "1234", str(tmp_path / "none.tar"))
    assert result.returncode == 2 and "is not a sha256" in result.stderr, result.stderr
