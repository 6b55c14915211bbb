"""Carry out a launch plan with the engine: prepare, run, wait until JupyterLab answers, open it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from . import engine, isolation, places, tls, ui
from .defaults import STARTUP_SECONDS, Label
from .errors import DlabError
from .images import FLAVORS
from .plan import LaunchPlan
from .runspec import RunSpec


def prepare(plan: LaunchPlan) -> None:
    """Work folder, network, stale container, image, certificate: what must be there before `docker run`."""
    if plan.create_work:
        places.private_folder(plan.work, plan.owner_ids)
        ui.say(f"created the work folder {plan.work} (only you can open it)")
    if plan.create_network:
        made = engine.run(isolation.network_create_args(plan.network), check=False)
        if made.returncode != 0 and "already exists" not in made.stderr:  # another `dlab up` made it meanwhile
            raise engine.error(made.stderr, ["network", "create"], subject=plan.network)
    if plan.replace:
        engine.run(["rm", "-f", plan.replace])
    if plan.build:
        from .build import build_image

        minutes = FLAVORS[plan.build].build_minutes
        ui.say(f"the {plan.build} image is not here yet: building it, once (about {minutes} min, longer on a slow "
               "network: it downloads TensorFlow and the course's packages); later starts take seconds")
        build_image(plan.build)
    if plan.tls:
        prepare_tls(plan)


def prepare_tls(plan: LaunchPlan) -> None:
    """The lab's certificate in its own folder: the user's, copied, or a self-signed one made once and kept."""
    import shutil
    import socket

    folder = plan.tls_folder
    places.private_folder(folder, plan.owner_ids)
    if plan.tls_source:
        for source, name in zip(plan.tls_source, (tls.CERT, tls.KEY)):
            with open(source, encoding="utf-8", errors="replace") as pem:
                places.write_private(os.path.join(folder, name), pem.read(), plan.owner_ids)
        return
    if tls.present(folder):
        return
    ui.say(f"making a self-signed certificate for {socket.gethostname()} (kept in {folder})")
    result = engine.run(tls.self_signed(plan.spec(), folder, socket.gethostname()).argv(), check=False, timeout=120)
    if result.returncode != 0 or not tls.present(folder):
        shutil.rmtree(folder, ignore_errors=True)
        raise DlabError(f"could not make a certificate: {engine.first_line(result.stderr)}",
                        "pass your own with --certfile and --keyfile")
    os.chmod(os.path.join(folder, tls.KEY), 0o600)


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
                    labels={Label.PROBE: "1"}, gpus=gpus, security=isolation.SECURITY, cap_drop=("ALL",))
    failure = engine.classify(engine.run(probe.argv(), check=False, timeout=120).stderr)
    return failure.words if failure.kind == "gpu-refused" else ""


def remove_failed(name: str) -> None:
    """A `docker run` that fails at start leaves a created container: remove it, if it is ours."""
    found = engine.find_instance(name) if name else None
    if found is not None and found.is_dlab and found.state in ("created", "exited", "dead"):
        engine.run(["rm", "-f", found.id], check=False)


def api_answers(port: int, token: str, tls: bool = False) -> bool:
    from .probe import http_get

    return http_get(f"127.0.0.1:{port}", f"/api/status?token={token}", timeout=1.0, tls=tls)[0] == 200


def wait_ready(plan: LaunchPlan, timeout: float = STARTUP_SECONDS) -> None:
    """Until the Jupyter API answers (or docker calls the container healthy)."""
    deadline = time.monotonic() + timeout
    next_look = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if api_answers(plan.port, plan.token, plan.tls):
            return
        if time.monotonic() >= next_look:
            next_look = time.monotonic() + 1.0
            found = engine.find_instance(plan.container)
            if found is None or found.state not in ("running", "created", "restarting"):
                raise stopped_error(plan.container, plan.name)
            if found.health == "healthy":
                return
        time.sleep(0.02)  # a refused connection costs nothing; the URL shows as soon as it answers
    raise DlabError(f"JupyterLab in {plan.name} did not answer within {int(timeout)} s",
                    f"see `dlab logs {plan.name}`; stop it with `dlab down {plan.name}`")


def stopped_error(container: str, name: str) -> DlabError:
    tail = engine.run(["logs", "--tail", "20", container], check=False)
    for line in (tail.stdout + tail.stderr).splitlines():
        print(f"  | {line}", file=sys.stderr)
    return DlabError(f"the lab container {name} stopped while starting",
                     f"see `dlab logs {name}` (the container is kept); remove it with `dlab down {name}`")


def redirect_page(url: str) -> str:
    """A page that sends the browser on to url: the token stays in this file, off every command line."""
    import html

    shown = html.escape(url)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={shown}">'
            f"<title>dlab</title></head>\n<body><p>Opening <a href=\"{shown}\">JupyterLab</a>…</p></body></html>\n")


def open_browser(plan: LaunchPlan) -> None:
    """Best effort: a browser that will not open is no failure. It gets a private file (0600) that
    redirects to the URL, as Jupyter's own open_browser does: the token never goes on a command line."""
    from pathlib import Path

    from .probe import is_wsl

    try:
        page = os.path.join(plan.state, "open.html")
        places.private_folder(plan.state, plan.owner_ids)
        places.write_private(page, redirect_page(plan.url), plan.owner_ids)
        if is_wsl():
            opener = shutil.which("wslview") or shutil.which("explorer.exe")
            if opener:
                subprocess.Popen([opener, page], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return
        import webbrowser

        webbrowser.open(Path(page).as_uri())
    except Exception:
        pass
