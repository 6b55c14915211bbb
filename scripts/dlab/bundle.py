"""`dlab bundle OUT`: the images, the course, a wheelhouse and the launcher in one checked archive."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from pathlib import Path

from . import engine, images
from .defaults import CONTAINER_PORT, WORK_TARGET, Label
from .errors import UserError

GZIP_LEVEL = 3  # docker load reads gzip; level 3 is near level 6 in size at twice the speed
LAUNCHER = Path(__file__).resolve().parent


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bundle", help="write the lab (images, course, wheels) into one archive for offline use",
                              description="Write one archive for a USB stick or a classroom share: the image(s) "
                              "(docker save, gzip), the rendered notebooks, a wheelhouse of the locked packages, the "
                              "launcher, a README and a manifest with the sha256 of every part.")
    p.add_argument("out", metavar="OUT", help="archive to write (a folder: dlab-<version>-<flavor>.tar inside it)")
    add_image_options(p, "bundle")
    p.add_argument("--hub", action="store_true", help="add the classroom hub's image (`dlab hub`), for a class without internet")
    p.add_argument("--platform", metavar="linux/amd64|linux/arm64|all",
                   help="the images built for this architecture (`dlab build --platform`), or for all: one stick for "
                   "Intel and Apple laptops (default: the engine's own build)")
    p.add_argument("--allow-missing", action="store_true", help="bundle an image whose data sets or weights are missing")
    wheels = p.add_mutually_exclusive_group()
    wheels.add_argument("--no-wheels", action="store_true", help="leave the wheelhouse out")
    wheels.add_argument("--wheels-from", metavar="DIR", help="take the wheels from DIR instead of downloading them")
    p.set_defaults(func=run)


def add_image_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """--flavor and --image, as `dlab bundle` and `dlab registry push` take them."""
    parser.add_argument("--flavor", default="cpu", choices=(*images.FLAVORS, "all"), help="which image(s) (default: cpu)")
    parser.add_argument("--image", metavar="REF", help=f"{verb} this image instead of dlab:<version>-<flavor>")


def chosen_images(args: argparse.Namespace, verb: str) -> list[tuple[str, list[str], engine.Image]]:
    """[(ref, tags, image)] that --image, --flavor and --platform name; UserError when one is not there."""
    if args.image:
        found = engine.inspect_image(args.image)
        if found is None:
            raise UserError(f"image {args.image} is not in the Docker engine", "check the name with `docker images`")
        return [(args.image, [args.image], found)]
    platform = getattr(args, "platform", None)
    arches = ("amd64", "arm64") if platform == "all" else (images.parse_platform(platform),) if platform else ("",)
    chosen = []
    for flavor in images.FLAVORS if args.flavor == "all" else (args.flavor,):
        for arch in arches:
            if arch and arch not in images.FLAVORS[flavor].architectures:
                if platform != "all":
                    images.check_locked(flavor, arch)
                continue  # --platform all: every architecture the flavor is made for
            ref = images.arch_tag(flavor, arch) if arch else images.versioned_tag(flavor)
            found = engine.inspect_image(ref)
            if found is None:
                other = next(f for f in images.FLAVORS if f != flavor)
                build = f"dlab build --flavor {flavor}" + (f" --platform linux/{arch}" if arch else "")
                raise UserError(f"image {ref} is not built", f"build it with `{build}` (or `dlab load` a "
                                "bundle)" + (f", or {verb} only --flavor {other}" if args.flavor == "all" else ""))
            native = [t for t in (images.versioned_tag(flavor), images.moving_tag(flavor)) if names_same_image(t, found)]
            chosen.append((ref, list(dict.fromkeys([ref, *native])), found))
    return chosen


def hub_image() -> list[tuple[str, list[str], engine.Image]]:
    """The classroom hub's image, with its moving tag when that names the same image."""
    from . import hub

    ref, moving = hub.hub_image(), f"{images.REPOSITORY}:hub"
    found = engine.inspect_image(ref)
    if found is None:
        raise UserError(f"image {ref} is not built", "build it with `dlab hub build`, or bundle without --hub")
    same = engine.inspect_image(moving)
    return [(ref, [ref] + ([moving] if same and same.id == found.id else []), found)]


def names_same_image(ref: str, image: engine.Image) -> bool:
    found = engine.inspect_image(ref)
    return found is not None and found.id == image.id


def describe(ref: str, tags: list[str], image: engine.Image) -> dict:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ref)[:60]
    return {"ref": ref, "tags": tags, "id": image.id, "flavor": image.labels.get(Label.FLAVOR, "unknown"),
            "size_bytes": image.size, "architecture": image.architecture, "tensorflow": image.labels.get(Label.TENSORFLOW, ""),
            "version": image.labels.get(Label.VERSION, ""), "file": f"images/{name}.tar.gz"}


