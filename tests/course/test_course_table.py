"""The README's course table and lab/course.toml list the same notebooks, in the same order."""

import re

from dlab_course import render
from tests.support.paths import ROOT

COURSE = render.load_manifest(ROOT / "lab" / "course.toml")
HEADER = "| # | notebook | day | what the student learns |"


def readme_rows():
    """(number, title, day, learns) of each row of the README's course table."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert HEADER in lines, f"README.md has no course table (a line {HEADER!r})"
    rows = []
    for line in lines[lines.index(HEADER) + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"README course table row has {len(cells)} cells, not 4: {line}"
        rows.append(tuple(cells))
    return rows


def test_readme_table_lists_every_notebook_of_the_manifest():
    """Each notebook of course.toml has one README row with its number, title and day, in manifest order."""
    readme = [(number, title, day) for number, title, day, _ in readme_rows()]
    manifest = [(e["number"], e["title"], str(e["day"])) for e in COURSE["notebooks"]]
    for ours, theirs in zip(readme, manifest):
        assert ours == theirs, f"README.md's course table says {ours}, lab/course.toml says {theirs}: make them agree"
    assert len(readme) == len(manifest), (
        f"README.md's course table has {len(readme)} rows, lab/course.toml {len(manifest)} notebooks")


def test_readme_table_says_what_each_notebook_teaches():
    """Every row of the README's course table says what the student learns, in a few words at least."""
    thin = [number for number, _, _, learns in readme_rows() if len(re.findall(r"\w+", learns)) < 5]
    assert not thin, f"README.md's course table says too little for: {' '.join(thin)}"


def test_readme_days_match_the_manifest():
    """The course's days in course.toml run from 1 to the number of days it declares, as in the README."""
    days = sorted({int(day) for _, _, day, _ in readme_rows()})
    assert days == list(range(1, COURSE["course"]["days"] + 1))
