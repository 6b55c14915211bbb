"""The bundle's image as Apptainer builds and runs it, without Docker; the Slurm job of docs/offline.md, run.

Apptainer cannot be installed from Debian bookworm. skopeo reads `docker-archive:` with the same
containers/image library as `apptainer build lab.sif docker-archive:...`, and umoci unpacks the
image into a root file system, as `apptainer build --sandbox` does; chroot then runs it, and
apptainer_standin.py runs it as Apptainer does for an unprivileged user.
"""

import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from tests.offline.test_offline_docs import slurm_template
from tests.support.runner import docker

pytestmark = [pytest.mark.engine, pytest.mark.network, pytest.mark.slow, pytest.mark.timeout(1200)]
STANDIN = Path(__file__).with_name("apptainer_standin.py")
STUDENT = 4242  # a uid no one on this machine has: the student who submits the job


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


@pytest.fixture(scope="module")
def sandbox(docker_archive, bundled):
    """docker-archive -> OCI -> unpacked root (Apptainer's sandbox steps), with the image's Env, Entrypoint and Cmd
    beside it; in a folder every user may enter (the student runs it), removed at the end."""
    if not shutil.which("umoci"):
        pytest.skip("umoci is not installed (apt-get install -y umoci)")
    folder = Path(tempfile.mkdtemp(prefix="dlabtest-apptainer-", dir="/tmp"))
    try:
        source = f"docker-archive:{docker_archive}:{bundled['ref']}"
        skopeo("copy", "--quiet", source, f"oci:{folder / 'oci'}:lab")
        subprocess.run(["umoci", "unpack", "--image", f"{folder / 'oci'}:lab", str(folder / "bundle")],
                       check=True, capture_output=True, timeout=900)
        shutil.rmtree(folder / "oci")
        config = json.loads(skopeo("inspect", "--config", source))["config"]
        (folder / "bundle" / "image-config.json").write_text(json.dumps({key: config.get(key) or [] for key in
                                                                         ("Env", "Entrypoint", "Cmd")}))
        for path in (folder, folder / "bundle"):
            path.chmod(0o755)
        yield folder / "bundle" / "rootfs"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_image_part_reads_as_a_docker_archive(docker_archive, bundled, cpu_image):
    """`skopeo inspect docker-archive:` sees the bundled image: platform, labels and every layer."""
    seen = json.loads(skopeo("inspect", f"docker-archive:{docker_archive}:{bundled['ref']}"))
    layers = json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", cpu_image).stdout)
    assert len(seen["Layers"]) == len(layers)
    assert seen["Labels"]["org.dlab.flavor"] == "cpu"
    assert (seen["Os"], seen["Architecture"]) == ("linux", "amd64")


def test_image_unpacks_to_a_root_that_runs_tensorflow(sandbox):
    """The unpacked root holds the course, and its Python imports TensorFlow, Keras, h5py and OpenCV under chroot."""
    assert (sandbox / "opt" / "dlab" / "course" / "course.toml").is_file()
    code = "import tensorflow as tf, keras, h5py, cv2; print('ok', tf.__version__)"
    result = subprocess.run(["chroot", str(sandbox), "/usr/bin/env", "-i", "PATH=/opt/venv/bin:/usr/bin:/bin",
                             "PYTHONPATH=/opt/dlab/python", "HOME=/tmp", "python", "-c", code],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.startswith("ok 2."), result.stdout + result.stderr


def test_image_root_folder_is_open_to_every_user(sandbox):
    """The image's "/" is 0755 where no engine makes one (umoci, Apptainer): a user who is not root can enter it."""
    mode = sandbox.stat().st_mode & 0o777
    assert mode == 0o755, (f"the image's root folder is {mode:o}: rebuild the base with `FORCE=1 scripts/make-base-image`,"
                           " then the image")


def listening_ports(uid):
    """TCP ports in LISTEN state that sockets of uid hold in this network namespace (/proc/net/tcp, tcp6)."""
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[7]) == uid:
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def over_socket(path, token=None):
    """GET /api/status through the lab's Unix socket, as the SSH tunnel forwards it; the status."""
    connection = http.client.HTTPConnection("127.0.0.1", 8888, timeout=10)
    connection.sock = socket.socket(socket.AF_UNIX)
    connection.sock.settimeout(10)
    connection.sock.connect(str(path))
    try:
        connection.request("GET", "/api/status", headers={"Authorization": f"token {token}"} if token else {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_slurm_job_keeps_the_token_and_the_lab_to_the_student(sandbox, tmp_path):
    """The batch job of docs/offline.md, run by an unprivileged user with the Apptainer stand-in: token file 0600,
    socket 0600 in a 0700 folder, no TCP port, 403 without the token and 200 with it, no token in the job log."""
    home = Path(tempfile.mkdtemp(prefix="dlabtest-student-", dir="/tmp"))
    job = str(int(time.time()) % 100000)
    run_dir = Path(f"/tmp/dlab-student-{job}")
    try:
        bin_dir = home / "bin"
        (home / "dlab").mkdir(parents=True)
        bin_dir.mkdir()
        shutil.copy(STANDIN, bin_dir / "apptainer")
        (bin_dir / "apptainer").chmod(0o755)
        (home / "dlab" / "dlab-0.1.0-cuda.sif").symlink_to(sandbox)
        (home / "dlab.sbatch").write_text(slurm_template())
        subprocess.run(["chown", "-R", f"{STUDENT}:{STUDENT}", str(home)], check=True)
        home.chmod(0o700)
        env = {"HOME": str(home), "USER": "student", "PATH": f"{bin_dir}:/usr/bin:/bin", "SLURM_JOB_ID": job,
               "LANG": "C.UTF-8"}
        log = tmp_path / f"dlab-{job}.log"
        with open(log, "wb") as out:
            batch = subprocess.Popen(["setpriv", f"--reuid={STUDENT}", f"--regid={STUDENT}", "--clear-groups",
                                      "bash", str(home / "dlab.sbatch")], cwd=home, env=env, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            lab_socket = run_dir / "lab.sock"
            deadline = time.monotonic() + 240
            while not (lab_socket.exists() and over_socket(lab_socket) == 403):
                assert batch.poll() is None, log.read_text(errors="replace")[-3000:]
                assert time.monotonic() < deadline, "the lab's socket never answered:\n" + log.read_text()[-3000:]
                time.sleep(1)
            token_file = home / "dlab" / "token"
            token = token_file.read_text().strip()
            assert len(token) >= 32
            assert (token_file.stat().st_mode & 0o777, token_file.stat().st_uid) == (0o600, STUDENT)
            assert (lab_socket.stat().st_mode & 0o777, lab_socket.stat().st_uid) == (0o600, STUDENT)
            assert run_dir.stat().st_mode & 0o777 == 0o700
            assert over_socket(lab_socket, token) == 200
            assert listening_ports(STUDENT) == [], "the lab listens on a TCP port of the shared node"
            text = log.read_text(errors="replace")
            assert token not in text, "the token is in the job's log"
            assert f"ssh -N -L 8888:{lab_socket} -J student@" in text and "Jupyter Server" in text
            assert (home / "dlab" / "home" / "work" / "course").is_dir()  # start-lab seeded the course into the bound home
        finally:
            if batch.poll() is None:
                os.killpg(batch.pid, signal.SIGTERM)
            batch.wait(timeout=60)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
