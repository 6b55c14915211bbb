"""Bad input: a clear two-line message, a non-zero exit, and nothing of the user's touched."""

import os

import pytest

from tests.support.runner import dlab
from tests.support.student import as_student, student_dir


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


@pytest.mark.engine
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


@pytest.mark.engine
def test_image_that_does_not_exist(tmp_path):
    """--image naming an image the engine lacks: refused, nothing built or started."""
    result = dlab("up", "--no-browser", "--image", "dlab:does-not-exist", "--work", str(tmp_path / "work"))
    assert_refused(result, "image dlab:does-not-exist is not in the Docker engine")


@pytest.mark.engine
@pytest.mark.parametrize("command", ["down", "logs"])
def test_unknown_lab_name(command):
    """`dlab down`/`logs` of a name no lab has: refused, with where to look."""
    assert_refused(dlab(command, "dlabtest-no-such-lab"), "no lab of yours named 'dlabtest-no-such-lab'")


@pytest.mark.engine
def test_foreign_container_is_not_touched(tmp_path, labs, cpu_image):
    """A container dlab did not start is neither reused nor removed by `up` or `down`."""
    from dlab import engine, places

    name = labs.name()
    container = places.caller().container(name)  # the name `dlab up --name NAME` would give it
    engine.run(["create", "--name", container, cpu_image, "true"])
    try:
        assert_refused(dlab("up", "--no-browser", "--name", name, "--work", str(tmp_path / "work")), "dlab did not start it")
        assert_refused(dlab("down", name), f"no lab of yours named '{name}'")
        assert engine.find_instance(container) is not None
    finally:
        engine.run(["rm", "-f", container], check=False)


@pytest.mark.parametrize("args, words", [
    (["up", "--name", "lab\n"], "bad instance name 'lab\\n'"),
    (["up", "--gpus", "²"], "bad --gpus value '²'"),
    (["up", "--token", "jupyter-café-token"], "characters other than ASCII"),
    (["up", "--public", "--token", "0123456789"], "needs 16 or more"),
    pytest.param(["up", "--memory", "lots"], "bad --memory", marks=pytest.mark.engine),  # refused after the probe
    (["doctor", "--port", "0"], "port 0 is out of range"),
])
def test_bad_flags_are_one_line_and_exit_2(tmp_path, args, words):
    """A name ending in a newline, a superscript GPU, a non-ASCII token, a short public token, a bad size, port 0."""
    work = tmp_path / "work"
    result = dlab(*args, *(["--no-browser", "--work", str(work)] if args[0] == "up" else []))
    assert_refused(result, words)
    assert "Traceback" not in result.stderr and not work.exists()


def test_work_folder_that_is_a_dangling_symlink(tmp_path):
    """--work at a symlink to nothing (an unplugged disk): refused with where it points; nothing created."""
    work = tmp_path / "work"
    work.symlink_to(tmp_path / "usb" / "work")
    assert_refused(dlab("up", "--no-browser", "--work", str(work)), "which does not exist")
    assert work.is_symlink() and not (tmp_path / "usb").exists()


@pytest.mark.parametrize("content, words", [(None, "cannot read the token file"), ("\n", "is empty")])
def test_token_file_missing_or_empty(tmp_path, content, words):
    """--token-file that is missing or holds nothing: refused, no lab with a token nobody knows."""
    token_file = tmp_path / "token.txt"
    if content is not None:
        token_file.write_text(content)
    assert_refused(dlab("up", "--no-browser", "--token-file", str(token_file), "--work", str(tmp_path / "w")), words)


@pytest.mark.engine
def test_token_flag_says_it_shows_in_ps(tmp_path):
    """--token still works, and says once that the token is visible in `ps` and how to keep it private."""
    result = dlab("up", "--no-browser", "--token", "visible-token-123", "--image", "dlab:does-not-exist",
                  "--work", str(tmp_path / "work"))
    assert result.stdout.count("--token shows in `ps`") == 1 and "--token-file" in result.stdout
    assert_refused(result, "dlab:does-not-exist")


@pytest.mark.engine
def test_certificate_and_key_that_do_not_match(tmp_path):
    """--public with a key that is not the certificate's: refused before anything starts."""
    import subprocess

    for name in ("one", "two"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                        "-keyout", str(tmp_path / f"{name}.key"), "-out", str(tmp_path / f"{name}.pem")],
                       check=True, capture_output=True)
    result = dlab("up", "--no-browser", "--public", "--token", "a-long-enough-token", "--certfile", str(tmp_path / "one.pem"),
                  "--keyfile", str(tmp_path / "two.key"), "--work", str(tmp_path / "work"))
    assert_refused(result, "does not belong to the certificate")
    assert not (tmp_path / "work").exists()
