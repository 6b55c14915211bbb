"""Run course notebooks top to bottom and report each one.

    python -m dlab_course.run [--smoke] [--kind KIND ...] [--jobs N] [--out DIR] [NUMBER ...]

The notebooks are rendered from their sources (lab/notebooks in the repository,
/opt/dlab/course/notebooks in the image). --smoke injects each notebook's smoke values
(the `smoke` metadata of its parameters cell). Kinds:

  solutions   the solution runs to the end
  exercises   the exercise stops at a stub with that stub's NotImplementedError
  check       one kernel: the solution runs to the end, and before each cell with solution
              regions every region, left alone as a stub, stops the run with its own message
              (so the lines before a stub, and the cells up to where it fires, run twice)
  untrained   smoke values plus the `untrained` ones (learning disabled): the notebook runs
              until its last code cell, and that cell fails with an AssertionError
"""

import argparse
import concurrent.futures
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from . import render

REPO_MANIFEST = Path(__file__).resolve().parents[1] / "course.toml"
IMAGE_COURSE = Path(os.environ.get("DLAB_COURSE", "/opt/dlab/course"))
KINDS = ("solutions", "exercises", "check", "untrained")


class UsageError(Exception):
    """A mistake in what was asked (unknown notebook, missing course)."""


class NotebookFailed(Exception):
    """The notebook did not do what its kind expects; the message says what happened."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details  # extra fields for the result record


def parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    return tagged[0] if len(tagged) == 1 else None


def metadata_values(nb, key):
    """The `key` values (smoke, untrained) of the notebook's one parameters cell, or None."""
    cell = parameters_cell(nb)
    if cell is None or not isinstance(cell.metadata.get(key), dict):
        return None
    return dict(cell.metadata[key])


def values_for(nb, kind, smoke):
    """The parameter values to inject for this kind of run."""
    if not smoke and kind != "untrained":
        return {}
    values = {}
    for key in ("smoke", "untrained") if kind == "untrained" else ("smoke",):
        found = metadata_values(nb, key)
        if found is None:
            raise NotebookFailed(f"no parameters cell with {key} values (tags=[\"parameters\"] {key}={{...}})")
        values.update(found)
    return values


def inject(nb, values):
    """Add a cell setting the values right after the parameters cell (papermill's convention)."""
    if not values:
        return nb
    cell = nbformat.v4.new_code_cell("# Injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in values.items()))
    cell.metadata["tags"] = ["injected-parameters"]
    cell.id = "injected-parameters"
    nb.cells.insert(nb.cells.index(parameters_cell(nb)) + 1, cell)
    return nb


def error_message(error):
    """The message of a cell's exception, without the "in user code:" frame that tf.function adds."""
    lines = [line.strip() for line in error.evalue.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix(f"{error.ename}: ") if lines else ""


def is_stub(error, message):
    """True when a cell error is the stub raising this message (directly, or re-raised by tf.function)."""
    return error.ename == "NotImplementedError" and error_message(error) == message


def describe(error):
    return f"{error.ename}: {error_message(error)}".strip()


class Kernel:
    """One kernel running the cells of one notebook in its own working folder."""

    def __init__(self, nb, cwd, timeout):
        self.nb = nb
        self.client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no TCP-encryption warning per kernel
        )

    def __enter__(self):
        self._context = self.client.setup_kernel()
        self._context.__enter__()
        return self

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)

    def run(self, index, cell=None):
        """Run cell `index` (or a stand-in `cell` for it); raises nbclient's CellExecutionError."""
        original = self.nb.cells[index]
        cell = original if cell is None else cell
        if cell.cell_type == "code":
            try:
                self.client.execute_cell(cell, index)
            finally:
                self.nb.cells[index] = original  # nbclient puts the executed cell in the notebook

    def run_source(self, index, source):
        """Run other source in place of cell `index`; its outputs are not kept."""
        self.run(index, nbformat.v4.new_code_cell(source))


