"""The commands a user types, `python3 scripts/dlab ...` and `docker ...`, each with a timeout."""

import os
import re
import subprocess
import sys

from tests.support.paths import LAUNCHER
from tests.support.proxy import network_env

# The URL `dlab up` prints; groups: port, token.
LAB_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-zA-Z_-]+)")


def docker_gid():
    """The group that may use the engine's socket."""
    import grp

    try:
        return grp.getgrnam("docker").gr_gid
    except KeyError:
        return os.stat("/var/run/docker.sock").st_gid


def dlab(*args, env=None, launcher=LAUNCHER, timeout=900, user=None, python=sys.executable, clean_env=False,
         network=False, **kwargs):
    """Run the launcher as a user would: this checkout's, or one unpacked from a bundle (launcher=).

    user: as that uid (and gid), in the docker group; clean_env: with env only, not this process's environment;
    network: with this machine's proxy variables, not the suite's tripwire (a build that downloads wheels).
    """
    command = [python, str(launcher), *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", f"--groups={docker_gid()}", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**({} if clean_env else network_env() if network else os.environ), **(env or {})}, **kwargs)


def docker(*args, check=True, timeout=900, text=True):
    """The docker CLI (tags, inspect, networks); with check, a non-zero exit fails with its stderr (text=False: bytes)."""
    result = subprocess.run(["docker", *args], capture_output=True, text=text, timeout=timeout)
    assert not check or result.returncode == 0, f"docker {' '.join(args)}: exit {result.returncode}\n{result.stderr}"
    return result


def lab_container(name, owner=None):
    """The engine's record of the lab `dlab up --name name` started for owner (the caller by default)."""
    from dlab import engine, places

    person = places.caller()
    return engine.find_lab(name, owner or person.owner, person.container(name))
