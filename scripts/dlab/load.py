"""`dlab load ARCHIVE`: check every part of a bundle, then load its images into the engine."""

from __future__ import annotations

import argparse
import os

from . import engine, images
from .errors import DlabError, UserError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("load", help="check a bundle's checksums, then load its images",
                              description="Check the sha256 of every part of a bundle written by `dlab bundle`; "
                              "only when all match, load its images into the Docker engine.")
    p.add_argument("archive", metavar="ARCHIVE", help="the bundle file")
    p.add_argument("--flavor", default="all", choices=(*images.FLAVORS, "hub", "all"),
                   help="load only this flavor's image, or the classroom hub's (default: all in the bundle)")
    p.set_defaults(func=run)


def open_checked(path: str):
    """(tar, members, manifest) once every checksum matched."""
    from . import archive, ui

    if not os.path.exists(path):
        raise UserError(f"no file {path}", "give the path of the bundle (`dlab bundle` wrote it as dlab-<version>-<flavor>.tar)")
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder", "give the bundle file inside it (dlab-<version>-<flavor>.tar)")
    progress = None
    try:
        tar, members = archive.open_bundle(path)
        manifest = archive.read_manifest(tar, members)
        progress = ui.Progress("checking the checksums", sum(p["size"] for p in manifest["parts"].values()))
        archive.verify_parts(tar, members, manifest, progress=progress)
        progress.finish(f", all {len(manifest['parts'])} parts match")
    except archive.Damaged as exc:
        if progress is not None:
            progress.abort()
        raise UserError(f"{path} is damaged or not a dlab bundle: {exc}; nothing was loaded",
                        "copy the bundle again (from the stick, or the teacher's share) and run `dlab load` again") from None
    return tar, members, manifest


def image_id(ref: str) -> str | None:
    found = engine.inspect_image(ref)
    return found.id if found else None


def load_one(tar, members, image: dict) -> None:
    """Stream one image part into `docker load`."""
    from . import archive, ui

    info = members[image["file"]]
    progress = ui.Progress(f"loading {image['tags'][0]}", info.size)

    def chunks():
        for block in archive.member_chunks(tar, info):
            progress.add(len(block))
            yield block

    engine.run(["load"], stdin=chunks())
    progress.finish()


def undo(before: dict[str, str | None], tags: list[str]) -> None:
    """Remove the tags this load created (those that did not exist before); moved ones go back."""
    for tag in tags:
        old = before.get(tag)
        if old is None:
            engine.run(["image", "rm", "--no-prune", tag], check=False)
        elif image_id(tag) != old:
            engine.run(["tag", old, tag], check=False)


def run(args: argparse.Namespace) -> int:
    from .archive import TOP

    tar, members, manifest = open_checked(args.archive)
    with tar:
        chosen = [i for i in manifest["images"] if args.flavor in ("all", i["flavor"])]
        if not chosen:
            flavors = ", ".join(i["flavor"] for i in manifest["images"]) or "none"
            raise UserError(f"the bundle has no {args.flavor} image (it has: {flavors})",
                            "leave out --flavor, or pick one it has")
        arch = images.architecture(engine.run(["version", "--format", "{{.Server.Arch}}"], check=False).stdout.strip())
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
            print(f"note: {tag} now names this image; the one it named before ({(before[tag] or '')[7:19]}) is kept untagged")
    labs = [image for image in chosen if image["flavor"] != "hub"]
    if labs:
        first = labs[0]
        default = first["flavor"] in images.FLAVORS and first["ref"] == images.versioned_tag(first["flavor"])
        print(f"next: `dlab up{'' if default else ' --image ' + first['ref']}`  "
              f"(the course notebooks are in the archive's {TOP}/course/ too)")
    if len(labs) < len(chosen):
        print("the classroom hub: `dlab hub up --settings class.toml` (docs/classroom.md)")
    return 0
