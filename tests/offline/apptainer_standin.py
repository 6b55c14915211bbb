#!/usr/bin/env python3
"""A stand-in for `apptainer exec|run [--nv] [--writable-tmpfs] [--bind SRC:DST]... IMAGE [ARGS]`.

Apptainer cannot be installed here. This does what it does without setuid, for a sandbox image (an
unpacked root file system beside an image-config.json with the image's Env, Entrypoint and Cmd): a user
namespace in which the caller stays the caller (host PIDs and network, as Apptainer's defaults), the root read-only (or with a tmpfs over it for
--writable-tmpfs), /proc, /dev, /sys and /tmp of the host, the caller's passwd entry, the --bind
folders, the image's environment plus APPTAINERENV_* (prefix dropped), and for `run` the image's
entrypoint with ARGS (or its Cmd). --nv is accepted and does nothing: there is no GPU here.
The caller's $HOME must lie under /tmp (Apptainer binds $HOME; here the /tmp bind carries it).
"""

import json
import os
import sys

MOUNTS = r'''
set -eu
image=$1 writable=$2 uid=$3 gid=$4; shift 4
top=$(mktemp -d "$HOME/.apptainer-standin.XXXXXX")
mount -t tmpfs standin "$top"
mkdir "$top/upper" "$top/work" "$top/root"
if [ "$writable" = 1 ]; then
  mount -t overlay overlay -o "lowerdir=$image,upperdir=$top/upper,workdir=$top/work" "$top/root"
else
  mount --bind "$image" "$top/root" && mount -o remount,bind,ro "$top/root"
fi
root=$top/root
mount --rbind /proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount --bind /tmp "$root/tmp"
{ cat "$image/etc/passwd"; echo "$USER:x:$uid:$gid::$HOME:/bin/bash"; } > "$top/passwd"
{ cat "$image/etc/group"; echo "$USER:x:$gid:"; } > "$top/group"
mount --bind "$top/passwd" "$root/etc/passwd"
mount --bind "$top/group" "$root/etc/group"
while [ "$1" != -- ]; do
  mkdir -p "$root${1#*:}"
  mount --bind "${1%%:*}" "$root${1#*:}"
  shift
done
shift
cd "$root"
/usr/sbin/pivot_root . .  # not chroot: a chroot may not make the user namespace below
/usr/bin/umount -l .
exec /usr/bin/unshare --map-user="$uid" --map-group="$gid" -- /usr/bin/env -i "$@"
'''


def main(argv: list[str]) -> None:
    action, rest = argv[0], argv[1:]
    binds, writable = [], False
    while rest and rest[0].startswith("--"):
        option = rest.pop(0)
        if option == "--bind":
            binds.append(rest.pop(0))
        elif option == "--writable-tmpfs":
            writable = True
        elif option != "--nv":
            sys.exit(f"apptainer stand-in: unknown option {option}")
    image = os.path.realpath(rest.pop(0))
    with open(os.path.join(os.path.dirname(image), "image-config.json")) as f:
        config = json.load(f)
    if action == "run":
        command = config["Entrypoint"] + (rest or config["Cmd"])
    elif action == "exec":
        command = rest
    else:
        sys.exit(f"apptainer stand-in: unknown action {action}")
    prefix = "APPTAINERENV_"
    env = [*config["Env"], f"HOME={os.environ['HOME']}", f"USER={os.environ['USER']}",
           *(f"{name[len(prefix):]}={value}" for name, value in os.environ.items() if name.startswith(prefix))]
    os.execvp("unshare", ["unshare", "--user", "--map-root-user", "--mount", "--fork", "--kill-child",
                          "sh", "-c", MOUNTS, "mounts", image, str(int(writable)), str(os.getuid()), str(os.getgid()),
                          *binds, "--", *env, *command])


if __name__ == "__main__":
    main(sys.argv[1:])
