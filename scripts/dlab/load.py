"""`dlab load ARCHIVE`: check every part of a bundle, then load its images into the engine."""

from __future__ import annotations

import os
import re
import subprocess

from . import archive, engine, images
from .errors import DlabError, UserError

LOADED = re.compile(r"^Loaded image(?: ID)?: (\S+)", re.M)
ARCH_NAMES = {"x86_64": "amd64", "aarch64": "arm64"}


def add_parser(subparsers):
    p = subparsers.add_parser("load", help="check a bundle's checksums, then load its images",
                              description="Check the sha256 of every part of a bundle written by `dlab bundle`; "
                              "only when all match, load its images into the Docker engine.")
    p.add_argument("archive", metavar="ARCHIVE", help="the bundle file")
    p.add_argument("--flavor", default="all", choices=("cpu", "cuda", "all"),
                   help="load only this flavor's image (default: all in the bundle)")
    p.set_defaults(func=run)


def damaged(path, why):
    return UserError(f"{path} is damaged or not a dlab bundle: {why}; nothing was loaded",
                     "copy the bundle again (from the stick, or the teacher's share) and run `dlab load` again")


def open_checked(path):
    """(tar, members, manifest) once every checksum matched."""
    if not os.path.exists(path):
        raise UserError(f"no file {path}", "give the path of the bundle (`dlab bundle` wrote it as dlab-<version>-<flavor>.tar)")
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder", "give the bundle file inside it (dlab-<version>-<flavor>.tar)")
    progress = None
    try:
        tar, members = archive.open_bundle(path)
        manifest = archive.read_manifest(tar, members)
        total = sum(p["size"] for p in manifest["parts"].values())
        progress = archive.Progress("checking the checksums", total)
        archive.verify_parts(tar, members, manifest, progress=progress)
        progress.finish(f", all {len(manifest['parts'])} parts match")
    except archive.Damaged as exc:
        if progress is not None:
            progress.abort()
        raise damaged(path, str(exc)) from None
    return tar, members, manifest


def engine_arch():
    result = engine.run(["version", "--format", "{{.Server.Arch}}"], check=False)
    return ARCH_NAMES.get(result.stdout.strip(), result.stdout.strip())


def image_id(ref):
    result = engine.run(["image", "inspect", "--format", "{{.Id}}", ref], check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def load_one(tar, members, image):
    """Stream one image part into `docker load`; the refs it printed."""
    info = members[image["file"]]
    progress = archive.Progress(f"loading {image['tags'][0]}", info.size)
    proc = subprocess.Popen([engine.docker_cli() or "docker", "load"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for block in archive.member_chunks(tar, info):
            proc.stdin.write(block)
            progress.add(len(block))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    out, err = proc.stdout.read().decode(errors="replace"), proc.stderr.read().decode(errors="replace")
    if proc.wait() != 0:
        raise engine.engine_error(err, ["load"])
    progress.finish()
    return LOADED.findall(out)


def undo(before, tags):
    """Remove the tags this load created (those that did not exist before); moved ones go back."""
    for tag in tags:
        old = before.get(tag)
        if old is None:
            engine.run(["image", "rm", "--no-prune", tag], check=False)
        elif image_id(tag) != old:
            engine.run(["tag", old, tag], check=False)


def run(args):
    tar, members, manifest = open_checked(args.archive)
    with tar:
        chosen = [i for i in manifest["images"] if args.flavor in ("all", i["flavor"])]
        if not chosen:
            flavors = ", ".join(i["flavor"] for i in manifest["images"]) or "none"
            raise UserError(f"the bundle has no {args.flavor} image (it has: {flavors})", "leave out --flavor, or pick one it has")
        arch = engine_arch()
        for image in chosen:
            if arch and image.get("architecture") and image["architecture"] != arch:
                raise UserError(f"{image['ref']} is built for {image['architecture']}, this Docker engine runs {arch}",
                                f"bundle an image built for {arch}")
        tags = [t for i in chosen for t in i["tags"]]
        before = {t: image_id(t) for t in tags}
        try:
            for image in chosen:
                load_one(tar, members, image)
                for tag in image["tags"]:
                    if image_id(tag) != image["id"]:
                        raise DlabError(f"after loading, {tag} is not image {image['id'][:19]}",
                                        "see `docker images`; run `dlab load` again, or report this")
        except BaseException:
            undo(before, tags)
            raise
    for image in chosen:
        moved = [t for t in image["tags"] if before.get(t) not in (None, image["id"])]
        print(f"loaded {', '.join(image['tags'])} ({image['flavor']}, {image['id'][7:19]}, "
              f"{image['size_bytes'] / 1e9:.2f} GB)")
        for tag in moved:
            print(f"note: {tag} now names this image; the one it named before ({before[tag][7:19]}) is kept untagged")
    first = chosen[0]
    default = first["ref"] == images.versioned_tag(first["flavor"]) if first["flavor"] in images.FLAVORS else False
    print(f"next: `dlab up{'' if default else ' --image ' + first['ref']}`  "
          f"(the course notebooks are in the archive's {archive.TOP}/course/ too)")
    return 0
