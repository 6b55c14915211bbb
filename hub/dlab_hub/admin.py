"""What `dlab hub users` asks the running hub, from inside its container (the hub's own API)."""

from __future__ import annotations

import dbm
import json
import os
import sys
import urllib.request

import docker

from .settings import SettingsError, check_name, load


def hub_api(settings, method, path, body=None):
    gateway = docker.from_env().networks.get(settings.network).attrs["IPAM"]["Config"][0]["Gateway"]
    with open(os.path.join(settings.state, "admin-token")) as f:
        token = f.read().strip()
    request = urllib.request.Request(f"http://{gateway}:{settings.hub_api_port}/hub/api{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as reply:
        text = reply.read().decode()
    return json.loads(text) if text else None


def passwords_set(settings):
    try:
        with dbm.open(os.path.join(settings.state, "passwords.dbm"), "r") as db:
            return {key.decode() for key in db.keys()}
    except dbm.error:
        return set()


def users(settings):
    """Everyone the hub knows and everyone on the class list, with their lab's state."""
    known = {u["name"]: u for u in hub_api(settings, "GET", "/users?include_stopped_servers=false")}
    with_password = passwords_set(settings)
    rows = []
    for name in sorted(set(known) | set(settings.members)):
        user = known.get(name, {})
        server = (user.get("servers") or {}).get("")
        rows.append({
            "name": name,
            "admin": bool(user.get("admin")),
            "on_class_list": name in settings.members,
            "password_set": name in with_password,
            "lab": "" if not server else ("ready" if server.get("ready") else server.get("pending") or "stopped"),
            "runtime": (server or {}).get("user_options", {}).get("runtime", "cpu") if server else "",
            "last_activity": user.get("last_activity") or "",
        })
    return rows


def add(settings, names):
    for name in names:
        check_name(name, "dlab hub users add")
    hub_api(settings, "POST", "/users", {"usernames": list(names)})
    return [{"name": n} for n in names]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        settings = load(os.environ.get("DLAB_HUB_SETTINGS", "/srv/dlab-hub/class.toml"))
        if argv[:1] == ["users"]:
            result = users(settings)
        elif argv[:1] == ["add"] and argv[1:]:
            result = add(settings, argv[1:])
        else:
            print("usage: python -m dlab_hub.admin users | add NAME...", file=sys.stderr)
            return 2
    except SettingsError as exc:
        print(f"error: {exc.what}\nfix: {exc.fix}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"error: the hub's API did not answer: {exc}\nfix: see `dlab hub logs`", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