def code_cells(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def run_cells(kernel):
    for index in range(len(kernel.nb.cells)):
        try:
            kernel.run(index)
        except CellExecutionError as error:
            error.cell_index = index
            raise


def expect_solution(kernel, stubs):
    try:
        run_cells(kernel)
    except CellExecutionError as error:
        raise NotebookFailed(f"failed in cell {error.cell_index + 1}: {describe(error)}") from None
    return "ran to the end"


def expect_stub(kernel, stubs):
    try:
        run_cells(kernel)
    except CellExecutionError as error:
        if any(is_stub(error, message) for message in stubs):
            return f"stopped at a stub: {describe(error)}"
        raise NotebookFailed(f"failed before reaching a stub: {describe(error)}") from None
    raise NotebookFailed("ran to the end: the stub never raised")


def expect_final_assert(kernel, stubs):
    last = code_cells(kernel.nb)[-1]
    try:
        run_cells(kernel)
    except CellExecutionError as error:
        if error.cell_index == last and error.ename == "AssertionError":
            return f"the final check failed, as it must: {describe(error)}"
        raise NotebookFailed(f"failed in cell {error.cell_index + 1} (not the final check) with {describe(error)}") from None
    raise NotebookFailed("the final check passed on an untrained model: it cannot fail")


def probe_stub(kernel, index, message, source):
    """Run a cell with one region stubbed, then the cells after it, until something raises."""
    try:
        kernel.run_source(index, source)
        for later in range(index + 1, len(kernel.nb.cells)):
            cell = kernel.nb.cells[later]
            kernel.run(later, nbformat.v4.new_code_cell(cell.source) if cell.cell_type == "code" else cell)
    except CellExecutionError as error:
        if is_stub(error, message):
            return None
        return f"stopped with {describe(error)} instead"
    return "never raised: the notebook ran to the end"


def check_every_stub(kernel, variants):
    """The solution cell by cell; before each cell with regions, each region alone as a stub."""
    problems, solution = [], "ran to the end"
    for index, cell in enumerate(kernel.nb.cells):
        for message, source in variants.get(cell.get("id"), []):
            problem = probe_stub(kernel, index, message, source)
            if problem:
                problems.append(f"stub {message!r} (cell {index + 1}): {problem}")
        try:
            kernel.run(index)
        except CellExecutionError as error:
            solution = f"the solution failed in cell {index + 1}: {describe(error)}"
            break
    count = sum(len(v) for v in variants.values())
    if problems or solution != "ran to the end":
        raise NotebookFailed("; ".join([solution, *problems]), solution=solution, stub_problems=problems)
    return f"ran to the end; all {count} stubs stopped with their own message"


def load_task(source, entry, kind):
    """(notebook to run, stub messages, {cell id: exercise variants}) for one notebook and kind."""
    nb = render.render_source(source, "exercises" if kind == "exercises" else "solutions", entry)
    cells = render.read_source(source).cells
    variants = {}
    for index, (cell, rendered) in enumerate(zip(cells, nb.cells)):
        if cell.cell_type == "code" and render.hints(cell.source):
            variants[rendered.id] = render.exercise_variants(cell.source, f"{Path(source).name}, cell {index + 1}")
    stubs = [message for found in variants.values() for message, _ in found]
    return nb, stubs, variants


def run_one(source, entry, kind, smoke, out_dir, timeout, extra=None):
    """Execute one notebook of one kind (`extra` values on top); returns a result dict (ok, message, seconds, output)."""
    started, cpu_before = time.monotonic(), children_cpu()
    name = render.notebook_name(entry)
    output = out_dir / kind / name
    result = {"number": entry["number"], "slug": entry["slug"], "kind": kind, "output": str(output)}
    try:
        nb, stubs, variants = load_task(source, entry, kind)
        inject(nb, {**values_for(nb, kind, smoke), **(extra or {})})
        if kind in ("exercises", "check") and not stubs:
            raise NotebookFailed("the notebook has no solution region, so no stub")
        work = out_dir / "work" / kind / Path(name).stem
        work.mkdir(parents=True, exist_ok=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        if smoke or kind == "untrained":
            os.environ["DLAB_SMOKE"] = "1"  # the kernel inherits it
        try:
            with Kernel(nb, work, timeout) as kernel:
                if kind == "check":
                    message = check_every_stub(kernel, variants)
                    result.update(solution="ran to the end", stub_problems=[])
                else:
                    expect = {"solutions": expect_solution, "exercises": expect_stub, "untrained": expect_final_assert}
                    message = expect[kind](kernel, stubs)
        finally:
            nbformat.write(nb, output)
        result.update(ok=True, message=message)
    except NotebookFailed as exc:
        result.update(ok=False, message=str(exc), **exc.details)
    except render.RenderError as exc:
        result.update(ok=False, message=f"cannot render: {exc}")
    except Exception as exc:  # kernel died, timeout, bad notebook
        result.update(ok=False, message=f"{type(exc).__name__}: {exc}")
    result["seconds"] = round(time.monotonic() - started, 1)
    result["cpu_seconds"] = round(children_cpu() - cpu_before, 1)  # the kernel's, once it has exited
    return result


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def find_manifest(manifest=None):
    if manifest:
        return Path(manifest)
    for candidate in (REPO_MANIFEST, IMAGE_COURSE / "course.toml"):
        if candidate.exists():
            return candidate
    raise UsageError(f"no course found: neither {REPO_MANIFEST} nor {IMAGE_COURSE / 'course.toml'} exists")


def select(entries, numbers):
    known = [e["number"] for e in entries]
    unknown = [n for n in numbers if n not in known]
    if unknown:
        raise UsageError(f"no notebook numbered {', '.join(unknown)} (known: {' '.join(known)})")
    return [e for e in entries if not numbers or e["number"] in numbers]


def report(result):
    print(f"{'ok  ' if result['ok'] else 'FAIL'} {result['number']:>2} {result['slug']:<24} {result['kind']:<10}"
          f"{result['seconds']:6.1f} s {result['cpu_seconds']:6.1f} s CPU  {result['message']}", flush=True)


def run_course(numbers=(), kinds=("solutions",), smoke=False, out=None, manifest=None, timeout=900, jobs=1, extra=None):
    """Run every selected notebook in every kind, `jobs` kernels at a time; returns (out dir, results)."""
    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="dlab-run-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = find_manifest(manifest)
    entries = select(render.load_manifest(manifest).get("notebooks", []), list(numbers))
    package_root = str(Path(__file__).resolve().parents[1])  # kernels run elsewhere: make the import absolute
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    tasks = [(manifest.parent / entry["source"], entry, kind) for kind in kinds for entry in entries]
    results = []
    if jobs <= 1:
        for task in tasks:
            results.append(run_one(*task, smoke, out_dir, timeout, extra))
            report(results[-1])
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_one, *task, smoke, out_dir, timeout, extra) for task in tasks]
            for future in concurrent.futures.as_completed(futures):
                report(future.result())
            results = [f.result() for f in futures]
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    return out_dir, results


