"""The student's work folder: private files, seeding that never stops the lab, notebooks whole after a kill, no hidden trash."""

import json
import stat
import threading
import time
import zipfile

import pytest

from tests.support.jupyter import api, start_lab

pytestmark = pytest.mark.engine

WORK = "/home/jovyan/work"
# Every notebook under work/course is whole JSON, and no temporary copy is left behind.
CHECK_COURSE = (
    "import json, pathlib\n"
    "found = sorted(pathlib.Path('/home/jovyan/work/course').rglob('*'))\n"
    "for p in found:\n"
    "    if p.suffix == '.ipynb': json.loads(p.read_text())\n"
    "assert not [p for p in found if 'partial' in p.name], found\n"
    "print('whole', sum(p.suffix == '.ipynb' for p in found))\n"
)


def mounted(work):
    return {str(work): {"bind": WORK, "mode": "rw"}}


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def first_course_notebook(container):
    return container.run(["bash", "-c", "cd /opt/dlab/course/exercises && ls *.ipynb | head -1"],
                             environment={"DLAB_SEED": "0"}).strip().splitlines()[-1]


def test_a_file_named_course_does_not_stop_the_lab(container, work):
    """A file where work/course belongs is left alone, the lab starts anyway, and stderr says why nothing was copied."""
    (work / "course").write_text("my own notes\n")
    lab = container.start(command=["true"], volumes=mounted(work))
    container.finish(lab, timeout=120)
    assert (work / "course").read_text() == "my own notes\n"
    assert "work/course is a file, not a folder" in lab.logs(stdout=False, stderr=True).decode()


def test_a_full_disk_during_seeding_leaves_whole_notebooks(container):
    """When the work folder fills up while the course is copied, the lab starts and every notebook there is whole."""
    logs = container.run(["python", "-c", CHECK_COURSE], tmpfs={WORK: "size=160k,uid=1000,gid=100"},
                             allowed=[r"copying the course stopped"])
    assert "No space left on device" in logs, logs
    copied = int(logs.strip().splitlines()[-1].split()[-1])
    assert 0 < copied < 36, logs


