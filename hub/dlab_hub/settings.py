"""The class settings file (TOML): read, checked and completed with defaults that fit the host.

`python -m dlab_hub.settings FILE` prints the settings as JSON (what `dlab hub` needs), or two
lines saying what is wrong and what to do, with exit code 2.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

NAME = re.compile(r"[a-z][a-z0-9._-]{0,31}")
NAME_RULE = "lowercase letters, digits, '.', '-' and '_', starting with a letter, at most 32"
PASSWORD_MODES = ("first-use", "generated")
GPU_POLICIES = ("exclusive", "shared", "none")
GB = 1024**3
HOST_RESERVE = 2 * GB        # left to the hub, the engine and the OS
MEMORY_RANGE = (2 * GB, 8 * GB)

# Every key a settings file may have, with its type and default; None: no default (computed or required).
SCHEMA = {
    "class": {"name": (str, "dlab"), "teacher": (str, "teacher"), "students": (list, None),
              "students_file": (str, None), "passwords": (str, "first-use")},
    "storage": {"root": (str, None), "uid": (int, None), "gid": (int, None)},
    "server": {"port": (int, 443), "bind": (str, "0.0.0.0"), "tls": (bool, True),
               "hub_api_port": (int, 8081), "proxy_api_port": (int, 8001)},
    "tls": {"cert": (str, None), "key": (str, None), "names": (list, [])},
    "limits": {"memory": ((str, int), "auto"), "cpus": ((str, int, float), "auto"), "pids": (int, 1024)},
    "gpu": {"policy": (str, "exclusive")},
    "idle": {"timeout": (int, 3600)},
    "course": {"solutions": (bool, True)},
    "images": {"cpu": (str, None), "cuda": (str, None)},
}


KIND_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}


class SettingsError(Exception):
    """A mistake in the class settings: what is wrong, and what to do."""

    exit_code = 2

    def __init__(self, what, fix):
        super().__init__(what)
        self.what, self.fix = what, fix


@dataclass(frozen=True)
class Settings:
    path: str
    class_name: str
    teacher: str
    students: tuple
    passwords: str
    root: str
    uid: int
    gid: int
    port: int
    bind: str
    tls: bool
    hub_api_port: int
    proxy_api_port: int
    cert: str
    key: str
    names: tuple
    memory: int
    cpus: float
    pids: int
    gpu_policy: str
    idle_timeout: int
    image_cpu: str
    image_cuda: str
    solutions: bool = True  # seed the solutions beside the exercises ([course] solutions = false: exercises only)
    insecure_http: bool = False

    @property
    def members(self):
        """Everyone who may sign in: the teacher and the students."""
        return (self.teacher, *[s for s in self.students if s != self.teacher])

    @property
    def students_root(self):
        return os.path.join(self.root, "students")

    @property
    def class_folder(self):
        return os.path.join(self.root, "class")

    @property
    def state(self):
        return os.path.join(self.root, "state")

    @property
    def network(self):
        return f"dlab-hub-{self.class_name}"

    @property
    def container(self):
        return f"dlab-hub-{self.class_name}"


@dataclass(frozen=True)
class HostFacts:
    """What the defaults depend on: the host's memory and cores."""

    memory: int
    cores: int

    @classmethod
    def read(cls):
        with open("/proc/meminfo") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
        return cls(memory=kib * 1024, cores=os.cpu_count() or 1)


def default_memory(host: HostFacts, students: int) -> int:
    """A fair share of the host's memory per lab, within MEMORY_RANGE, in whole 256 MiB steps."""
    share = (host.memory - HOST_RESERVE) // max(1, students)
    share = min(max(share, MEMORY_RANGE[0]), MEMORY_RANGE[1])
    return share // (256 * 1024**2) * (256 * 1024**2)


