"""`dlab down`, `dlab status`, `dlab logs`: the caller's labs (never another user's), found by their labels."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from . import engine, limits, places, ui
from .defaults import NAME, Label
from .errors import UserError


def add_parser(subparsers) -> None:
    down = subparsers.add_parser("down", help="stop a lab and remove its container (the work folder and the lab's home stay)")
    down.add_argument("name", nargs="?", default=NAME, help=f"instance name (default: {NAME})")
    down.add_argument("--purge", action="store_true",
                      help="also delete the lab's home volume (JupyterLab settings, files in ~) and its certificate; "
                      "never the work folder")
    down.add_argument("-y", "--yes", action="store_true", help="stop without asking, even while a kernel is busy")
    down.set_defaults(func=run_down)

    status = subparsers.add_parser("status", help="list your labs: name, flavor, GPUs, URL, work folder, limits, health")
    status.set_defaults(func=run_status)

    logs = subparsers.add_parser("logs", help="show a lab's log")
    logs.add_argument("name", nargs="?", default=NAME, help=f"instance name (default: {NAME})")
    logs.add_argument("-f", "--follow", action="store_true", help="keep following the log")
    logs.set_defaults(func=run_logs)


def find_or_fail(name: str) -> engine.Instance:
    person = places.caller()
    found = engine.find_lab(name, person.owner, person.container(name))
    if found is None or not found.is_dlab or found.owner != person.owner:
        known = [i.lab_name for i in engine.list_instances(person.owner)]
        hint = f"yours: {', '.join(known)}" if known else "you have none"
        raise UserError(f"no lab of yours named {name!r}", f"`dlab status` lists your labs ({hint})")
    return found


def busy_notebooks(lab: engine.Instance) -> list[str] | None:
    """The notebooks whose kernel is running code; None when the lab does not answer."""
    from .probe import http_get

    status, _, body = http_get(f"127.0.0.1:{lab.port}", f"/api/sessions?token={lab.token}", timeout=3.0,
                               tls=lab.scheme == "https")
    if status != 200:
        return None
    try:
        sessions = json.loads(body)
    except ValueError:
        return None
    return [s.get("path") or s.get("name") or "a kernel" for s in sessions
            if (s.get("kernel") or {}).get("execution_state") == "busy"]


def confirm_stop(lab: engine.Instance, yes: bool) -> bool:
    import sys

    busy = busy_notebooks(lab) if lab.state == "running" and lab.port else None
    if busy:
        ui.say(f"busy: {', '.join(busy)} (stopping the lab ends what {'they run' if len(busy) > 1 else 'it runs'})")
    if lab.state == "running":
        ui.say("edits not yet saved in a browser tab cannot be seen from here: save them first (Ctrl+S)")
    if not busy or yes or not sys.stdin.isatty():
        return True
    try:
        return input("stop it anyway? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def run_down(args: argparse.Namespace) -> int:
    person = places.caller()
    if args.purge and not any(i.lab_name == args.name for i in engine.list_instances(person.owner)):
        if not purge(person, args.name, places.home_volume(person.container(args.name))):
            find_or_fail(args.name)  # nothing left of it either: say which labs there are
        return 0
    found = find_or_fail(args.name)
    if not confirm_stop(found, args.yes):
        ui.say(f"{found.lab_name} keeps running")
        return 1
    if found.state == "running":
        engine.run(["stop", "--time", "10", found.id])
    engine.run(["rm", found.id])
    work = found.labels.get(Label.WORK, "")
    volume = places.home_volume(found.name)
    ui.say(f"stopped and removed {found.lab_name}" + (f"; your work stays in {work}" if work else ""))
    if args.purge:
        purge(person, found.lab_name, volume)
    elif engine.run(["volume", "inspect", volume], check=False).returncode == 0:
        purge_command = "dlab down --purge" if found.lab_name == NAME else f"dlab down {found.lab_name} --purge"
        ui.say(f"its home (JupyterLab settings, files in ~ outside work) stays in the volume {volume} for "
               f"the next `dlab up`; `{purge_command}` deletes it")
    return 0


def purge(person: places.Caller, name: str, volume: str) -> bool:
    """Delete what `dlab down` keeps of a lab, saying what: its home volume and its own folder (never
    the work folder); whether there was anything to delete."""
    import os
    import shutil

    deleted = engine.run(["volume", "rm", volume], check=False).returncode == 0
    if deleted:
        ui.say(f"deleted the volume {volume} (the lab's home: JupyterLab settings, files in ~ outside work)")
    state = places.lab_state(places.user_data(person), name)
    if os.path.isdir(state):
        shutil.rmtree(state)
        ui.say(f"deleted {state} (the lab's certificate and browser page)")
        deleted = True
    return deleted


def rows(instances: Sequence[engine.Instance]) -> list[tuple[str, ...]]:
    def health(i) -> str:
        return (i.state or "unknown") if i.state != "running" else (i.health or "running")

    return [("NAME", "FLAVOR", "GPUS", "URL", "WORK", "LIMITS", "HEALTH"), *[
        (i.lab_name, i.labels.get(Label.FLAVOR, "?"), i.labels.get(Label.GPUS, "?"),
         i.url if i.state == "running" else "-", i.labels.get(Label.WORK, "?"),
         limits.from_host_config(i.host_config).text(), health(i))
        for i in instances]]


def run_status(args: argparse.Namespace) -> int:
    instances = engine.list_instances(places.caller().owner)
    print(ui.table(rows(instances)) if instances else "you have no lab; start one with `dlab up`")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    found = find_or_fail(args.name)
    try:
        return engine.run(["logs", *(["-f"] if args.follow else []), found.id], stream=True, check=False).returncode
    except KeyboardInterrupt:
        return 0
