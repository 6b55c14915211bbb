"""Whose a lab is and where a user's things live: the per-user data folder, the default work
folder, a lab's own state (its certificate, the browser's redirect file)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import defaults

# Docker names allow these; anything else in a login becomes "_".
NAME_CHARS = re.compile(r"[^a-zA-Z0-9_.-]")


@dataclass(frozen=True)
class Caller:
    """Who runs dlab; under sudo, `uid` is 0 and the person is the caller of sudo."""

    uid: int | None = 1000          # None where the OS has no uids (Windows)
    gid: int | None = 1000
    sudo_uid: int | None = None     # SUDO_UID, SUDO_GID when run by sudo as root
    sudo_gid: int | None = None
    login: str = ""                 # the person's login name ("" where unknown)

    @property
    def ids(self) -> tuple[int, int] | None:
        """The person's uid and gid: the caller of sudo under sudo."""
        if self.uid == 0 and self.sudo_uid is not None:
            return self.sudo_uid, self.sudo_gid if self.sudo_gid is not None else self.sudo_uid
        return None if self.uid is None or self.gid is None else (self.uid, self.gid)

    @property
    def sudo(self) -> bool:
        return self.uid == 0 and self.sudo_uid is not None

    @property
    def owner(self) -> str:
        """What the owner label of this person's labs says: the uid, or the login where there are no uids."""
        ids = self.ids
        return str(ids[0]) if ids else (self.login or "user")

    def container(self, name: str) -> str:
        """The engine-wide container name of this person's lab `name`: one user's names never meet another's."""
        ids = self.ids
        who = NAME_CHARS.sub("_", self.login) if self.login else (f"u{ids[0]}" if ids else "user")
        return f"{name}-{who}"


def caller() -> Caller:
    uid = os.getuid() if hasattr(os, "getuid") else None
    gid = os.getgid() if hasattr(os, "getgid") else None
    sudo_uid, sudo_gid = number(os.environ.get("SUDO_UID")), number(os.environ.get("SUDO_GID"))
    if uid != 0:
        sudo_uid = sudo_gid = None  # only root acts for the caller of sudo
    person = Caller(uid, gid, sudo_uid, sudo_gid)
    return Caller(uid, gid, sudo_uid, sudo_gid, login=login_of(person.ids))


def number(text: str | None) -> int | None:
    return int(text) if text and text.isdecimal() else None


def login_of(ids: tuple[int, int] | None) -> str:
    if ids is None:
        import getpass

        try:
            return getpass.getuser()
        except Exception:
            return ""
    try:
        import pwd

        return pwd.getpwuid(ids[0]).pw_name
    except (ImportError, KeyError):
        return f"u{ids[0]}"


def home_of(person: Caller) -> str:
    """The person's home folder: under sudo the caller's, not root's."""
    if person.sudo:
        import pwd

        try:
            return pwd.getpwuid(person.sudo_uid or 0).pw_dir
        except KeyError:
            pass
    return os.path.expanduser("~")


def user_data(person: Caller) -> str:
    """This person's data folder (under sudo the caller's: root's environment says nothing about them)."""
    import platform

    return data_home(platform.system(), {} if person.sudo else dict(os.environ), home_of(person))


def home_volume(container: str) -> str:
    """The volume that keeps a lab's home across `dlab down` and `up`."""
    return f"{container}-home"


def data_home(system: str, environ: dict[str, str], home: str) -> str:
    """The per-user data folder: outside any checkout, so `git clean` or a fresh clone never reaches it."""
    if system == "Darwin":
        base = os.path.join(home, "Library", "Application Support")
    elif system == "Windows":
        base = environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    else:
        xdg = environ.get("XDG_DATA_HOME", "")
        base = xdg if os.path.isabs(xdg) else os.path.join(home, ".local", "share")
    return os.path.join(base, defaults.DATA)


def default_work(checkout_work: str, checkout_work_has_files: bool, data: str) -> tuple[str, bool]:
    """(the work folder when no --work is given, whether it is an older dlab's ./work kept in use)."""
    if checkout_work_has_files:
        return checkout_work, True
    return os.path.join(data, defaults.WORK), False


def has_files(folder: str) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(True for _ in entries)
    except OSError:
        return False


def lab_state(data: str, name: str) -> str:
    """A lab's own folder in the data folder: its certificate, the browser's redirect file."""
    return os.path.join(data, "labs", name)


def private_folder(path: str, ids: tuple[int, int] | None = None) -> None:
    """Make path and its missing parents, each 0700; owned by ids when root makes them for the caller of sudo."""
    missing = []
    folder = Path(path)
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700)
        if ids is not None and hasattr(os, "chown"):
            os.chown(made, *ids)


def write_private(path: str, text: str, ids: tuple[int, int] | None = None) -> None:
    """A file only its owner may read (0600), written whole."""
    partial = f"{path}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    if ids is not None and hasattr(os, "chown"):
        os.chown(partial, *ids)
    os.replace(partial, path)
