"""`dlab load ARCHIVE`: check every part of a bundle, then load its images into the engine."""

from __future__ import annotations

import argparse
import os
import re
import time

from . import engine, images
from .errors import DlabError, UserError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("load", help="check a bundle's checksums, then load its images",
                              description="Check the sha256 of every part of a bundle written by `dlab bundle`; "
                              "only when all match, load its images into the Docker engine.")
    p.add_argument("archive", metavar="ARCHIVE", help="the bundle file")
    p.add_argument("--flavor", default="all", choices=(*images.FLAVORS, "hub", "all"),
                   help="load only this flavor's image, or the classroom hub's (default: all in the bundle)")
    p.add_argument("--expect", metavar="SHA256", type=digest_option,
                   help="the sha256 of the whole bundle file, as `dlab bundle` printed it (ask the teacher for it)")
    p.set_defaults(func=run)


def digest_option(text: str) -> str:
    digest = text.strip().lower().removeprefix("sha256:")
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise argparse.ArgumentTypeError(f"{text!r} is not a sha256 (64 hex digits, as `dlab bundle` printed it)")
    return digest


def open_checked(path: str, expect: str | None = None):
    """(tar, members, manifest) once every checksum matched, the bundle names only tags of ours, and the whole
    file is the one expected (when a digest was given)."""
    from . import archive, ui

    if not os.path.exists(path):
        raise UserError(f"no file {path}", "give the path of the bundle (`dlab bundle` wrote it as dlab-<version>-<flavor>.tar)")
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder", "give the bundle file inside it (dlab-<version>-<flavor>.tar)")
    progress = None
    try:
        tar, members = archive.open_bundle(path)
        manifest = archive.read_manifest(tar, members)
        check_tags(path, manifest)
        progress = ui.Progress("checking the bundle", os.path.getsize(path))
        whole, indexes = archive.verify(path, members, manifest, progress=progress)
        progress.finish(f", all {len(manifest['parts'])} parts match")
    except archive.Damaged as exc:
        if progress is not None:
            progress.abort()
        raise UserError(f"{path} is damaged or not a dlab bundle: {exc}; nothing was loaded",
                        "copy the bundle again (from the stick, or the teacher's share) and run `dlab load` again") from None
    if expect and whole != expect:
        raise UserError(f"{path} is not the bundle you were given: its sha256 is {whole}, not {expect}; nothing was loaded",
                        "copy the bundle again from the teacher's stick or share, and check the sha256 you were given")
    for image in manifest["images"]:
        check_index(path, image, indexes[image["file"]])
    print(f"the bundle's sha256 {'matches the one you were given' if expect else 'is ' + whole}"
          + ("" if expect else " (compare it with the one `dlab bundle` printed, or pass --expect)"))
    return tar, members, manifest


def ours(tag: str) -> bool:
    """A tag of the lab's repository (dlab:<tag>), the only ones a bundle may make or move."""
    return bool(re.fullmatch(re.escape(images.REPOSITORY) + r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag))


def refused(path: str, what: str) -> UserError:
    return UserError(f"{path} would {what}; nothing was loaded",
                     "load only bundles that `dlab bundle` made, from someone you trust "
                     "(and check them with `dlab load --expect SHA256`)")


def check_tags(path: str, manifest: dict) -> None:
    for image in manifest["images"]:
        for tag in image["tags"]:
            if not ours(tag):
                raise refused(path, f"tag {tag}, which is not a tag of the {images.REPOSITORY} repository")
        if image["ref"] not in image["tags"]:
            raise refused(path, f"load {image['ref']} under tags that do not name it")


def familiar(name: str) -> str:
    """docker.io/library/dlab:cpu -> dlab:cpu, as `docker images` shows it."""
    for prefix in ("docker.io/", "index.docker.io/", "library/"):
        name = name.removeprefix(prefix)
    return name if ":" in name.rsplit("/", 1)[-1] or "@" in name else name + ":latest"


def index_names(index: dict) -> tuple[list[str], list[str], list[str]]:
    """What `docker load` takes from an image archive's index files: (image IDs, names, bare tags)."""
    entries = index.get("manifest.json")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise TypeError("manifest.json is not a list of images")
    ids = ["sha256:" + re.sub(r"^blobs/sha256/|\.json$", "", str(e.get("Config", ""))) for e in entries]
    names = [str(tag) for e in entries for tag in e.get("RepoTags") or []]
    names += [f"{repo}:{tag}" for repo, tags in (index.get("repositories") or {}).items() for tag in tags]
    bare = []
    for entry in (index.get("index.json") or {}).get("manifests") or []:  # Docker 25+ and the containerd store
        notes = entry.get("annotations") or {}
        names += [notes["io.containerd.image.name"]] if "io.containerd.image.name" in notes else []
        ref = notes.get("org.opencontainers.image.ref.name", "")
        if "/" in ref or ":" in ref:
            names.append(ref)
        elif ref:
            bare.append(ref)
    return ids, [familiar(name) for name in names], bare


