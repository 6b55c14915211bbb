"""`dlab down`, `dlab status`, `dlab logs`: the labs `dlab up` started, found by their label."""

from __future__ import annotations


def add_parser(subparsers):
    down = subparsers.add_parser("down", help="stop a lab and remove its container (the work folder stays)")
    down.add_argument("name", nargs="?", default="dlab", help="instance name (default: dlab)")
    down.set_defaults(func=run_down)

    status = subparsers.add_parser("status", help="list the labs: name, flavor, GPUs, URL, work folder, health")
    status.set_defaults(func=run_status)

    logs = subparsers.add_parser("logs", help="show a lab's log")
    logs.add_argument("name", nargs="?", default="dlab", help="instance name (default: dlab)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep following the log")
    logs.set_defaults(func=run_logs)


def find_or_fail(name):
    from . import engine
    from .errors import UserError

    found = engine.find_instance(name)
    if found is None or not found.is_dlab:
        known = [i.name for i in engine.list_instances()]
        hint = f"running: {', '.join(known)}" if known else "none is running"
        raise UserError(f"no lab named {name!r}", f"`dlab status` lists the labs ({hint})")
    return found


def run_down(args):
    from . import engine

    found = find_or_fail(args.name)
    if found.state == "running":
        engine.run(["stop", "--time", "10", found.id])
    engine.run(["rm", found.id])
    work = found.labels.get("org.dlab.work", "")
    print(f"dlab: stopped and removed {found.name}" + (f"; your work stays in {work}" if work else ""))
    return 0


def health(instance):
    if instance.state != "running":
        return instance.state or "unknown"
    return instance.health or "running"


def rows(instances):
    header = ("NAME", "FLAVOR", "GPUS", "URL", "WORK", "HEALTH")
    body = [
        (i.name, i.labels.get("org.dlab.flavor", "?"), i.labels.get("org.dlab.gpus", "?"),
         i.url if i.state == "running" else "-", i.labels.get("org.dlab.work", "?"), health(i))
        for i in instances
    ]
    return [header, *body]


def table(lines):
    widths = [max(len(row[c]) for row in lines) for c in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in lines)


def run_status(args):
    from . import engine

    instances = engine.list_instances()
    if not instances:
        print("no lab is running; start one with `dlab up`")
        return 0
    print(table(rows(instances)))
    return 0


def run_logs(args):
    import subprocess

    from . import engine

    found = find_or_fail(args.name)
    try:
        return subprocess.call([engine.docker_cli(), "logs", *(["-f"] if args.follow else []), found.id])
    except KeyboardInterrupt:
        return 0
