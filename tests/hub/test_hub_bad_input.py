"""Bad input to `dlab hub up`: one line saying what failed, one saying what to do, exit 2, nothing lost."""

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.hub.hub_helpers import Classroom, dlab, two_line_error
from tests.support.runner import docker

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]


@pytest.fixture
def room(hub_image, cpu_image):
    """A class whose root already holds a student's work, in a folder any user may enter."""
    folder = Path(tempfile.mkdtemp(prefix="dlabtest-hub-", dir="/tmp"))
    folder.chmod(0o755)
    room = Classroom(folder)
    work = room.student_folder("alice") / "my-notebook.ipynb"
    work.parent.mkdir(parents=True)
    work.write_text("alice's work")
    room.work = work
    yield room
    try:
        assert work.read_text() == "alice's work", "a failed start touched a student's work"
        assert not docker("ps", "-aq", "--filter", f"name=^{room.container}$").stdout.strip(), "a hub was left behind"
    finally:
        room.down()
        shutil.rmtree(folder, ignore_errors=True)


def with_class(room, **changes):
    tables = room.tables
    for section, values in changes.items():
        tables.setdefault(section, {}).update(values)
    room.write(tables)
    return room


def test_duplicate_name_in_class_list(room):
    """A student listed twice is named, with where it appears."""
    with_class(room, **{"class": {"students": ["alice", "bob", "alice"]}})
    line = two_line_error(room.dlab("up"))
    assert "'alice' is listed twice" in line


def test_invalid_name_in_class_file(room):
    """A name JupyterHub and the folders cannot take is named with its line in the class list file."""
    (room.folder / "students.csv").write_text("username,full name\nalice,Alice A\nBob Smith,Bob S\n")
    tables = room.tables
    del tables["class"]["students"]
    tables["class"]["students_file"] = "students.csv"
    room.write(tables)
    line = two_line_error(room.dlab("up"))
    assert "students.csv line 3: 'Bob Smith' is not a valid user name" in line


def test_port_taken(room):
    """A port something else listens on is named, with its role."""
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", room.port))
        busy.listen()
        line = two_line_error(room.dlab("up"))
    assert f"port {room.port} is taken" in line


def test_no_engine(room):
    """No Docker engine answering: said as such, not as a missing image."""
    room.env = {"DOCKER_HOST": "unix:///tmp/no-such-docker.sock"}
    line = two_line_error(room.dlab("up"))
    assert "Docker engine is not reachable" in line


def test_missing_lab_image(room):
    """A lab image that is not on this machine is named, and nothing is pulled."""
    with_class(room, images={"cpu": "dlab-hub:no-such-tag"})
    line = two_line_error(room.dlab("up"))
    assert "the lab image dlab-hub:no-such-tag is missing" in line


def make_pair(folder, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", f"/CN={name}", "-keyout", str(folder / f"{name}.key"),
                    "-out", str(folder / f"{name}.pem")], check=True, capture_output=True)


def test_certificate_that_does_not_match_its_key(room):
    """The teacher's certificate with someone else's key: the hub refuses to start and says which files."""
    make_pair(room.folder, "one")
    make_pair(room.folder, "two")
    with_class(room, tls={"cert": "one.pem", "key": "two.key"})
    line = two_line_error(room.dlab("up"))
    assert "does not match the key" in line and "one.pem" in line


def test_storage_root_not_writable(room):
    """A teacher who may not write the class root is told before anything starts."""
    locked = room.folder / "locked"
    locked.mkdir(mode=0o755)  # root's, and the teacher is not root
    shutil.copy(room.settings, room.folder / "class.toml.orig")
    with_class(room, storage={"root": str(locked / "class")})
    command = ["hub", "up", "--settings", str(room.settings)]
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"])
    assert result.returncode == 0, "setpriv cannot drop to another user here"
    line = two_line_error(dlab(*command, user=65534, python="/usr/bin/python3"))
    assert f"the class root {locked / 'class'} is not writable" in line


def test_labs_never_run_as_root(room):
    """[storage] uid = 0 is refused: every student would be root in their lab."""
    with_class(room, storage={"uid": 0})
    assert "would run every lab as root" in two_line_error(room.dlab("up"))


def test_settings_file_missing_or_broken(room):
    """No settings file, a TOML error or an unknown key: each named, with the fix."""
    missing = dlab("hub", "up", "--settings", str(room.folder / "nope.toml"))
    assert "no class settings at" in two_line_error(missing)
    room.settings.write_text(room.settings.read_text() + "\n[idle]\ntimeout = \n")
    assert "is not valid TOML" in two_line_error(room.dlab("up"))
    room.write({**room.tables, "idle": {"timout": 60}})
    assert "unknown key 'timout' in [idle]" in two_line_error(room.dlab("up"))
