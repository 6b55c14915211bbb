"""The bundle's image, made into what Apptainer builds from, without Docker.

Apptainer cannot be installed from Debian bookworm. skopeo reads `docker-archive:` with the same
containers/image library as `apptainer build lab.sif docker-archive:...`, and umoci unpacks the
image into a root file system, as `apptainer build --sandbox` does; chroot then runs it.
"""

import gzip
import json
import shutil
import subprocess
import tarfile

import pytest

from offline_helpers import docker

pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def docker_archive(bundled, tmp_path_factory):
    """The image part of the bundle, gunzipped as docs/offline.md says: a plain docker-archive tar."""
    if not shutil.which("skopeo"):
        pytest.skip("skopeo is not installed (apt-get install -y skopeo)")
    folder = tmp_path_factory.mktemp("apptainer")
    with tarfile.open(bundled["path"]) as tar:
        manifest = json.load(tar.extractfile("dlab-bundle/MANIFEST.json"))
        packed = tar.extractfile("dlab-bundle/" + manifest["images"][0]["file"])
        with gzip.open(packed) as plain, open(folder / "lab-image.tar", "wb") as out:
            shutil.copyfileobj(plain, out, 1 << 20)
    return folder / "lab-image.tar"


def skopeo(*args):
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_image_part_reads_as_a_docker_archive(docker_archive, bundled, cpu_image):
    """`skopeo inspect docker-archive:` sees the bundled image: platform, labels and every layer."""
    seen = json.loads(skopeo("inspect", f"docker-archive:{docker_archive}:{bundled['ref']}"))
    layers = json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", cpu_image).stdout)
    assert len(seen["Layers"]) == len(layers)
    assert seen["Labels"]["org.dlab.flavor"] == "cpu"
    assert (seen["Os"], seen["Architecture"]) == ("linux", "amd64")


def test_image_unpacks_to_a_root_that_runs_tensorflow(docker_archive, bundled, tmp_path):
    """docker-archive -> OCI -> unpacked root (Apptainer's sandbox steps); its Python imports TensorFlow under chroot."""
    if not shutil.which("umoci"):
        pytest.skip("umoci is not installed (apt-get install -y umoci)")
    skopeo("copy", "--quiet", f"docker-archive:{docker_archive}:{bundled['ref']}", f"oci:{tmp_path / 'oci'}:lab")
    subprocess.run(["umoci", "unpack", "--image", f"{tmp_path / 'oci'}:lab", str(tmp_path / "bundle")],
                   check=True, capture_output=True, timeout=900)
    root = tmp_path / "bundle" / "rootfs"
    assert (root / "opt" / "dlab" / "course" / "course.toml").is_file()
    code = "import tensorflow as tf, keras, h5py, cv2; print('ok', tf.__version__)"
    result = subprocess.run(["chroot", str(root), "/usr/bin/env", "-i", "PATH=/opt/venv/bin:/usr/bin:/bin",
                             "PYTHONPATH=/opt/dlab/python", "HOME=/tmp", "python", "-c", code],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.startswith("ok 2."), result.stdout + result.stderr
