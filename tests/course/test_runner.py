"""The course runner (python -m dlab_course.run) on small made-up notebooks, on the host."""

import json
import os
import subprocess
import sys
import textwrap

from tests.support.paths import ROOT


def write_course(folder, sources):
    """A course.toml and one jupytext source per {number: text}; returns the manifest's path."""
    (folder / "notebooks").mkdir(parents=True)
    lines = []
    for number, text in sources.items():
        (folder / "notebooks" / f"{number}-n.py").write_text(textwrap.dedent(text))
        lines += ["[[notebooks]]", f'number = "{number}"', 'slug = "n"', 'title = "t"', "day = 1", f'source = "notebooks/{number}-n.py"', ""]
    (folder / "course.toml").write_text("\n".join(lines))
    return folder / "course.toml"


def runner(tmp_path, sources, *args):
    """Run the runner on a made-up course; returns (completed process, {(number, kind): result})."""
    manifest = write_course(tmp_path / "course", sources)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "dlab_course.run", "--manifest", str(manifest), "--out", str(out), *args],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT / "lab")})
    records = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else []
    return result, {(r["number"], r["kind"]): r for r in records}


GOOD = '''\
    # %% tags=["parameters"] smoke={"N": 2} untrained={"N": 0}
    N = 100

    # %%
    ### BEGIN SOLUTION  add up the first N numbers
    total = sum(range(N))
    ### END SOLUTION

    # %%
    assert total > 0, "nothing was added"
    '''
CRASH_EARLY = GOOD.replace("# %%\n    ### BEGIN", "# %%\n    1 / 0\n\n    # %%\n    ### BEGIN")
TWO_IN_ONE_CELL = '''\
    # %% tags=["parameters"] smoke={}
    N = 3

    # %%
    ### BEGIN SOLUTION  first part
    first = N
    ### END SOLUTION
    ### BEGIN SOLUTION  second part, which needs the first
    second = first + 1
    ### END SOLUTION

    # %%
    assert second == 4
    '''
CALLED_LATER = '''\
    # %% tags=["parameters"] smoke={}
    N = 3

    # %%
    def double(x):
        ### BEGIN SOLUTION  twice x
        return 2 * x
        ### END SOLUTION

    # %%
    print("between")

    # %%
    assert double(N) == 6
    '''
NEVER_CALLED = CALLED_LATER.replace("assert double(N) == 6", "assert N == 3")
IN_TF_FUNCTION = '''\
    # %% tags=["parameters"] smoke={}
    N = 3

    # %%
    import tensorflow as tf

    @tf.function
    def square(x):
        ### BEGIN SOLUTION  the square of x
        return x * x
        ### END SOLUTION

    assert float(square(tf.constant(3.0))) == 9.0
    '''


def test_runner_reports_each_notebook_and_fails_on_an_error(tmp_path):
    """The runner injects smoke values, reports one line per notebook, and exits 1 when one fails."""
    result, records = runner(tmp_path, {"01": GOOD, "02": CRASH_EARLY}, "--smoke")
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith(("ok", "FAIL"))]
    assert lines[0].startswith("ok   01") and lines[1].startswith("FAIL 02") and "ZeroDivisionError" in lines[1]
    assert "N = 2" in (tmp_path / "out" / "solutions" / "01-n.ipynb").read_text()
    assert records[("01", "solutions")]["ok"] and not records[("02", "solutions")]["ok"]
    assert result.stderr.splitlines()[-2].startswith("error: ") and result.stderr.splitlines()[-1].startswith("fix: ")


def test_runner_accepts_an_exercise_only_when_it_stops_at_a_stub(tmp_path):
    """An exercise passes when it stops at its stub, and fails when it crashes before reaching it."""
    result, records = runner(tmp_path, {"01": GOOD, "02": CRASH_EARLY}, "--smoke", "--kind", "exercises")
    assert records[("01", "exercises")]["message"] == "stopped at a stub: NotImplementedError: Exercise: add up the first N numbers"
    assert not records[("02", "exercises")]["ok"] and "failed before reaching a stub" in records[("02", "exercises")]["message"]


