"""TrackedContainer: every container a test runs goes through it, is checked as it ends, and is removed."""

import collections
import secrets
import shlex

import docker.errors
import requests

from dlab.defaults import Label
from tests.support.logs import assert_clean, unexpected_lines
from tests.support.wait import until

Exec = collections.namedtuple("Exec", "exit_code output")
# How a detached lab may have ended before the test's end: by itself, stopped (SIGTERM through tini) or
# killed by the test (SIGKILL); a kill by the kernel's OOM killer is reported all the same.
CLEAN_ENDS = (0, 137, 143)


def tail(text, chars=3000):
    return text[-chars:]


class TrackedContainer:
    """Starts containers of one image, and watches those that a program starts under names it hands out.

    A container that runs to its end fails the test on a wrong exit code or an unexpected WARNING/ERROR
    line (run, finish); so does a command run inside one (exec), which is also killed after its timeout.
    close() removes every container and fails on an unexpected line in the log of those not checked yet.
    """

    def __init__(self, client, image=None, allowed=()):
        self.client = client
        self.image = image
        self.allowed = tuple(allowed)  # lines every container here may log
        self.ids = []  # every container started here, removed at close()
        self.unchecked = {}  # id or name -> lines its log may have, checked at close()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        self.close(check=error is None)

    def start(self, image=None, allowed=(), **kwargs):
        """A detached container (docker SDK `containers.run` keywords); its log is checked at close()."""
        kwargs.setdefault("detach", True)
        if kwargs.get("command"):  # no Jupyter to ask: no health probes every few seconds
            kwargs.setdefault("healthcheck", {"test": ["NONE"]})
        container = self.client.containers.run(image or self.image, **kwargs)
        self.ids.append(container.id)
        self.unchecked[container.id] = allowed
        return container

    def finish(self, container, timeout=300, allowed=(), expect_exit=0):
        """Wait for container to exit; its log. Fails on another exit code or, after 0, an unexpected line."""
        try:
            status = container.wait(timeout=timeout)["StatusCode"]
        except requests.exceptions.RequestException:
            logs = tail(container.logs().decode(errors="replace"))
            raise AssertionError(f"still running after {timeout} s:\n{logs}") from None
        logs = container.logs().decode(errors="replace")
        self.unchecked.pop(container.id, None)
        assert status == expect_exit, f"exit {status}, expected {expect_exit}:\n{tail(logs, 6000)}"
        if expect_exit == 0:
            assert_clean(logs, (*self.allowed, *allowed))
        return logs

    def run(self, command, timeout=300, allowed=(), expect_exit=0, **kwargs):
        """Run command in a fresh container to its end, checked as finish() does, then removed; its log."""
        container = self.start(command=command, **kwargs)
        logs = self.finish(container, timeout, allowed, expect_exit)
        container.remove(force=True)
        return logs

    def exec(self, container, command, timeout=300, allowed=(), expect_exit=0, **kwargs):
        """Run command inside a running container (or one named so), killed after timeout s: Exec(exit_code, output).

        Fails on another exit code than expect_exit (None: any) or, after 0, an unexpected line.
        """
        if isinstance(container, str):
            (container,) = self.find(container)
        # docker-py reads an exec's output with no deadline: GNU timeout inside the container sets one.
        code, output = container.exec_run(["timeout", "--kill-after=10", str(timeout), *command], **kwargs)
        text = output.decode(errors="replace")
        shown = shlex.join(command)[:200]
        assert code not in (124, 137), f"`{shown}` did not end within {timeout} s:\n{tail(text)}"
        if expect_exit is not None:
            assert code == expect_exit, f"`{shown}`: exit {code}, expected {expect_exit}:\n{tail(text)}"
            if code == 0:
                assert_clean(text, (*self.allowed, *allowed), what=f"the output of `{shown}`")
        return Exec(code, text)

    def wait_healthy(self, container, timeout=60):
        """Wait for the image's HEALTHCHECK to report healthy; fails with the log if it does not."""
        def healthy():
            container.reload()
            assert container.status != "exited", f"exited:\n{logs()}"
            return container.attrs["State"].get("Health", {}).get("Status") == "healthy"

        def logs():
            return tail(container.logs().decode(errors="replace"))
        until(healthy, timeout, "healthy", interval=0.5, explain=logs)

    def name(self, allowed=()):
        """A fresh container name for a program to start (`dlab up --name`); watched like a started one."""
        name = f"dlabtest-{secrets.token_hex(4)}"
        self.adopt(name, allowed)
        return name

    def adopt(self, name, allowed=()):
        """Watch the containers of this name (dlab's lab name, or the engine's name from Compose and the like):
        checked and removed at close(), with the home volumes dlab made for them."""
        self.unchecked[name] = allowed

    def find(self, key):
        """The containers a key names: an engine ID or name, or the labs `dlab up --name key` started (any owner)."""
        found = self.client.containers.list(all=True, filters={"label": f"{Label.INSTANCE}={key}"})
        try:
            found.append(self.client.containers.get(key))
        except docker.errors.NotFound:
            pass
        return list({c.id: c for c in found}.values())

    def close(self, check=True):
        """Remove every container; then fail on a bad end or an unexpected line of those not checked yet."""
        problems = []
        for key, allowed in self.unchecked.items():
            for container in self.find(key):  # none: removed by the test (`dlab down`) or never started
                problems += self.ending(container, (*self.allowed, *allowed))
                container.remove(force=True)
            for volume in self.client.volumes.list(filters={"label": f"{Label.INSTANCE}={key}"}):
                volume.remove(force=True)
        for key in self.ids:
            try:
                self.client.containers.get(key).remove(force=True)
            except docker.errors.NotFound:
                pass
        self.ids, self.unchecked = [], {}
        assert not check or not problems, "unexpected in the containers' logs:\n" + "\n".join(problems)

    @staticmethod
    def ending(container, allowed):
        """What is wrong with how container ended or what it logged: one line each."""
        problems = []
        state = container.attrs["State"]
        if state["Status"] == "exited" and (state["ExitCode"] not in CLEAN_ENDS or state.get("OOMKilled")):
            problems.append(f"{container.name} exited with {state['ExitCode']}" + " (out of memory)" * bool(state.get("OOMKilled")))
        bad = unexpected_lines(container.logs().decode(errors="replace"), allowed)
        return problems + [f"{container.name}: {line}" for line in bad]