def read_from_image(ref: str) -> tuple[dict, dict[str, bytes]]:
    """(assets.json record, {course path: bytes}) copied out of a created, never started, container."""
    import json

    container = engine.run(["create", ref]).stdout.strip()
    try:
        assets, course = (tar_files(copy_out(container, path, ref)) for path in ("/opt/dlab/assets.json", "/opt/dlab/course"))
    finally:
        engine.run(["rm", container], check=False)
    record = json.loads(assets.get("assets.json", b"{}") or b"{}")
    keep = {name[len("course/"):]: data for name, data in course.items()
            if re.fullmatch(r"course/(exercises|solutions)/[^/]+\.ipynb|course/course\.toml", name)}
    return record, keep


def copy_out(container: str, path: str, ref: str) -> bytes:
    try:
        return b"".join(engine.chunks(["cp", f"{container}:{path}", "-"]))
    except engine.EngineError as exc:
        if exc.failure.kind == "no-such-path":
            raise UserError(f"{ref} is not a dlab lab image (it has no {path})",
                            "bundle an image that `dlab build` made") from None
        raise


def tar_files(data: bytes) -> dict[str, bytes]:
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def out_path(out: str, chosen: list[dict], name_arches: bool = False) -> Path:
    path = Path(out).expanduser()
    if path.is_dir():
        parts = [i["flavor"] for i in chosen] + ([i["architecture"] for i in chosen] if name_arches else [])
        path = path / f"dlab-{images.version()}-{'-'.join(dict.fromkeys(parts))}.tar"
    if path.exists():
        raise UserError(f"{path} already exists", "pick another name, or move the old bundle away (it is left as it is)")
    if not path.parent.is_dir():
        raise UserError(f"the folder {path.parent} does not exist", "create it first, or write the bundle elsewhere")
    if not os.access(path.parent, os.W_OK):
        raise UserError(f"cannot write into {path.parent}", "pick a folder you can write to")
    if Path(f"{path}.partial").exists():
        raise UserError(f"{path}.partial exists (left by an interrupted bundle?)", f"remove {path}.partial and run again")
    return path


def save_chunks(image: dict, progress) -> Iterator[bytes]:
    """`docker save` of the image's tags, gzip-compressed, as a stream of chunks."""
    import zlib

    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    for block in engine.chunks(["save", *image["tags"]]):
        progress.add(len(block))
        packed = packer.compress(block)
        if packed:
            yield packed
    yield packer.flush()


def wheelhouse(args: argparse.Namespace, chosen: list[dict]) -> tuple[dict[str, Path], list[str], list[str]]:
    """({file name: path}, missing pins, locks as <flavor>-<arch>) or nothing with --no-wheels."""
    from . import wheels

    by_arch: dict[str, list[str]] = {}
    for image in chosen:
        if image["flavor"] in images.FLAVORS:
            by_arch.setdefault(images.architecture(image["architecture"] or "amd64"), []).append(image["flavor"])
    if args.no_wheels or not by_arch:
        return {}, [], []
    folder = Path(args.wheels_from).expanduser() if args.wheels_from else wheels.default_cache()
    found: dict[str, Path] = {}
    missing: list[str] = []
    for arch, flavors in by_arch.items():
        if not args.wheels_from:
            wheels.download(flavors, folder, arch)
        files, lacking = wheels.select(flavors, folder, arch)
        found.update(files)
        missing += [f"{pin} ({arch})" for pin in lacking]
    if missing:
        print(f"note: {len(missing)} locked packages have no wheel in {folder} and are left out of the wheelhouse "
              f"(e.g. {', '.join(missing[:3])})", flush=True)
    return found, missing, [f"{flavor}-{arch}" for arch, flavors in by_arch.items() for flavor in flavors]


def run(args: argparse.Namespace) -> int:
    import time

    from . import archive, ui

    chosen = [describe(*found) for found in chosen_images(args, "bundle")]
    check_repository(chosen)
    hub = [describe(*found) for found in hub_image()] if args.hub else []
    out = out_path(args.out, chosen + hub, name_arches=bool(args.platform))
    contents: dict[str, bytes] = {}
    for image in chosen:
        if image["flavor"] == "hub":  # the classroom hub's image carries no course
            continue
        record, course = read_from_image(image["ref"])
        image["assets_missing"] = [asset.get("name", "?") for asset in record.get("missing", [])]  # as assets.py writes it
        if image["assets_missing"] and not args.allow_missing:
            raise UserError(f"{image['ref']} lacks course assets: {', '.join(image['assets_missing'])}",
                            "build the image where the network reaches the asset URLs, or pass --allow-missing "
                            "(the notebooks that need them fall back to smoke data)")
        contents = contents or course
    wheel_files, wheels_missing, locks = wheelhouse(args, chosen)
    chosen += hub  # it carries no course: only its image travels
    started = time.monotonic()
    partial, f = archive.open_new(out)
    try:
        with f:
            writer = archive.Writer(f)
            for image in chosen:
                progress = ui.Progress(f"saving {image['ref']}", image["size_bytes"])
                part = writer.add_stream(image["file"], save_chunks(image, progress))
                progress.finish(f" read, {ui.megabytes(part['size'])} written")
            for name, data in sorted(contents.items()):
                writer.add_bytes(f"course/{name}", data)
            add_launcher(writer)
            if wheel_files:
                progress = ui.Progress("adding the wheelhouse", sum(p.stat().st_size for p in wheel_files.values()))
                for name, path in sorted(wheel_files.items()):
                    progress.add(writer.add_file(f"wheels/{name}", path)["size"])
                for lock in locks:
                    flavor, arch = lock.rsplit("-", 1)
                    writer.add_file(f"wheels/{lock}.lock", str(images.FLAVORS[flavor].lock(arch)))
                progress.finish(f" in {len(wheel_files)} files")
            manifest = writer.close(manifest_for(chosen, contents, wheel_files, wheels_missing, locks),
                                    readme(chosen, out, bool(wheel_files), locks))
            f.flush()
            os.fsync(f.fileno())
        os.rename(partial, out)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    size = out.stat().st_size
    images_size = sum(i["size_bytes"] for i in chosen)
    print(f"wrote {out}: {size / 1e9:.2f} GB ({len(manifest['parts'])} parts, images {images_size / 1e9:.2f} GB "
          f"uncompressed) in {time.monotonic() - started:.0f} s")
    digest = file_sha256(out)
    print(f"sha256 of the bundle: {digest}")
    print("next: copy it to the stick or share, and hand out the sha256 another way (on the board, in the course page);"
          f" then on each machine: `dlab load --expect {digest} {out.name}`")
    return 0


