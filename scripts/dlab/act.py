"""Carry out a launch plan with the docker CLI: run, wait until healthy, show the URL."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import time
import urllib.request

from . import engine
from .errors import DlabError, UserError

CONTAINER_PORT = 8888
WORK_TARGET = "/home/jovyan/work"


class GpuRefused(Exception):
    """The engine would not give the container GPUs ("could not select device driver")."""


class PortTaken(Exception):
    """Someone took the port between the probe and `docker run`."""


def say(*lines):
    for line in lines:
        print(f"dlab: {line}", flush=True)


def gpu_flag(gpus):
    # `--gpus 0,2` would be read as two options; the quotes keep the device list together.
    return gpus if gpus == "all" else f'"device={gpus}"'


def mount_arg(source, target):
    spec = f"source={source}"
    if "," in spec or '"' in spec:
        spec = '"' + spec.replace('"', '""') + '"'
    return f"type=bind,{spec},target={target}"


def run_args(plan, detach=True, command=(), extra_env=(), labels=None, remove=False):
    """The `docker run` arguments for a plan (the token goes by environment, not argv)."""
    args = ["run"]
    if detach:
        args.append("-d")
    if remove:
        args.append("--rm")
    if plan.name:
        args += ["--name", plan.name]
    for key, value in (plan.labels if labels is None else labels).items():
        args += ["--label", f"{key}={value}"]
    if plan.user:
        # gid 100 owns the image's Python environment, so `pip install` works for the caller too.
        args += ["--user", plan.user, "--group-add", "100"]
    for key in [*plan.env, *extra_env]:
        args += ["-e", key]
    if plan.port:
        args += ["-p", f"{plan.host_ip}:{plan.port}:{CONTAINER_PORT}"]
    if plan.work:
        args += ["--mount", mount_arg(plan.work, WORK_TARGET)]
    if plan.gpus != "none":
        args += ["--gpus", gpu_flag(plan.gpus)]
    return [*args, plan.image, *command]


def run_env(plan, extra_env=None):
    return {**os.environ, **plan.env, **(extra_env or {})}


def prepare(plan, quiet=False):
    """Work folder, stale container, image: what must be there before `docker run`."""
    if plan.create_work:
        os.mkdir(plan.work)
        say(f"created the work folder {plan.work}")
    if plan.replace:
        engine.run(["rm", "-f", plan.replace])
    if plan.build:
        build(plan.build, quiet)


def build(flavor, quiet=False):
    try:
        from . import build as builder
    except ImportError:
        raise DlabError(f"the {flavor} image is missing and this checkout cannot build it",
                        f"build it with `make image FLAVOR={flavor}`, or load a bundle with `dlab load FILE`")
    say(f"the {flavor} image is missing; building it (the first build takes a while)")
    return builder.build_image(flavor, quiet=quiet)


def start(plan):
    """`docker run -d`; raise GpuRefused / PortTaken for the caller to plan again."""
    cli = engine.docker_cli() or ""
    result = subprocess.run([cli, *run_args(plan)], env=run_env(plan), capture_output=True, text=True)
    if result.returncode == 0:
        return result.stdout.strip()
    message = result.stderr or ""
    remove_failed(plan.name)
    if engine.GPU_REFUSAL in message:
        raise GpuRefused(engine.first_line(message.replace("docker: Error response from daemon: ", "")))
    if "port is already allocated" in message or "address already in use" in message:
        raise PortTaken(plan.port)
    if "No such image" in message or "pull access denied" in message:
        raise UserError(f"image {plan.image} is not in the Docker engine", "build it with `dlab build` or load it with `dlab load FILE`")
    raise engine.engine_error(message, ["run"])


def gpus_refused(gpus, images):
    """Before a long build: does the engine give GPUs at all? The refusal, or '' (also when untestable).

    The engine refuses GPUs before the container's program starts, so any local image will do.
    """
    if gpus == "none":
        return ""
    images = sorted(images) or engine.run(["image", "ls", "-q"], check=False).stdout.split()[:1]
    if not images:
        return ""
    probe = ["run", "--rm", "--network", "none", "--label", "org.dlab.probe=1", "--entrypoint", "true",
             "--gpus", gpu_flag(gpus), images[0]]
    result = engine.run(probe, check=False, timeout=120)
    if engine.GPU_REFUSAL in result.stderr:
        return engine.first_line(result.stderr.replace("docker: Error response from daemon: ", ""))
    return ""


def remove_failed(name):
    """A `docker run` that fails at start leaves a created container: remove it, if it is ours."""
    found = engine.find_instance(name) if name else None
    if found is not None and found.is_dlab and found.state in ("created", "exited", "dead"):
        engine.run(["rm", "-f", found.id], check=False)


def api_answers(port, token, timeout=1.0):
    url = f"http://127.0.0.1:{port}/api/status?token={token}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status == 200
    except (OSError, http.client.HTTPException):
        return False


def wait_ready(plan, timeout=180.0):
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


def stopped_error(name):
    tail = engine.run(["logs", "--tail", "20", name], check=False)
    for line in (tail.stdout + tail.stderr).splitlines():
        print(f"  | {line}", file=sys.stderr)
    return DlabError(f"the lab container {name} stopped while starting", f"see `dlab logs {name}` (the container is kept); remove it with `dlab down {name}`")


def open_browser(url, wsl=False):
    """Best effort: a browser that will not open is no failure."""
    try:
        if wsl:
            opener = shutil.which("wslview") or shutil.which("explorer.exe")
            if opener:
                subprocess.Popen([opener, url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return
        import webbrowser

        webbrowser.open(url)
    except Exception:  # noqa: BLE001 - the URL is printed anyway
        pass
