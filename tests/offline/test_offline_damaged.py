"""A damaged bundle is refused before anything is loaded."""

import json
import shutil
import tarfile

import pytest

from tests.support.images import image_id
from tests.support.runner import dlab

pytestmark = [pytest.mark.engine, pytest.mark.network, pytest.mark.slow, pytest.mark.timeout(900)]


def image_member(path):
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("dlab-bundle/MANIFEST.json"))
        return tar.getmember("dlab-bundle/" + manifest["images"][0]["file"])


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


def refused(result, bundled):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error: " in result.stderr and "nothing was loaded" in result.stderr and "fix: " in result.stderr
    assert image_id(bundled["ref"]) is None, "the image was loaded from a damaged bundle"


def test_flipped_byte_in_the_image_is_refused(bundled, tmp_path):
    """One flipped byte inside the image part: `dlab load` names the part, exits 2 and loads nothing."""
    copy = tmp_path / "flipped.tar"
    shutil.copyfile(bundled["path"], copy)
    member = image_member(copy)
    flip(copy, member.offset_data + member.size // 2)
    result = dlab("load", str(copy))
    refused(result, bundled)
    assert "does not match its sha256" in result.stderr and member.name.split("/", 1)[1] in result.stderr


def test_flipped_byte_in_the_manifest_is_refused(bundled, tmp_path):
    """A changed manifest no longer matches SHA256SUMS: refused, nothing loaded."""
    copy = tmp_path / "flipped-manifest.tar"
    shutil.copyfile(bundled["path"], copy)
    with tarfile.open(copy) as tar:
        member = tar.getmember("dlab-bundle/MANIFEST.json")
    flip(copy, member.offset_data + 40)
    result = dlab("load", str(copy))
    refused(result, bundled)
    assert "MANIFEST.json" in result.stderr


def test_truncated_bundle_is_refused(bundled, tmp_path):
    """A bundle cut short (a copy that stopped half way) is refused; nothing loaded."""
    cut = tmp_path / "truncated.tar"
    with open(bundled["path"], "rb") as src, open(cut, "wb") as dst:
        remaining = bundled["path"].stat().st_size // 2
        while remaining:
            block = src.read(min(remaining, 1 << 20))
            dst.write(block)
            remaining -= len(block)
    refused(dlab("load", str(cut)), bundled)
