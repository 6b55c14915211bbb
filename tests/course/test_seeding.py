"""Seeding: course notebooks are copied into the work folder only where absent; an upgrade never overwrites an edit."""

import io
import tarfile
import uuid

import nbformat
import pytest

from dlab_course import render
from tests.support.paths import ROOT

pytestmark = pytest.mark.engine
COURSE = render.load_manifest(ROOT / "lab" / "course.toml")


def start_and_wait(tracked, work, environment=None, image=None):
    """Run the image's entrypoint on the work folder (it seeds, then runs `true`); returns its log."""
    return tracked.run(["true"], image=image, network_mode="none", environment=environment or {}, timeout=120,
                       volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}})


def newer_image(docker_client, base, extra_name, extra_nb):
    """An image FROM base with one more rendered solution notebook, as a newer release would ship."""
    dockerfile = f"FROM {base}\nCOPY {extra_name} /opt/dlab/course/solutions/{extra_name}\n".encode()
    payload = nbformat.writes(extra_nb).encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile), (extra_name, payload)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    tag = f"dlab-test-seeding:{uuid.uuid4().hex[:8]}"
    docker_client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True)
    return tag


def test_first_start_seeds_exercises_and_solutions(cpu_container, work):
    """On first start the work folder gets course/exercises and course/solutions with every notebook the image ships."""
    start_and_wait(cpu_container, work)
    exercises = sorted(p.name for p in (work / "course" / "exercises").glob("*.ipynb"))
    solutions = sorted(p.name for p in (work / "course" / "solutions").glob("*.ipynb"))
    assert exercises and exercises == solutions
    nbformat.validate(nbformat.read(work / "course" / "solutions" / solutions[0], as_version=4))


def test_no_solutions_seeds_the_exercises_only(cpu_container, work):
    """With DLAB_SOLUTIONS=0 (a graded class) the work folder gets every exercise and no solution."""
    start_and_wait(cpu_container, work, {"DLAB_SOLUTIONS": "0"})
    exercises = sorted(p.name for p in (work / "course" / "exercises").glob("*.ipynb"))
    assert len(exercises) == len(COURSE["notebooks"])
    assert not (work / "course" / "solutions").exists()
    assert not list(work.rglob("*solution*")), "a solution reached the work folder"


def test_upgrade_keeps_edits_and_adds_new_notebooks(docker_client, cpu_image, cpu_container, work):
    """Start, edit a notebook, start a newer image on the same folder: the edit is intact and the new notebook is there."""
    start_and_wait(cpu_container, work)
    solutions = work / "course" / "solutions"
    edited = sorted(solutions.glob("*.ipynb"))[0]
    nb = nbformat.read(edited, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("My own notes: do not lose these."))
    nbformat.write(nb, edited)
    before = edited.read_bytes()
    deleted = sorted((work / "course" / "exercises").glob("*.ipynb"))[-1]
    deleted.unlink()  # a notebook the student removed comes back fresh, nothing else changes

    extra = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A notebook from the newer image")])
    tag = newer_image(docker_client, cpu_image, "99-new-in-this-release.ipynb", extra)
    try:
        logs = start_and_wait(cpu_container, work, image=tag)
    finally:
        docker_client.images.remove(tag, force=True)
    assert edited.read_bytes() == before, "the student's edit was overwritten"
    new = solutions / "99-new-in-this-release.ipynb"
    assert new.exists(), f"the newer image's notebook was not added:\n{logs}"
    assert "A notebook from the newer image" in new.read_text()
    assert deleted.exists()


def test_seeding_never_overwrites_a_file_of_the_same_name(cpu_container, work):
    """A file holding valid JSON under a course notebook's name is left exactly as it is (a damaged one: tests/image)."""
    start_and_wait(cpu_container, work)
    target = sorted((work / "course" / "exercises").glob("*.ipynb"))[0]
    target.write_text('{"my own": "edit"}')
    start_and_wait(cpu_container, work)
    assert target.read_text() == '{"my own": "edit"}'