def default_cpus(host: HostFacts) -> float:
    return float(max(1, host.cores // 2))


def parse_bytes(text, where):
    """'4G', '512M', '2048' (bytes) -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), re.I)
    if not match:
        raise SettingsError(f"{where} = {text!r} is not an amount of memory", "write it like \"4G\" or \"512M\", or \"auto\"")
    number, unit = float(match[1]), match[2].upper()
    return int(number * 1024 ** " KMGT".index(unit or " "))


def check_name(name, where):
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SettingsError(f"{where}: {name!r} is not a valid user name", f"use {NAME_RULE}")
    return name


def read_students_file(path: Path):
    """One name a line, or a CSV with a 'username' column; '#' lines and blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SettingsError(f"cannot read the class list {path}: {exc.strerror}",
                            "check [class] students_file (relative paths start at the settings file)")
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0].strip() and not row[0].startswith("#")]
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if "username" in header:
        column = header.index("username")
        return [(f"{path.name} line {n}", row[column].strip()) for n, row in enumerate(rows[1:], 2) if len(row) > column]
    return [(f"{path.name} line {n}", row[0].strip()) for n, row in enumerate(rows, 1)]


def read_toml(path: Path):
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SettingsError(f"no class settings at {path}",
                            "copy hub/class.example.toml there and list your students, or pass --settings FILE")
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}", "fix that line (TOML: key = \"value\" under [section])")


def checked_tables(data, path):
    """Every section and key known, every value of its type; defaults filled in."""
    tables = {}
    for section, value in data.items():
        if section not in SCHEMA:
            raise SettingsError(f"{path.name}: unknown section [{section}]", f"use only: {', '.join(SCHEMA)}")
        if not isinstance(value, dict):
            raise SettingsError(f"{path.name}: {section} must be a section ([{section}])", "see hub/class.example.toml")
    for section, keys in SCHEMA.items():
        given = data.get(section, {})
        unknown = sorted(set(given) - set(keys))
        if unknown:
            raise SettingsError(f"{path.name}: unknown key {unknown[0]!r} in [{section}]",
                                f"[{section}] takes: {', '.join(keys)}")
        table = {}
        for key, (kind, default) in keys.items():
            value = given.get(key, default)
            if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
                names = " or ".join(KIND_NAMES[k] for k in (kind if isinstance(kind, tuple) else (kind,)))
                raise SettingsError(f"{path.name}: [{section}] {key} = {value!r} is not {names}",
                                    "see hub/class.example.toml for each key's form")
            table[key] = value
        tables[section] = table
    return tables


def class_list(tables, path: Path):
    """The students, in order, each name checked and none twice."""
    klass = tables["class"]
    if klass["students"] is not None and klass["students_file"]:
        raise SettingsError(f"{path.name}: [class] has both students and students_file", "keep one of them")
    if klass["students_file"]:
        entries = read_students_file(path.parent / klass["students_file"])
    elif klass["students"] is not None:
        entries = [(f"{path.name} [class] students", name) for name in klass["students"]]
    else:
        raise SettingsError(f"{path.name}: no students listed", "add students = [\"alice\", ...] or students_file under [class]")
    seen = {}
    for where, name in entries:
        check_name(name, where)
        if name in seen:
            raise SettingsError(f"{where}: {name!r} is listed twice (first at {seen[name]})",
                                "list each student once")
        seen[name] = where
    return tuple(seen)


