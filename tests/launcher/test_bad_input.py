"""Bad input: a clear two-line message, a non-zero exit, and nothing of the user's touched."""

import os

import pytest

from launcher_helpers import as_student, dlab, student_dir


def assert_refused(result, words, code=2):
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    error, fix = result.stderr.strip().splitlines()[-2:]
    assert error.startswith("error: ") and words in error, result.stderr
    assert fix.startswith("fix: ") and len(fix) > len("fix: ")


def test_work_folder_that_is_a_file(tmp_path):
    """--work naming a file: refused, and the file is left as it was."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert_refused(dlab("up", "--no-browser", "--work", str(notes)), "is a file")
    assert notes.read_text() == "my notes"


def test_work_folder_not_writable(open_tmp):
    """A work folder the caller cannot write: refused before any container starts, its files untouched."""
    home = student_dir(open_tmp / "home")
    work = open_tmp / "root-owned"
    work.mkdir(mode=0o755)
    (work / "keep.ipynb").write_text("{}")
    assert_refused(as_student("up", "--no-browser", "--work", str(work), home=home), "not writable")
    assert (work / "keep.ipynb").read_text() == "{}" and sorted(os.listdir(work)) == ["keep.ipynb"]


def test_work_folder_under_a_missing_parent(tmp_path):
    """A work folder under a parent that does not exist: refused, nothing created."""
    work = tmp_path / "typo" / "work"
    assert_refused(dlab("up", "--no-browser", "--work", str(work)), "parent folder")
    assert not (tmp_path / "typo").exists()


def test_docker_not_on_path(tmp_path):
    """No docker command: say so and how to install Docker."""
    result = dlab("up", "--no-browser", "--work", str(tmp_path / "work"), env={"PATH": str(tmp_path)})
    assert_refused(result, "docker command is not on PATH")
    assert not (tmp_path / "work").exists()


def test_daemon_not_running(tmp_path):
    """DOCKER_HOST at a dead socket: the engine is not reachable, and how to start it."""
    result = dlab("up", "--no-browser", "--work", str(tmp_path / "work"),
                  env={"DOCKER_HOST": f"unix://{tmp_path}/dead.sock"})
    assert_refused(result, "Docker engine is not reachable")
    assert "systemctl start docker" in result.stderr


def test_image_that_does_not_exist(tmp_path):
    """--image naming an image the engine lacks: refused, nothing built or started."""
    result = dlab("up", "--no-browser", "--image", "dlab:does-not-exist", "--work", str(tmp_path / "work"))
    assert_refused(result, "image dlab:does-not-exist is not in the Docker engine")


@pytest.mark.parametrize("command", ["down", "logs"])
def test_unknown_lab_name(command):
    """`dlab down`/`logs` of a name no lab has: refused, with where to look."""
    assert_refused(dlab(command, "dlabtest-no-such-lab"), "no lab named 'dlabtest-no-such-lab'")


def test_foreign_container_is_not_touched(tmp_path, labs):
    """A container dlab did not start is neither reused nor removed by `up` or `down`."""
    from dlab import engine

    name = labs.name()
    engine.run(["create", "--name", name, "dlab-base:bookworm", "true"])
    assert_refused(dlab("up", "--no-browser", "--name", name, "--work", str(tmp_path / "work")), "dlab did not start it")
    assert_refused(dlab("down", name), f"no lab named '{name}'")
    assert engine.find_instance(name) is not None
