"""`dlab build`'s progress: BuildKit's plain log (as recorded from a real build) read as steps and times."""

import io

from dlab.build import Steps

# A real build's plain progress, cut short: cached steps, steps that ran, the export, one that failed.
LOG = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#5 [os 2/2] RUN apt-get update  && apt-get install -y --no-install-recommends       python3
#5 CACHED
#13 [lab  2/10] COPY lab/course.toml /opt/dlab/course/course.toml
#13 CACHED
#11 [packages 6/6] RUN --mount=type=secret,id=ca,required=false     --mount=type=cache,target=/root/.cache/uv
#11 5.267 Using Python 3.11.2 environment at: /opt/venv
#19 [lab  8/10] RUN python -m dlab_course.render --manifest /opt/dlab/course/course.toml
#11 [packages 6/6] RUN --mount=type=secret,id=ca,required=false     --mount=type=cache,target=/root/.cache/uv
#11 77.92 Installed 175 packages in 38.97s
#11 DONE 230.9s
#19 0.8 error: notebook 03 has no solution cell
#19 ERROR: process "/bin/sh -c python -m dlab_course.render" did not complete successfully: exit code: 1
#22 exporting to image
#22 DONE 10.1s
"""


def read(log):
    out = io.StringIO()
    with Steps(stream=out) as steps:
        for line in log.splitlines(keepends=True):
            steps(line)
    return out.getvalue().splitlines(), steps


def test_build_shows_each_step_with_its_time():
    """Each step that ran gets one line with its time; cached steps are counted, not listed."""
    lines, _ = read(LOG)
    assert lines == [
        "  [packages 6/6] RUN --mount=type=secret,id=ca,required=false --mount=type=cache,target=/ro…: 3 min 50 s",
        "  [lab 8/10] RUN python -m dlab_course.render --manifest /opt/dlab/course/course.toml: FAILED",
        "  exporting to image: 10 s",
        "  2 steps cached",
    ]


def test_failed_build_shows_the_failing_steps_own_output():
    """A failed build shows what the failing step printed, not the whole log."""
    _, steps = read(LOG)
    assert steps.failure_output().splitlines() == [
        "#19 [lab  8/10] RUN python -m dlab_course.render --manifest /opt/dlab/course/course.toml",
        "#19 0.8 error: notebook 03 has no solution cell",
        '#19 ERROR: process "/bin/sh -c python -m dlab_course.render" did not complete successfully: exit code: 1',
    ]