def load(path, env=None, host: HostFacts | None = None) -> Settings:
    """Read and check the settings file; fill in the defaults for this host."""
    env = os.environ if env is None else env
    path = Path(path).resolve()
    tables = checked_tables(read_toml(path), path)
    klass, storage, server, tls = tables["class"], tables["storage"], tables["server"], tables["tls"]
    check_name(klass["name"], f"{path.name} [class] name")
    check_name(klass["teacher"], f"{path.name} [class] teacher")
    students = class_list(tables, path)
    if klass["passwords"] not in PASSWORD_MODES:
        raise SettingsError(f"{path.name}: [class] passwords = {klass['passwords']!r}", f"use one of: {', '.join(PASSWORD_MODES)}")
    if tables["gpu"]["policy"] not in GPU_POLICIES:
        raise SettingsError(f"{path.name}: [gpu] policy = {tables['gpu']['policy']!r}", f"use one of: {', '.join(GPU_POLICIES)}")
    root = storage["root"]
    if not root or not os.path.isabs(root):
        raise SettingsError(f"{path.name}: [storage] root must be an absolute path (got {root!r})",
                            "set root = \"/srv/dlab/<class>\" (a folder on a disk with room for every student's work)")
    for key in ("port", "hub_api_port", "proxy_api_port"):
        if not 1 <= server[key] <= 65535:
            raise SettingsError(f"{path.name}: [server] {key} = {server[key]} is not a port", "use a number from 1 to 65535")
    if tables["idle"]["timeout"] < 0:
        raise SettingsError(f"{path.name}: [idle] timeout is negative", "give seconds, or 0 to never stop idle labs")
    insecure = env.get("DLAB_HUB_INSECURE_HTTP") == "1"
    if not server["tls"] and server["bind"] != "127.0.0.1" and not insecure:
        raise SettingsError(f"{path.name}: plain HTTP on {server['bind']} would send passwords in the clear",
                            "keep tls = true, or bind = \"127.0.0.1\", or start with `dlab hub up --insecure-http`")
    if bool(tls["cert"]) != bool(tls["key"]):
        raise SettingsError(f"{path.name}: [tls] needs both cert and key", "give both files (PEM), or neither for a self-signed one")
    uid = storage["uid"] if storage["uid"] is not None else int(env.get("DLAB_HUB_UID", 1000))
    gid = storage["gid"] if storage["gid"] is not None else int(env.get("DLAB_HUB_GID", 100))
    if uid == 0:
        raise SettingsError(f"{path.name}: [storage] uid = 0 would run every lab as root",
                            "give the uid of an ordinary user (the students' files will be theirs), e.g. uid = 1000")
    host = host or HostFacts.read()
    limits = tables["limits"]
    memory = default_memory(host, len(students)) if limits["memory"] == "auto" else \
        parse_bytes(limits["memory"], "[limits] memory")
    cpus = default_cpus(host) if limits["cpus"] == "auto" else limits["cpus"]
    if isinstance(cpus, str):
        raise SettingsError(f"{path.name}: [limits] cpus = {cpus!r}", "give a number of cores, like 2 or 1.5, or \"auto\"")
    version = env.get("DLAB_VERSION", "latest")
    repository = env.get("DLAB_REPOSITORY") or "dlab"
    images = tables["images"]
    resolve = lambda p: str((path.parent / p).resolve()) if p else ""  # noqa: E731
    return Settings(
        path=str(path), class_name=klass["name"], teacher=klass["teacher"], students=students,
        passwords=klass["passwords"], root=os.path.normpath(root),
        uid=uid, gid=gid,
        port=server["port"], bind=server["bind"], tls=server["tls"], hub_api_port=server["hub_api_port"],
        proxy_api_port=server["proxy_api_port"], cert=resolve(tls["cert"]), key=resolve(tls["key"]),
        names=tuple(tls["names"]), memory=memory, cpus=float(cpus), pids=limits["pids"],
        gpu_policy=tables["gpu"]["policy"], idle_timeout=tables["idle"]["timeout"],
        image_cpu=images["cpu"] or f"{repository}:{version}-cpu",
        image_cuda=images["cuda"] or f"{repository}:{version}-cuda",
        solutions=tables["course"]["solutions"],
        insecure_http=insecure,
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m dlab_hub.settings FILE", file=sys.stderr)
        return 2
    try:
        settings = load(argv[0])
    except SettingsError as exc:
        print(f"error: {exc.what}\nfix: {exc.fix}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps({**asdict(settings), "members": settings.members, "network": settings.network,
                      "container": settings.container}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
