"""Rendering: exercise and solution notebooks from the jupytext sources, checked against the manifest."""

import keyword
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlab_course import render
from tests.support.paths import ROOT

MANIFEST = ROOT / "lab" / "course.toml"
COURSE = render.load_manifest(MANIFEST)
NUMBERS = [e["number"] for e in COURSE["notebooks"]]
MAX_SHARED_RUN = 2  # consecutive tokens a hint may share with its solution ("tf.matmul" is 3)
MAX_SHARED_NAMES = 3  # distinct names of the solution a hint may use
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|\S")


def entry(number):
    return next(e for e in COURSE["notebooks"] if e["number"] == number)


def source_path(number):
    return MANIFEST.parent / entry(number)["source"]


def code_lines(nb):
    return [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()]


def regions(text):
    """Lists of the code lines inside each solution region, and the lines outside any region."""
    inside, outside, current = [], [], None
    for line in text.splitlines():
        if render.BEGIN.match(line):
            current = []
        elif render.END.match(line):
            inside.append(current)
            current = None
        elif current is not None:
            current.append(line)
        else:
            outside.append(line)
    return inside, outside


def test_every_manifest_notebook_has_a_source():
    """Each notebook listed in course.toml has its source file in lab/notebooks."""
    missing = [e["source"] for e in COURSE["notebooks"] if not (MANIFEST.parent / e["source"]).exists()]
    assert not missing, f"listed in course.toml but missing: {missing}"


def test_every_source_is_in_the_manifest():
    """Each source file in lab/notebooks is listed in course.toml."""
    listed = {Path(e["source"]).name for e in COURSE["notebooks"]}
    extra = [p.name for p in (MANIFEST.parent / "notebooks").glob("*.py") if p.name not in listed]
    assert not extra, f"sources not in course.toml: {extra}"


def test_manifest_numbers_and_slugs_are_unique_and_match_sources():
    """Numbers and slugs are unique and each source is named <number>-<slug>.py."""
    entries = COURSE["notebooks"]
    assert len({e["number"] for e in entries}) == len(entries)
    assert len({e["slug"] for e in entries}) == len(entries)
    for e in entries:
        assert e["source"] == f"notebooks/{e['number']}-{e['slug']}.py"


@pytest.mark.parametrize("number", NUMBERS)
def test_exercise_contains_no_solution_code(number):
    """No line of a solution region (that is not also outside one) is in the exercise notebook."""
    path = source_path(number)
    if not path.exists():
        pytest.fail(f"no source {path}")
    inside, outside = regions(path.read_text())
    assert inside, "the source has no solution region"
    exercise = "\n".join(code_lines(render.render_source(path, "exercises", entry(number))))
    outside_set = {line.strip() for line in outside}
    leaked = [line for region in inside for line in region
              if line.strip() and not line.strip().startswith("#") and line.strip() not in outside_set
              and line.strip() in {x.strip() for x in exercise.splitlines()}]
    assert not leaked, f"solution code in the exercise: {leaked}"
    stubs = exercise.count("raise NotImplementedError(")
    assert stubs >= len(inside), "each solution region must become a stub that raises"


@pytest.mark.parametrize("number", NUMBERS)
def test_solution_is_complete(number):
    """The solution notebook keeps every line of every region and has no markers or stubs."""
    path = source_path(number)
    if not path.exists():
        pytest.fail(f"no source {path}")
    inside, _ = regions(path.read_text())
    solution = code_lines(render.render_source(path, "solutions", entry(number)))
    text = "\n".join(solution)
    assert "### BEGIN SOLUTION" not in text and "### END SOLUTION" not in text
    assert render.STUB_PREFIX not in text
    for region in inside:
        for line in region:
            assert line in solution, f"solution lost the line {line!r}"


@pytest.mark.parametrize("number", NUMBERS)
def test_both_notebooks_are_valid_nbformat(number, tmp_path):
    """Exercise and solution notebooks validate as nbformat 4 and read back unchanged."""
    if not source_path(number).exists():
        pytest.fail(f"no source {source_path(number)}")
    written = render.render_course(MANIFEST, tmp_path, [number])
    assert len(written) == 2
    for path in written:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("number", NUMBERS)