def test_a_cut_course_notebook_is_set_aside_and_copied_again(container, work):
    """A course notebook that is not valid JSON (a copy cut short by an older version) is kept as .broken-* and copied whole."""
    name = first_course_notebook(container)
    container.run(["true"], volumes=mounted(work))
    seeded = work / "course" / "exercises" / name
    whole = seeded.read_bytes()
    seeded.write_bytes(whole[: len(whole) // 3])
    logs = container.run(["true"], volumes=mounted(work))
    assert seeded.read_bytes() == whole
    kept = list(seeded.parent.glob(f"{name}.broken-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == whole[: len(whole) // 3], kept
    assert f"course/exercises/{name} is not a valid notebook" in logs


def big_notebook(marker, cells=2000):
    """A valid notebook of about 7 MB, slow for Jupyter to serialize: many cells of many lines."""
    lines = [f"# {marker} line {i:04d} " + "x" * 40 + "\n" for i in range(60)]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": lines} for i in range(cells)]}


def test_a_kill_during_a_save_is_repaired_at_the_next_start(container, work, port):
    """Killed mid-save (docker kill), a notebook comes back at the next start from Jupyter's backup; the cut copy stays beside it."""
    notebook, backup = work / "big.ipynb", work / ".~big.ipynb"
    notebook.write_text(json.dumps(big_notebook("version 0")))
    notebook.chmod(0o666)  # the lab's uid saves over it
    on_disk = notebook.read_bytes()  # the last complete version
    cuts = 0
    for attempt in range(1, 9):
        lab = start_lab(container, port, volumes=mounted(work))
        assert notebook.read_bytes() == on_disk, f"round {attempt}: not the last complete version"
        assert len(list(work.glob("big.ipynb.broken-*"))) == cuts
        full = notebook.stat().st_size
        model = {"type": "notebook", "format": "json", "content": big_notebook(f"version {attempt}")}
        save = threading.Thread(target=lambda: _put_ignoring_errors(port, model), daemon=True)
        save.start()
        deadline = time.monotonic() + 120
        while save.is_alive() and time.monotonic() < deadline:
            if backup.exists() and notebook.stat().st_size < full // 2:
                break
            time.sleep(0.001)
        lab.kill()
        save.join(timeout=30)
        try:
            json.loads(notebook.read_bytes())
            on_disk = notebook.read_bytes()  # the save got through before the kill
        except ValueError:
            cuts += 1
        if cuts == 2:
            break
    assert cuts, "no kill landed in the middle of a save: this run proves nothing"
    logs = container.run(["true"], volumes=mounted(work))
    assert notebook.read_bytes() == on_disk
    assert len(list(work.glob("big.ipynb.broken-*"))) == cuts
    assert "big.ipynb was cut short by an interrupted save: restored from Jupyter's backup" in logs


def _put_ignoring_errors(port, model):
    try:
        api(port, "/api/contents/big.ipynb", method="PUT", body=model, timeout=120)
    except OSError:
        pass  # the container was killed under it


def test_deleted_files_leave_no_hidden_trash(container, work, port):
    """Deleting a file in JupyterLab removes it; no .Trash-<uid> folder grows in the work folder."""
    start_lab(container, port, volumes=mounted(work), environment={"DLAB_SEED": "0"},
              allowed=[r"ServerApp\] delete /draft\.txt$"])  # Jupyter logs each delete that skips the trash
    assert api(port, "/api/contents/draft.txt", method="PUT", body={"type": "file", "format": "text", "content": "x"})[0] == 201
    assert api(port, "/api/contents/draft.txt", method="DELETE")[0] == 204
    assert [p.name for p in work.iterdir() if p.name != ".ipynb_checkpoints"] == []


def test_work_is_private_by_default(container, work, port):
    """Files the lab writes (seeded, saved by Jupyter, made by a command) are 0600 and folders 0700."""
    container.run(["bash", "-c", f"echo hi > {WORK}/note.txt && mkdir {WORK}/folder"], volumes=mounted(work))
    assert (mode(work / "note.txt"), mode(work / "folder")) == (0o600, 0o700)
    seeded = next((work / "course" / "exercises").glob("*.ipynb"))
    assert (mode(seeded), mode(seeded.parent), mode(work / "course")) == (0o600, 0o700, 0o700)
    start_lab(container, port, volumes=mounted(work))
    assert api(port, "/api/contents/saved.txt", method="PUT", body={"type": "file", "format": "text", "content": "x"})[0] == 201
    assert mode(work / "saved.txt") == 0o600


def test_nb_umask_shares_work_when_asked(container, work):
    """NB_UMASK=022 makes new files 0644 and folders 0755 again."""
    container.run(["bash", "-c", f"echo hi > {WORK}/note.txt && mkdir {WORK}/folder"], volumes=mounted(work),
                      environment={"NB_UMASK": "022", "DLAB_SEED": "0"})
    assert (mode(work / "note.txt"), mode(work / "folder")) == (0o644, 0o755)


def test_a_bad_nb_umask_is_refused_with_a_fix(container):
    """NB_UMASK that is not an octal umask stops the start with exit 2, a line saying so and one saying what to use."""
    logs = container.run(["true"], environment={"NB_UMASK": "rw-r"}, expect_exit=2)
    assert "NB_UMASK=rw-r is not an octal umask" in logs and "fix: use NB_UMASK=077" in logs, logs


def test_pip_install_works_with_the_private_umask(container, tmp_path):
    """Under the private default umask a lab user in group 100 (any UID) installs a package and imports it."""
    wheel = tmp_path / "dlab_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("dlab_probe/__init__.py", "ANSWER = 42\n")
        archive.writestr("dlab_probe-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: dlab-probe\nVersion: 1.0\n")
        archive.writestr("dlab_probe-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("dlab_probe-1.0.dist-info/RECORD", "")
    tmp_path.chmod(0o755)
    wheel.chmod(0o644)
    logs = container.run(
        ["bash", "-c", f"pip install --no-index --no-deps --quiet /wheels/{wheel.name} && python -c 'import dlab_probe; print(dlab_probe.ANSWER)'"],
        user="2345:2345", group_add=[100], network_mode="none", environment={"DLAB_SEED": "0"},
        volumes={str(tmp_path): {"bind": "/wheels", "mode": "ro"}})
    assert logs.strip().splitlines()[-1] == "42", logs