def parse_setting(text):
    """NAME=VALUE from --set: (NAME, the JSON value, or the string when it is not JSON)."""
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise UsageError(f"--set {text}: expected NAME=VALUE, e.g. --set EPOCHS=3")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dlab_course.run", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__[__doc__.index("Kinds:"):])
    parser.add_argument("numbers", nargs="*", help="notebook numbers (default: all, in course order)")
    parser.add_argument("--smoke", action="store_true", help="inject each notebook's smoke values")
    parser.add_argument("--kind", choices=KINDS, action="append", help="what to run (repeatable; default: solutions)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once, one kernel each (default: %(default)s)")
    parser.add_argument("--out", help="folder for executed notebooks and results.json (default: a new temp folder)")
    parser.add_argument("--manifest", help="the course.toml to run (default: the repository's, else the image's)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default: %(default)s)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="one more parameter value (a JSON value, else a string), set after the others")
    args = parser.parse_args(argv)
    kinds = args.kind or ["solutions"]
    try:
        extra = dict(parse_setting(text) for text in args.set)
        out_dir, results = run_course(args.numbers, kinds, args.smoke, args.out, args.manifest, args.timeout, args.jobs, extra)
    except (UsageError, render.RenderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("fix: name notebooks from the course's course.toml, pass --manifest pointing at it, and --set as NAME=VALUE",
              file=sys.stderr)
        return 2
    failed = [r for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed ({out_dir})")
    if failed:
        print(f"error: {len(failed)} run(s) failed: {' '.join(r['number'] + ':' + r['kind'] for r in failed)}", file=sys.stderr)
        print(f"fix: open the executed notebooks under {out_dir} to see where they stopped", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
