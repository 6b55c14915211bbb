"""Shared test helpers: paths, image names, free ports, log checks, and a tracked container."""

import os
import re
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "lab"))

VERSION = (ROOT / "VERSION").read_text().strip()

# Lines a healthy container may log with WARNING/ERROR in them.
KNOWN_NOISE = [
    r"WARNING: All log messages before absl::InitializeLog",
    r"oneDNN custom operations are on",
    r"Could not find cuda drivers",
    r"cuda_(executor|diagnostics|driver|dnn|blas|fft)",
    r"failed call to cuInit",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"TF-TRT Warning",
    r"This TensorFlow binary is optimized to use available CPU instructions",
]


def image_ref(flavor):
    return os.environ.get(f"DLAB_IMAGE_{flavor.upper()}", f"{os.environ.get('DLAB_REPOSITORY') or 'dlab'}:{VERSION}-{flavor}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unexpected_lines(logs, allowed=()):
    patterns = [re.compile(p) for p in (*KNOWN_NOISE, *allowed)]
    return [
        line for line in logs.splitlines()
        if re.search(r"\b(WARNING|ERROR)\b|\[(W|E) ", line) and not any(p.search(line) for p in patterns)
    ]


class TrackedContainer:
    """Starts containers from one image, removes them all at the end, checks their logs."""

    def __init__(self, client, image):
        self.client = client
        self.image = image
        self.containers = []

    def start(self, **kwargs):
        """Start a detached container (docker SDK `containers.run` keywords)."""
        kwargs.setdefault("detach", True)
        if kwargs.get("command"):  # no Jupyter to ask: no health probes every few seconds
            kwargs.setdefault("healthcheck", {"test": ["NONE"]})
        container = self.client.containers.run(self.image, **kwargs)
        self.containers.append(container)
        return container

    def run(self, command, timeout=300, allowed=(), expect_exit=0, **kwargs):
        """Run a command to completion; fail on a wrong exit code or an unexpected WARNING/ERROR line."""
        container = self.start(command=command, **kwargs)
        result = container.wait(timeout=timeout)
        logs = container.logs().decode(errors="replace")
        assert result["StatusCode"] == expect_exit, f"exit {result['StatusCode']}:\n{logs}"
        if expect_exit == 0:
            bad = unexpected_lines(logs, allowed)
            assert not bad, "unexpected lines in the log:\n" + "\n".join(bad)
        return logs

    def wait_healthy(self, container, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            container.reload()
            health = container.attrs["State"].get("Health", {}).get("Status")
            if health == "healthy":
                return
            if container.status == "exited":
                break
            time.sleep(0.5)
        raise AssertionError(f"not healthy ({health}):\n{container.logs().decode(errors='replace')}")

    def remove_all(self):
        for container in self.containers:
            try:
                container.remove(force=True)
            except Exception:  # already gone
                pass
