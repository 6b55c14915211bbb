"""Bad input to `dlab bundle`, `dlab load` and `dlab registry`: two lines, exit 2, nothing of the user's touched."""

import io
import secrets
import tarfile

import pytest

from tests.support.images import fresh_tag, image_id, remove_tag
from tests.support.runner import dlab, docker

pytestmark = pytest.mark.timeout(600)


def two_lines(result, *words):
    """Exit 2 with `error: ...` and `fix: ...`, the error naming each of words."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-2].startswith("error: ") and lines[-1].startswith("fix: "), result.stderr
    for word in words:
        assert word in lines[-2], result.stderr


def test_load_missing_archive(tmp_path):
    """`dlab load` of a path that does not exist says so."""
    two_lines(dlab("load", str(tmp_path / "nowhere.tar")), "no file")


def test_load_not_an_archive(tmp_path):
    """A file that is no tar archive at all is refused as not a bundle."""
    junk = tmp_path / "notes.txt"
    junk.write_text("these are my lecture notes, not a bundle\n" * 50)
    two_lines(dlab("load", str(junk)), "not a dlab bundle")
    assert junk.read_text().startswith("these are my lecture notes")


def test_load_a_tar_that_is_no_bundle(tmp_path):
    """A tar archive without a dlab manifest is refused, naming what it lacks."""
    other = tmp_path / "photos.tar"
    with tarfile.open(other, "w") as tar:
        info = tarfile.TarInfo("photos/one.jpg")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"jpeg"))
    two_lines(dlab("load", str(other)), "MANIFEST.json")


@pytest.mark.parametrize("command", [("bundle", "out.tar"), ("load", "in.tar"), ("registry", "push")])
def test_unknown_flavor(command, tmp_path):
    """--flavor gpu (no such flavor) is a usage error for bundle, load and registry push."""
    two_lines(dlab(*command, "--flavor", "gpu"), "gpu")


@pytest.mark.engine
def test_bundle_refuses_an_image_with_missing_assets(cpu_container, tmp_path):
    """An image whose assets.json lists a missing asset is refused without --allow-missing; no file is left."""
    ref = fresh_tag("assets")
    script = ("import json; p='/opt/dlab/assets.json'; r=json.load(open(p)); "
              "r['missing']=list(r.get('missing') or [])+[{'name':'stand-in-weights'}]; json.dump(r, open(p,'w'))")
    container = cpu_container.start(command=["-c", script], entrypoint="python", user="0")
    cpu_container.finish(container)
    container.commit(*ref.split(":"))
    out = tmp_path / "bundle.tar"
    try:
        result = dlab("bundle", str(out), "--image", ref, "--no-wheels")
    finally:
        remove_tag(ref)
    two_lines(result, "stand-in-weights", "lacks course assets")
    assert "--allow-missing" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.engine
def test_bundle_never_overwrites(tmp_path, cpu_image):
    """An existing OUT file is left as it is and the bundle is refused."""
    out = tmp_path / "exam-answers.tar"
    out.write_text("precious")
    two_lines(dlab("bundle", str(out), "--image", cpu_image, "--no-wheels", "--allow-missing"), "already exists")
    assert out.read_text() == "precious"


@pytest.mark.engine
def test_bundle_of_an_image_that_is_not_there(tmp_path):
    """`--image` naming no local image is refused before anything is written."""
    two_lines(dlab("bundle", str(tmp_path / "b.tar"), "--image", "dlabtest-absent:0"), "not in the Docker engine")
    assert image_id("dlabtest-absent:0") is None and list(tmp_path.iterdir()) == []


def test_bundle_of_an_image_outside_the_lab_repository(tiny_images, tmp_path):
    """`--image` naming a tag of another repository is refused (a bundle may carry dlab:... tags only); nothing written."""
    outside = f"dlabtest-{secrets.token_hex(4)}:1"
    docker("tag", tiny_images("outside"), outside)
    try:
        two_lines(dlab("bundle", str(tmp_path / "b.tar"), "--image", outside), outside, "not a tag of the")
    finally:
        remove_tag(outside)
    assert list(tmp_path.iterdir()) == []