def test_one_parameters_cell_with_smoke_values(number):
    """Each notebook has exactly one parameters cell, with smoke values for names it defines."""
    if not source_path(number).exists():
        pytest.fail(f"no source {source_path(number)}")
    nb = render.render_source(source_path(number), "solutions", entry(number))
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{len(cells)} parameters cells"
    smoke = cells[0].metadata.get("smoke")
    assert isinstance(smoke, dict) and smoke, "the parameters cell needs smoke={...} on its header line"
    defined = {line.split("=")[0].strip() for line in cells[0].source.splitlines() if "=" in line and not line.startswith("#")}
    assert set(smoke) <= defined, f"smoke values for names the cell does not define: {set(smoke) - defined}"


def test_stub_keeps_indentation_and_hint(tmp_path):
    """A region becomes '# YOUR CODE HERE' and a raise with the hint, at the marker's indentation."""
    src = tmp_path / "x.py"
    src.write_text(
        "# %%\n"
        "def loss(y, y_hat):\n"
        "    ### BEGIN SOLUTION  use tf.reduce_mean, the \"mean\" of squares\n"
        "    value = ((y - y_hat) ** 2).mean()\n"
        "    ### END SOLUTION\n"
        "    return value\n"
    )
    exercise = render.render_source(src, "exercises").cells[0].source
    assert exercise.splitlines() == [
        "def loss(y, y_hat):",
        "    # YOUR CODE HERE",
        "    raise NotImplementedError('Exercise: use tf.reduce_mean, the \"mean\" of squares')",
        "    return value",
    ]
    with pytest.raises(NotImplementedError, match='Exercise: use tf.reduce_mean, the "mean" of squares'):
        namespace = {}
        exec(exercise, namespace)
        namespace["loss"](1, 2)
    solution = render.render_source(src, "solutions").cells[0].source
    assert solution.splitlines() == ["def loss(y, y_hat):", "    value = ((y - y_hat) ** 2).mean()", "    return value"]


def test_stub_without_hint_says_what_to_do(tmp_path):
    """A region with no hint still raises with an 'Exercise:' message."""
    src = tmp_path / "x.py"
    src.write_text("# %%\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n")
    exercise = render.render_source(src, "exercises").cells[0].source
    assert "raise NotImplementedError('Exercise: complete this part')" in exercise


