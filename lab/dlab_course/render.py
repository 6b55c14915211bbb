"""Render course sources (jupytext percent) into exercise and solution notebooks.

A solution region inside a code cell:

    ### BEGIN SOLUTION  optional hint
    ...code...
    ### END SOLUTION

The exercise keeps a stub that raises; the solution keeps the code.
"""

import argparse
import re
import sys
import tomllib
from pathlib import Path

import jupytext
import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\b[ \t]*(?P<hint>.*?)[ \t]*$")
END = re.compile(r"^[ \t]*### END SOLUTION\b")
KINDS = ("exercises", "solutions")
STUB_PREFIX = "Exercise: "


class RenderError(Exception):
    """A source that cannot be rendered (unbalanced solution markers, bad manifest)."""


def load_manifest(path):
    """The parsed course.toml."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RenderError(f"no course manifest at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RenderError(f"{path} is not valid TOML: {exc}") from None


def notebook_name(entry):
    """File name of a rendered notebook, e.g. 04-softmax-regression.ipynb."""
    return f"{entry['number']}-{entry['slug']}.ipynb"


def stub_message(hint):
    """What a stub raises: NotImplementedError(stub_message(hint))."""
    return STUB_PREFIX + (hint or "complete this part")


def stub_lines(indent, hint):
    """The two lines that replace a solution region in an exercise."""
    return [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({stub_message(hint)!r})"]


def split_source(source, kind, where="cell", only=None):
    """Cell source for one kind; raises RenderError on unbalanced markers.

    With only=k an exercise stubs region k alone (counting from 0) and keeps the others solved.
    """
    out, region, index = [], None, -1
    for lineno, line in enumerate(source.split("\n"), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if region is not None:
                raise RenderError(f"{where}, line {lineno}: BEGIN SOLUTION inside another solution region")
            region, index = begin, index + 1
            stubbed = kind == "exercises" and only in (None, index)
            if stubbed:
                out.extend(stub_lines(begin["indent"], begin["hint"]))
        elif end:
            if region is None:
                raise RenderError(f"{where}, line {lineno}: END SOLUTION without BEGIN SOLUTION")
            region = None
        elif region is None or not stubbed:
            out.append(line)
    if region is not None:
        raise RenderError(f"{where}: BEGIN SOLUTION is never closed")
    return "\n".join(out)


def hints(source):
    """The hint of each solution region in a cell source, in order."""
    return [m["hint"] for m in map(BEGIN.match, source.split("\n")) if m]


def exercise_variants(source, where="cell"):
    """[(stub message, cell source with only that region stubbed)] for each region of a cell."""
    return [(stub_message(hint), split_source(source, "exercises", where, only=k)) for k, hint in enumerate(hints(source))]


def read_source(path):
    """The jupytext percent source as a notebook (cells still holding the solution markers)."""
    try:
        return jupytext.read(Path(path), fmt="py:percent")
    except FileNotFoundError:
        raise RenderError(f"no notebook source at {path}") from None


def render_source(path, kind, entry=None):
    """One notebook (nbformat v4) of the given kind from a jupytext percent source."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    path = Path(path)
    source_nb = read_source(path)
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    if entry:
        nb.metadata["dlab"] = {"number": entry["number"], "slug": entry["slug"], "kind": kind[:-1]}
    for index, cell in enumerate(source_nb.cells):
        where = f"{path.name}, cell {index + 1}"
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(split_source(cell.source, kind, where))
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        new.metadata = dict(cell.metadata)
        new.id = f"cell-{index:03d}"  # stable ids: identical rebuilds give identical files
        nb.cells.append(new)
    nbformat.validate(nb)
    return nb


def render_course(manifest_path, out_dir, numbers=None):
    """Write OUT/exercises/*.ipynb and OUT/solutions/*.ipynb; returns the written paths."""
    manifest_path = Path(manifest_path)
    manifest = load_manifest(manifest_path)
    entries = manifest.get("notebooks", [])
    if numbers:
        unknown = set(numbers) - {e["number"] for e in entries}
        if unknown:
            raise RenderError(f"not in {manifest_path.name}: {', '.join(sorted(unknown))}")
        entries = [e for e in entries if e["number"] in numbers]
    written = []
    for entry in entries:
        source = manifest_path.parent / entry["source"]
        for kind in KINDS:
            nb = render_source(source, kind, entry)
            target = Path(out_dir) / kind / notebook_name(entry)
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
            written.append(target)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dlab_course.render", description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", default="lab/course.toml", help="course.toml (default: %(default)s)")
    parser.add_argument("--out", required=True, help="folder for exercises/ and solutions/")
    parser.add_argument("numbers", nargs="*", help="only these notebooks (default: all)")
    args = parser.parse_args(argv)
    try:
        written = render_course(args.manifest, args.out, args.numbers)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("fix: correct the manifest or the notebook source named above, then render again", file=sys.stderr)
        return 2
    print(f"rendered {len(written)} notebooks into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
