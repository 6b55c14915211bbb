"""Run course notebooks top to bottom with papermill and report each one.

    python -m dlab_course.run [--smoke] [--kind solutions|exercises] [--out DIR] [NUMBER ...]

From the repository the notebooks are rendered from lab/notebooks on the fly; in
the image the rendered ones under /opt/dlab/course are run. --smoke injects each
notebook's smoke values (the `smoke` metadata of its parameters cell).
A solution passes when it runs to the end; an exercise passes when it stops at its
stub with that stub's NotImplementedError, not earlier with another error.
"""

import argparse
import ast
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from . import render

REPO_MANIFEST = Path(__file__).resolve().parents[1] / "course.toml"
IMAGE_COURSE = Path(os.environ.get("DLAB_COURSE", "/opt/dlab/course"))


class UsageError(Exception):
    """A mistake in what was asked (unknown notebook, missing course)."""


def parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    return tagged[0] if len(tagged) == 1 else None


def smoke_values(nb):
    """The smoke values of the notebook's one parameters cell, or None if it has none."""
    cell = parameters_cell(nb)
    if cell is None or not isinstance(cell.metadata.get("smoke"), dict):
        return None
    return dict(cell.metadata["smoke"])


def stub_messages(nb):
    """The messages of the exercise stubs in a rendered exercise notebook, in order."""
    messages = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            call = line.strip()
            if call.startswith("raise NotImplementedError(") and call.endswith(")"):
                try:
                    message = ast.literal_eval(call[len("raise NotImplementedError("):-1])
                except (ValueError, SyntaxError):
                    continue
                if isinstance(message, str) and message.startswith(render.STUB_PREFIX):
                    messages.append(message)
    return messages


def locate_course(course_dir=None, manifest=None, workdir=None, numbers=()):
    """(manifest dict, folder holding exercises/ and solutions/)."""
    if course_dir:
        course_dir = Path(course_dir)
        return render.load_manifest(course_dir / "course.toml"), course_dir
    manifest = Path(manifest) if manifest else (REPO_MANIFEST if REPO_MANIFEST.exists() else None)
    if manifest is None:
        if not (IMAGE_COURSE / "course.toml").exists():
            raise UsageError(f"no course found: neither {REPO_MANIFEST} nor {IMAGE_COURSE / 'course.toml'} exists")
        return render.load_manifest(IMAGE_COURSE / "course.toml"), IMAGE_COURSE
    manifest_data = render.load_manifest(manifest)
    select(manifest_data.get("notebooks", []), list(numbers))  # refuse unknown numbers before rendering
    rendered = Path(workdir) / "rendered"
    render.render_course(manifest, rendered, list(numbers))
    return manifest_data, rendered


def select(entries, numbers):
    known = [e["number"] for e in entries]
    unknown = [n for n in numbers if n not in known]
    if unknown:
        raise UsageError(f"no notebook numbered {', '.join(unknown)} (known: {' '.join(known)})")
    return [e for e in entries if not numbers or e["number"] in numbers]


def run_one(path, kind, smoke, out_dir, timeout):
    """Execute one notebook; returns a result dict (status ok/failed, message)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = nbformat.read(path, as_version=4)
    params = {}
    if smoke:
        params = smoke_values(nb)
        if params is None:
            return {"ok": False, "message": "no parameters cell with smoke values (tags=[\"parameters\"] smoke={...})"}
    stubs = stub_messages(nb) if kind == "exercises" else []
    if kind == "exercises" and not stubs:
        return {"ok": False, "message": "the exercise has no stub (no solution region in the source)"}
    work = out_dir / "work" / kind / path.stem
    work.mkdir(parents=True, exist_ok=True)
    output = out_dir / kind / path.name
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(path), str(output), parameters=params, kernel_name="python3",
            progress_bar=False, cwd=str(work), execution_timeout=timeout,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no TCP-encryption warning per kernel
        )
    except PapermillExecutionError as exc:
        message = f"{exc.ename}: {exc.evalue}".strip()
        if kind == "exercises":
            if exc.ename == "NotImplementedError" and exc.evalue in stubs:
                return {"ok": True, "message": f"stopped at a stub: {message}"}
            return {"ok": False, "message": f"failed before reaching a stub: {message}"}
        return {"ok": False, "message": message}
    except Exception as exc:  # kernel died, timeout, bad notebook
        return {"ok": False, "message": f"{type(exc).__name__}: {exc}"}
    if kind == "exercises":
        return {"ok": False, "message": "ran to the end: the stub never raised"}
    return {"ok": True, "message": "ran to the end"}


def run_course(numbers=(), kind="solutions", smoke=False, out=None, course_dir=None, manifest=None, timeout=900):
    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="dlab-run-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_data, rendered = locate_course(course_dir, manifest, out_dir, numbers)
    entries = select(manifest_data.get("notebooks", []), list(numbers))
    if smoke:
        os.environ["DLAB_SMOKE"] = "1"  # the kernels inherit it
    package_root = str(Path(__file__).resolve().parents[1])  # kernels run elsewhere: make the import absolute
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    results = []
    for entry in entries:
        path = rendered / kind / render.notebook_name(entry)
        started = time.monotonic()
        if path.exists():
            result = run_one(path, kind, smoke, out_dir, timeout)
        else:
            result = {"ok": False, "message": f"no rendered notebook at {path}"}
        result.update(number=entry["number"], slug=entry["slug"], kind=kind,
                      seconds=round(time.monotonic() - started, 1), output=str(out_dir / kind / path.name))
        results.append(result)
        print(f"{'ok  ' if result['ok'] else 'FAIL'} {entry['number']} {entry['slug']:<24} {result['seconds']:6.1f} s  {result['message']}", flush=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    return out_dir, results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dlab_course.run", description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers (default: all, in course order)")
    parser.add_argument("--smoke", action="store_true", help="inject each notebook's smoke values")
    parser.add_argument("--kind", choices=render.KINDS, default="solutions")
    parser.add_argument("--out", help="folder for executed notebooks and results.json (default: a new temp folder)")
    parser.add_argument("--course", help="a rendered course folder (course.toml, exercises/, solutions/)")
    parser.add_argument("--manifest", help="render from this course.toml instead")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        out_dir, results = run_course(args.numbers, args.kind, args.smoke, args.out, args.course, args.manifest, args.timeout)
    except (UsageError, render.RenderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("fix: name notebooks from lab/course.toml, or pass --course/--manifest pointing at the course", file=sys.stderr)
        return 2
    failed = [r for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed ({out_dir})")
    if failed:
        print(f"error: {len(failed)} notebook(s) failed: {' '.join(r['number'] for r in failed)}", file=sys.stderr)
        print(f"fix: open the executed notebooks in {out_dir / args.kind} to see where they stopped", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