@pytest.mark.parametrize("text, where", [
    ("# %%\n### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("# %%\nx = 1\n### END SOLUTION\n", "line 2: END SOLUTION without BEGIN"),
    ("# %%\n### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "line 2: BEGIN SOLUTION inside"),
])
def test_unbalanced_markers_are_refused(tmp_path, text, where):
    """Unbalanced solution markers stop the render with the cell and line named."""
    src = tmp_path / "x.py"
    src.write_text(text)
    with pytest.raises(render.RenderError, match=where):
        render.render_source(src, "exercises")


def test_render_is_deterministic(tmp_path):
    """Rendering twice gives byte-identical notebooks (so image layers stay cached)."""
    number = next(n for n in NUMBERS if source_path(n).exists())
    first = render.render_course(MANIFEST, tmp_path / "a", [number])
    second = render.render_course(MANIFEST, tmp_path / "b", [number])
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_render_cli_reports_a_missing_source(tmp_path):
    """The render command names a missing source, says what to do, and exits 2."""
    manifest = tmp_path / "course.toml"
    manifest.write_text('[[notebooks]]\nnumber = "00"\nslug = "x"\ntitle = "x"\nday = 1\nsource = "notebooks/00-x.py"\n')
    result = subprocess.run([sys.executable, "-m", "dlab_course.render", "--manifest", str(manifest), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "lab"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "00-x.py" in lines[0]
    assert lines[1].startswith("fix: ")


def tokens(text):
    """Names, numbers and every other character, one token each."""
    return TOKEN.findall(text)


def code_without_comments(lines):
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in lines)


def longest_shared_run(a, b):
    """Length of the longest run of consecutive tokens found in both a and b."""
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def shared_names(hint, code):
    names = {t for t in tokens(code) if len(t) > 1 and t.isidentifier() and not keyword.iskeyword(t)}
    return sorted(names & set(tokens(hint)))


def hint_problems(text):
    """For each solution region whose hint gives its code away: a line saying what it shares."""
    problems, lines = [], text.splitlines()
    for number, line in enumerate(lines):
        begin = render.BEGIN.match(line)
        if not begin:
            continue
        end = next(i for i in range(number + 1, len(lines)) if render.END.match(lines[i]))
        hint, code = begin["hint"], code_without_comments(lines[number + 1:end])
        run, names = longest_shared_run(tokens(hint), tokens(code)), shared_names(hint, code)
        if run > MAX_SHARED_RUN or len(names) > MAX_SHARED_NAMES:
            problems.append(f"line {number + 1}: {run} tokens in a row and the names {names} are in the solution: {hint!r}")
    return problems


@pytest.mark.parametrize("number", NUMBERS)
def test_hints_name_the_idea_not_the_code(number):
    """No stub hint shares more than 2 tokens in a row, or more than 3 names, with its solution region."""
    problems = hint_problems(source_path(number).read_text())
    assert not problems, "hints that give the code away:\n" + "\n".join(problems)


def test_hint_check_catches_code_and_lets_ideas_through():
    """The hint check flags a hint that spells out the call, and passes one that names the idea."""
    region = "    ### END SOLUTION"
    code = "    c = tf.linalg.matmul(a, b, transpose_b=True)  # the linalg module"
    assert hint_problems(f"    ### BEGIN SOLUTION  tf.linalg with transpose_b=True\n{code}\n{region}")
    assert hint_problems(f"    ### BEGIN SOLUTION  use matmul, transpose_b, a and b, c; module\n{code}\n{region}") == []
    assert hint_problems(f"    ### BEGIN SOLUTION  use matmul, transpose_b, tf and linalg\n{code}\n{region}")
    assert not hint_problems(f"    ### BEGIN SOLUTION  the matrix product, with b turned on its side\n{code}\n{region}")


def test_exercise_variant_stubs_one_region_and_keeps_the_others_solved():
    """exercise_variants gives, for each region of a cell, the cell with only that region stubbed."""
    source = "x = 1\n### BEGIN SOLUTION  first\ny = x\n### END SOLUTION\n### BEGIN SOLUTION  second\nz = y\n### END SOLUTION"
    (first, one), (second, two) = render.exercise_variants(source)
    assert (first, second) == ("Exercise: first", "Exercise: second")
    assert one.splitlines() == ["x = 1", "# YOUR CODE HERE", "raise NotImplementedError('Exercise: first')", "z = y"]
    assert two.splitlines() == ["x = 1", "y = x", "# YOUR CODE HERE", "raise NotImplementedError('Exercise: second')"]


@pytest.mark.parametrize("number", NUMBERS)
def test_details_blocks_render_their_markdown(number):
    """Each <details> block (hints, model answers) is closed, has a summary, and blank lines around its text."""
    nb = render.render_source(source_path(number), "exercises", entry(number))
    for index, cell in enumerate(c for c in nb.cells if c.cell_type == "markdown"):
        lines = cell.source.splitlines()
        opened = [i for i, line in enumerate(lines) if line.strip().startswith("<details>")]
        closed = [i for i, line in enumerate(lines) if line.strip() == "</details>"]
        assert len(opened) == len(closed), f"markdown cell {index}: {len(opened)} <details>, {len(closed)} </details>"
        for start, end in zip(opened, closed):
            assert "<summary>" in lines[start] and "</summary>" in lines[start], f"markdown cell {index}: no summary"
            assert start < end and lines[start + 1] == "" and lines[end - 1] == "", \
                f"markdown cell {index}: JupyterLab renders the text inside <details> only between blank lines"