def check_repository(chosen: list[dict]) -> None:
    """A bundle carries tags of the lab's repository only: `dlab load` refuses any other (it could move debian:...)."""
    from .load import ours

    for tag in [tag for image in chosen for tag in image["tags"]]:
        if not ours(tag):
            raise UserError(f"{tag} is not a tag of the {images.REPOSITORY} repository, the only one a bundle may carry",
                            f"tag it into it first (`docker tag {tag} {images.REPOSITORY}:<name>`), then bundle that")


def file_sha256(path: Path) -> str:
    """The sha256 of the whole bundle, read back from the disk it was written to."""
    from . import archive, ui

    progress = ui.Progress("computing the bundle's sha256", path.stat().st_size)
    with open(path, "rb") as f:
        digest = archive.Reader(f, progress).finish()
    progress.finish()
    return digest


def add_launcher(writer) -> None:
    """The launcher itself (standard library only), so a laptop without the checkout can `dlab load`."""
    for path in sorted(LAUNCHER.glob("*.py")):
        writer.add_file(f"scripts/dlab/{path.name}", str(path))
    writer.add_bytes("VERSION", (images.version() + "\n").encode())


def manifest_for(chosen: list[dict], contents: dict[str, bytes], wheel_files: dict[str, Path],
                 wheels_missing: list[str], locks: list[str]) -> dict:
    from datetime import datetime, timezone

    return {
        "version": images.version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "images": chosen,
        "course": sorted(contents),
        "wheels": {"locks": locks, "files": len(wheel_files), "missing": wheels_missing},
    }


def readme(chosen: list[dict], out: Path, with_wheels: bool, locks: list[str]) -> str:
    from .archive import TOP
    from .load import native_tags

    refs = "\n".join(f"  {i['file']}  ({', '.join(i['tags'])}, {i['flavor']}, {i['architecture']})" for i in chosen)
    first = chosen[0]["tags"][0]
    default = (chosen[0]["flavor"] in images.FLAVORS
               and images.versioned_tag(chosen[0]["flavor"]) in [*chosen[0]["tags"], *native_tags(chosen[0])])
    wheels = (f"""
Wheels (Linux, Python {images.python_version()}), the exact packages the images pin, one lock per image
({', '.join(f'{lock}.lock' for lock in locks)}):
  tar -xf {out.name} {TOP}/wheels
  pip install --no-index --find-links {TOP}/wheels -r {TOP}/wheels/{locks[0]}.lock
""" if with_wheels else "")
    return f"""dlab {images.version()}: the deep-learning lab for a classroom without internet
=================================================================

This archive holds the lab image(s), the course notebooks, the dlab launcher and
a manifest (MANIFEST.json, SHA256SUMS) with the sha256 of every part.

Images:
{refs}

With the launcher (needs Python 3 and Docker):
  tar -xf {out.name} {TOP}/scripts {TOP}/VERSION
  python3 {TOP}/scripts/dlab load {out.name}
  python3 {TOP}/scripts/dlab up{'' if default else ' --image ' + first}

By hand (Docker only):
  tar -xf {out.name}
  cd {TOP} && sha256sum -c SHA256SUMS
  docker load -i {chosen[0]['file']}
  docker run --rm -p 127.0.0.1:{CONTAINER_PORT}:{CONTAINER_PORT} --user "$(id -u):$(id -g)" -v "$PWD/work:{WORK_TARGET}" {first}

The rendered notebooks are also in {TOP}/course/ (exercises, solutions).
{wheels}
More: docs/offline.md in the dlab repository (classroom registry, Apptainer/Slurm).
"""
