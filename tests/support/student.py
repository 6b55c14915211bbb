"""Another user on this host: uid 1234 in the docker group, running the launcher with Debian's python3."""

import os

from tests.support.runner import dlab

STUDENT_UID = 1234


def as_student(*args, home, env=None, timeout=900):
    """Run `python3 scripts/dlab ...` as the student, with a bare environment and home as HOME."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    if os.environ.get("DLAB_REPOSITORY"):  # the same images as the tests' own `dlab`
        base["DLAB_REPOSITORY"] = os.environ["DLAB_REPOSITORY"]
    return dlab(*args, env={**base, **(env or {})}, timeout=timeout, user=STUDENT_UID, python="/usr/bin/python3",
                clean_env=True)


def student_dir(path):
    """A folder the student owns (made when absent)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, STUDENT_UID, STUDENT_UID)
    return path