def test_runner_refuses_an_unknown_notebook(tmp_path):
    """Asking for a notebook the manifest does not list exits 2 with error and fix lines."""
    result, _ = runner(tmp_path, {"01": GOOD}, "42")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no notebook numbered 42") and "\nfix: " in result.stderr


def test_check_stops_at_each_stub_with_the_others_solved(tmp_path):
    """--kind check: two regions in one cell, and a stub that fires two cells later, each stop at their own message."""
    result, records = runner(tmp_path, {"01": TWO_IN_ONE_CELL, "02": CALLED_LATER}, "--smoke", "--kind", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert records[("01", "check")]["message"] == "ran to the end; all 2 stubs stopped with their own message"
    assert records[("02", "check")]["message"] == "ran to the end; all 1 stubs stopped with their own message"
    assert records[("02", "check")]["solution"] == "ran to the end"


def test_check_fails_a_stub_that_never_raises_and_a_broken_solution(tmp_path):
    """--kind check fails a region whose stub nothing calls, and a solution that crashes, saying which."""
    result, records = runner(tmp_path, {"01": NEVER_CALLED, "02": CRASH_EARLY}, "--smoke", "--kind", "check")
    assert result.returncode == 1
    never = records[("01", "check")]
    assert not never["ok"] and never["solution"] == "ran to the end"
    assert never["stub_problems"] == ["stub 'Exercise: twice x' (cell 2): never raised: the notebook ran to the end"]
    crash = records[("02", "check")]
    assert crash["solution"].startswith("the solution failed in cell 3: ZeroDivisionError")


def test_check_knows_a_stub_raised_inside_tf_function(tmp_path):
    """A stub inside a tf.function comes back with TensorFlow's "in user code:" prefix and still counts as that stub."""
    result, records = runner(tmp_path, {"01": IN_TF_FUNCTION}, "--kind", "check", "--kind", "exercises")
    assert records[("01", "check")]["ok"], records[("01", "check")]["message"]
    assert records[("01", "exercises")]["message"] == "stopped at a stub: NotImplementedError: Exercise: the square of x"


def test_untrained_passes_only_when_the_final_check_fails(tmp_path):
    """--kind untrained: ok when the last cell fails an assert; not when it passes, nor when an earlier cell fails."""
    passes = GOOD.replace('untrained={"N": 0}', 'untrained={"N": 5}')
    no_values = GOOD.replace(' untrained={"N": 0}', "")
    result, records = runner(tmp_path, {"01": GOOD, "02": passes, "03": CRASH_EARLY, "04": no_values}, "--kind", "untrained")
    assert result.returncode == 1
    assert records[("01", "untrained")]["message"] == "the final check failed, as it must: AssertionError: nothing was added"
    assert records[("02", "untrained")]["message"] == "the final check passed on an untrained model: it cannot fail"
    assert records[("03", "untrained")]["message"] == "failed in cell 3 (not the final check) with ZeroDivisionError: division by zero"
    assert "no parameters cell with untrained values" in records[("04", "untrained")]["message"]


def test_jobs_run_notebooks_at_the_same_time(tmp_path):
    """--jobs 2 runs two notebooks at once: each waits for the other's mark, which one at a time could never give."""
    marks = tmp_path / "marks"
    marks.mkdir()
    wait_for = '''\
        # %% tags=["parameters"] smoke={{}}
        N = 1

        # %%
        import pathlib, time
        marks = pathlib.Path({marks!r})
        (marks / "{me}").touch()
        deadline = time.monotonic() + 60
        while not (marks / "{other}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (marks / "{other}").exists(), "the other notebook never ran alongside"
        '''
    sources = {"01": wait_for.format(marks=str(marks), me="a", other="b"),
               "02": wait_for.format(marks=str(marks), me="b", other="a")}
    result, records = runner(tmp_path, sources, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(records) == [("01", "solutions"), ("02", "solutions")]
