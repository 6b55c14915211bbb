"""Carry out a launch plan with the engine: prepare, run, wait until JupyterLab answers, open it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from . import engine, ui
from .defaults import STARTUP_SECONDS, Label
from .errors import DlabError
from .plan import LaunchPlan
from .runspec import RunSpec


def prepare(plan: LaunchPlan) -> None:
    """Work folder, stale container, image: what must be there before `docker run`."""
    if plan.create_work:
        os.mkdir(plan.work)
        ui.say(f"created the work folder {plan.work}")
    if plan.replace:
        engine.run(["rm", "-f", plan.replace])
    if plan.build:
        from .build import build_image

        ui.say(f"the {plan.build} image is missing; building it (the first build takes a while)")
        build_image(plan.build)


def start(spec: RunSpec) -> str:
    """`docker run -d`; the container id, or the engine's refusal (GpuRefused, PortTaken, ...)."""
    result = engine.run(spec.argv(), env=spec.env, check=False)
    if result.returncode == 0:
        return result.stdout.strip()
    remove_failed(spec.name)
    raise engine.error(result.stderr, ["run"], subject=spec.image)


def gpus_refused(gpus: str, images: dict[str, engine.Image]) -> str:
    """Before a long build: does the engine give GPUs at all? The refusal, or '' (also when untestable).

    The engine refuses GPUs before the container's program starts, so any local image will do.
    """
    if gpus == "none":
        return ""
    refs = sorted(images) or engine.run(["image", "ls", "-q"], check=False).stdout.split()[:1]
    if not refs:
        return ""
    probe = RunSpec(image=refs[0], detach=False, remove=True, network="none", entrypoint="true",
                    labels={Label.PROBE: "1"}, gpus=gpus)
    failure = engine.classify(engine.run(probe.argv(), check=False, timeout=120).stderr)
    return failure.words if failure.kind == "gpu-refused" else ""


def remove_failed(name: str) -> None:
    """A `docker run` that fails at start leaves a created container: remove it, if it is ours."""
    found = engine.find_instance(name) if name else None
    if found is not None and found.is_dlab and found.state in ("created", "exited", "dead"):
        engine.run(["rm", "-f", found.id], check=False)


def api_answers(port: int, token: str) -> bool:
    from .probe import http_get

    return http_get(f"127.0.0.1:{port}", f"/api/status?token={token}", timeout=1.0)[0] == 200


def wait_ready(plan: LaunchPlan, timeout: float = STARTUP_SECONDS) -> None:
    """Until the Jupyter API answers (or docker calls the container healthy)."""
    deadline = time.monotonic() + timeout
    next_look = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if api_answers(plan.port, plan.token):
            return
        if time.monotonic() >= next_look:
            next_look = time.monotonic() + 1.0
            found = engine.find_instance(plan.name)
            if found is None or found.state not in ("running", "created", "restarting"):
                raise stopped_error(plan.name)
            if found.health == "healthy":
                return
        time.sleep(0.1)
    raise DlabError(f"JupyterLab in {plan.name} did not answer within {int(timeout)} s",
                    f"see `dlab logs {plan.name}`; stop it with `dlab down {plan.name}`")


def stopped_error(name: str) -> DlabError:
    tail = engine.run(["logs", "--tail", "20", name], check=False)
    for line in (tail.stdout + tail.stderr).splitlines():
        print(f"  | {line}", file=sys.stderr)
    return DlabError(f"the lab container {name} stopped while starting",
                     f"see `dlab logs {name}` (the container is kept); remove it with `dlab down {name}`")


def open_browser(url: str) -> None:
    """Best effort: a browser that will not open is no failure."""
    from .probe import is_wsl

    try:
        if is_wsl():
            opener = shutil.which("wslview") or shutil.which("explorer.exe")
            if opener:
                subprocess.Popen([opener, url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return
        import webbrowser

        webbrowser.open(url)
    except Exception:
        pass
