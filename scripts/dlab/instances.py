"""`dlab down`, `dlab status`, `dlab logs`: the labs `dlab up` started, found by their label."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import engine, ui
from .defaults import NAME, Label
from .errors import UserError


def add_parser(subparsers) -> None:
    down = subparsers.add_parser("down", help="stop a lab and remove its container (the work folder stays)")
    down.add_argument("name", nargs="?", default=NAME, help=f"instance name (default: {NAME})")
    down.set_defaults(func=run_down)

    status = subparsers.add_parser("status", help="list the labs: name, flavor, GPUs, URL, work folder, health")
    status.set_defaults(func=run_status)

    logs = subparsers.add_parser("logs", help="show a lab's log")
    logs.add_argument("name", nargs="?", default=NAME, help=f"instance name (default: {NAME})")
    logs.add_argument("-f", "--follow", action="store_true", help="keep following the log")
    logs.set_defaults(func=run_logs)


def find_or_fail(name: str):
    found = engine.find_instance(name)
    if found is None or not found.is_dlab:
        known = [i.name for i in engine.list_instances()]
        hint = f"running: {', '.join(known)}" if known else "none is running"
        raise UserError(f"no lab named {name!r}", f"`dlab status` lists the labs ({hint})")
    return found


def run_down(args: argparse.Namespace) -> int:
    found = find_or_fail(args.name)
    if found.state == "running":
        engine.run(["stop", "--time", "10", found.id])
    engine.run(["rm", found.id])
    work = found.labels.get(Label.WORK, "")
    ui.say(f"stopped and removed {found.name}" + (f"; your work stays in {work}" if work else ""))
    return 0


def rows(instances: Sequence) -> list[tuple[str, ...]]:
    def health(i) -> str:
        return (i.state or "unknown") if i.state != "running" else (i.health or "running")

    return [("NAME", "FLAVOR", "GPUS", "URL", "WORK", "HEALTH"), *[
        (i.name, i.labels.get(Label.FLAVOR, "?"), i.labels.get(Label.GPUS, "?"),
         i.url if i.state == "running" else "-", i.labels.get(Label.WORK, "?"), health(i))
        for i in instances]]


def run_status(args: argparse.Namespace) -> int:
    instances = engine.list_instances()
    print(ui.table(rows(instances)) if instances else "no lab is running; start one with `dlab up`")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    found = find_or_fail(args.name)
    try:
        return engine.run(["logs", *(["-f"] if args.follow else []), found.id], stream=True, check=False).returncode
    except KeyboardInterrupt:
        return 0
