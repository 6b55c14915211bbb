"""The class root on disk: a folder per student, the shared class folder, the hub's state.

Folders are made when missing and never removed; a file that exists is never rewritten.
"""

from __future__ import annotations

import os
from pathlib import Path

WELCOME = "Welcome.md"


def make_owned(path, uid, gid, mode=0o755):
    """Make the folder if it is missing (owned by uid:gid); leave an existing one as it is."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(parents=True, mode=mode)
        os.chown(path, uid, gid)
        path.chmod(mode)  # mkdir's mode is filtered by the umask
    return path


def check_writable(root):
    """The class root exists or can be made, and files can be written there."""
    from .settings import SettingsError

    probe = Path(root) / ".dlab-write-check"
    try:
        Path(root).mkdir(parents=True, exist_ok=True)
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise SettingsError(f"the class root {root} is not writable: {exc.strerror}",
                            "give [storage] root a folder on a writable disk (the hub makes it when missing)")


def prepare_class_root(settings):
    """students/, class/ (teacher-writable, read-only in labs), state/ (the hub's own, private)."""
    check_writable(settings.root)
    make_owned(settings.students_root, settings.uid, settings.gid, 0o755)
    make_owned(settings.class_folder, settings.uid, settings.gid, 0o755)
    make_owned(settings.state, settings.uid, settings.gid, 0o700)


def welcome_text(settings, gpu_offered):
    minutes = settings.idle_timeout // 60
    idle = (f"after {minutes} minutes without activity (a running cell counts as activity) your lab stops; "
            "your files stay. Start it again from *File → Hub Control Panel*." if settings.idle_timeout else
            "this class keeps labs running until the teacher stops them.")
    gpu = ("stop your lab (*File → Hub Control Panel → Stop My Server*), start it again and choose "
           "**GPU** in the form." if gpu_offered else "this server has none to give; your lab runs on the CPU.")
    template = (Path(__file__).parent / "welcome.md").read_text()
    return template.format(class_name=settings.class_name, memory=f"{settings.memory / 1024**3:g} GB", gpu=gpu,
                           idle=idle)


def prepare_student(settings, name, gpu_offered):
    """The student's folder, its class/ mount point and the welcome page, made where missing."""
    home = make_owned(Path(settings.students_root) / name, settings.uid, settings.gid, 0o750)
    make_owned(home / "class", settings.uid, settings.gid, 0o755)
    welcome = home / WELCOME
    if not welcome.exists() and not welcome.is_symlink():
        welcome.write_text(welcome_text(settings, gpu_offered))
        os.chown(welcome, settings.uid, settings.gid)
    return home