def check_index(path: str, image: dict, index: dict) -> None:
    """The image archive holds the listed image only, under the listed tags only."""
    try:
        ids, names, bare = index_names(index)
    except (TypeError, AttributeError, ValueError) as exc:
        raise refused(path, f"load {image['file']}, whose index is malformed ({exc})") from None
    if ids != [image["id"]]:
        raise refused(path, f"load {len(ids)} image(s) from {image['file']} ({', '.join(i[:19] for i in ids)}), "
                      f"not the one its manifest lists, {image['id'][:19]}")
    extra = [n for n in names if n not in image["tags"]]
    extra += [t for t in bare if t not in {tag.rsplit(":", 1)[1] for tag in image["tags"]}]
    if extra:
        raise refused(path, f"also tag {extra[0]} (named in {image['file']}), which its manifest does not list")


def image_id(ref: str) -> str | None:
    found = engine.inspect_image(ref)
    return found.id if found else None


def load_one(tar, members, image: dict) -> None:
    """Stream one image part into `docker load`."""
    from . import archive, ui

    info = members[image["file"]]
    progress = ui.Progress(f"loading {image['tags'][0]}", info.size)
    unpacking = []  # when docker had read it all: it unpacks the layers after that, silently

    def chunks():
        for block in archive.member_chunks(tar, info):
            progress.add(len(block))
            yield block
        progress.finish(" read; docker is unpacking the layers ...")
        unpacking.append(time.monotonic())

    engine.run(["load"], stdin=chunks())
    if unpacking:
        print(f"{image['tags'][0]}: layers unpacked in {ui.duration(time.monotonic() - unpacking[0])}", flush=True)


def native_tags(image: dict) -> list[str]:
    """dlab:<version>-<flavor> and dlab:<flavor> for an image saved under its architecture's tag: it is this host's build."""
    flavor, version = image["flavor"], image.get("version", "")
    if flavor not in images.FLAVORS or not version or image["ref"] != images.arch_tag(flavor, image["architecture"], version):
        return []
    return [images.versioned_tag(flavor, version), images.moving_tag(flavor)]


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

    tar, members, manifest = open_checked(args.archive, args.expect)
    with tar:
        asked = [i for i in manifest["images"] if args.flavor in ("all", i["flavor"])]
        if not asked:
            flavors = ", ".join(i["flavor"] for i in manifest["images"]) or "none"
            raise UserError(f"the bundle has no {args.flavor} image (it has: {flavors})",
                            "leave out --flavor, or pick one it has")
        arch = engine.native_architecture()
        chosen = [i for i in asked if not arch or not i.get("architecture") or i["architecture"] == arch]
        if not chosen:
            has = ", ".join(f"{i['flavor']} for {i['architecture']}" for i in asked)
            raise UserError(f"the bundle has no image for this Docker engine's architecture, {arch} (it has: {has})",
                            f"make the bundle with `dlab bundle --platform all` (or --platform linux/{arch})")
        for image in chosen:
            image["tags"] = list(dict.fromkeys([*image["tags"], *native_tags(image)]))
        tags = [t for i in chosen for t in i["tags"]]
        before = {t: image_id(t) for t in tags}
        try:
            for image in chosen:
                load_one(tar, members, image)
                for tag in native_tags(image):
                    engine.run(["tag", image["ref"], tag])
                for tag in image["tags"]:
                    if image_id(tag) != image["id"]:
                        raise DlabError(f"after loading, {tag} is not image {image['id'][:19]}",
                                        "see `docker images`; run `dlab load` again, or report this")
        except BaseException:
            undo(before, tags)
            raise
    others = sorted({i["architecture"] for i in asked if i.get("architecture")} - {arch})
    if others:
        print(f"left out: the bundle's images for {', '.join(others)} (this engine runs {arch})")
    for image in chosen:
        moved = [t for t in image["tags"] if before.get(t) not in (None, image["id"])]
        print(f"loaded {', '.join(image['tags'])} ({image['flavor']}, {image['id'][7:19]}, "
              f"{image['size_bytes'] / 1e9:.2f} GB)")
        for tag in moved:
            print(f"note: {tag} now names this image; the one it named before ({(before[tag] or '')[7:19]}) is kept untagged")
    labs = [image for image in chosen if image["flavor"] != "hub"]
    if labs:
        first = labs[0]
        default = first["flavor"] in images.FLAVORS and images.versioned_tag(first["flavor"]) in first["tags"]
        print(f"next: `dlab up{'' if default else ' --image ' + first['ref']}`  "
              f"(the course notebooks are in the archive's {TOP}/course/ too)")
    if len(labs) < len(chosen):
        print("the classroom hub: `dlab hub up --settings class.toml` (docs/classroom.md)")
    return 0
