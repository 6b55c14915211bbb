"""`dlab bundle OUT`: the images, the course, a wheelhouse and the launcher in one checked archive.

Also registers `dlab load` (load.py) and `dlab registry` (registry.py): the offline classroom.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path

from . import archive, engine, images, wheels
from .errors import UserError

GZIP_LEVEL = 3  # docker load reads gzip; level 3 is near level 6 in size at twice the speed
LAUNCHER = Path(__file__).resolve().parent


def add_parser(subparsers):
    from . import load, registry

    p = subparsers.add_parser("bundle", help="write the lab (images, course, wheels) into one archive for offline use",
                              description="Write one archive for a USB stick or a classroom share: the image(s) "
                              "(docker save, gzip), the rendered notebooks, a wheelhouse of the locked packages, the "
                              "launcher, a README and a manifest with the sha256 of every part.")
    p.add_argument("out", metavar="OUT", help="archive to write (a folder: dlab-<version>-<flavor>.tar inside it)")
    p.add_argument("--flavor", default="cpu", choices=("cpu", "cuda", "all"), help="which image(s) (default: cpu)")
    p.add_argument("--image", metavar="REF", help="bundle this image instead of dlab:<version>-<flavor>")
    p.add_argument("--allow-missing", action="store_true", help="bundle an image whose data sets or weights are missing")
    wheels = p.add_mutually_exclusive_group()
    wheels.add_argument("--no-wheels", action="store_true", help="leave the wheelhouse out")
    wheels.add_argument("--wheels-from", metavar="DIR", help="take the wheels from DIR instead of downloading them")
    p.set_defaults(func=run)
    load.add_parser(subparsers)
    registry.add_parser(subparsers)


def inspect_image(ref):
    result = engine.run(["image", "inspect", ref], check=False)
    if result.returncode != 0:
        if engine.daemon_state(result.stderr):
            raise engine.engine_error(result.stderr, ["image"])
        return None
    return json.loads(result.stdout)[0]


def chosen_images(args):
    """[{ref, tags, id, flavor, ...}] of the images to bundle; UserError when one is not there."""
    if args.image:
        found = inspect_image(args.image)
        if found is None:
            raise UserError(f"image {args.image} is not in the Docker engine", "check the name with `docker images`")
        flavor = (found["Config"].get("Labels") or {}).get("org.dlab.flavor", "unknown")
        return [describe(args.image, [args.image], flavor, found)]
    flavors = images.FLAVORS if args.flavor == "all" else (args.flavor,)
    chosen = []
    for flavor in flavors:
        ref = images.versioned_tag(flavor)
        found = inspect_image(ref)
        if found is None:
            other = [f for f in images.FLAVORS if f != flavor]
            raise UserError(f"image {ref} is not built", f"build it with `dlab build --flavor {flavor}`"
                            + (f", or bundle only --flavor {other[0]}" if args.flavor == "all" else ""))
        moving = inspect_image(images.moving_tag(flavor))
        tags = [ref] + ([images.moving_tag(flavor)] if moving and moving["Id"] == found["Id"] else [])
        chosen.append(describe(ref, tags, flavor, found))
    return chosen


def describe(ref, tags, flavor, found):
    labels = found["Config"].get("Labels") or {}
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ref)[:60]
    return {"ref": ref, "tags": tags, "id": found["Id"], "flavor": flavor, "size_bytes": found["Size"],
            "architecture": found.get("Architecture", ""), "tensorflow": labels.get("org.dlab.tensorflow", ""),
            "version": labels.get("org.opencontainers.image.version", ""), "file": f"images/{name}.tar.gz"}


def read_from_image(ref):
    """(assets.json record, {course path: bytes}) copied out of a created, never started, container."""
    container = engine.run(["create", ref]).stdout.strip()
    try:
        assets = tar_files(engine_bytes(["cp", f"{container}:/opt/dlab/assets.json", "-"], ref))
        course = tar_files(engine_bytes(["cp", f"{container}:/opt/dlab/course", "-"], ref))
    finally:
        engine.run(["rm", container], check=False)
    record = json.loads(assets.get("assets.json", b"{}") or b"{}")
    keep = {name[len("course/"):]: data for name, data in course.items()
            if re.fullmatch(r"course/(exercises|solutions)/[^/]+\.ipynb|course/course\.toml", name)}
    return record, keep


def engine_bytes(args, ref):
    result = subprocess.run([engine.docker_cli() or "docker", *args], capture_output=True)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace")
        if "Could not find the file" in message or "No such container:path" in message:
            raise UserError(f"{ref} is not a dlab lab image (it has no {args[1].split(':', 1)[1]})",
                            "bundle an image that `dlab build` made")
        raise engine.engine_error(message, args)
    return result.stdout


def tar_files(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def missing_assets(record):
    """Names of missing assets (the smoke check's reading of assets.json, both layouts)."""
    if isinstance(record.get("missing"), list):
        return [a if isinstance(a, str) else a.get("name", "?") for a in record["missing"]]
    entries = record.get("assets", [])
    if isinstance(entries, dict):
        entries = [dict(v, name=k) if isinstance(v, dict) else {"name": k, "status": v} for k, v in entries.items()]
    return [e.get("name", "?") for e in entries if isinstance(e, dict)
            and (e.get("status") == "missing" or e.get("present") is False)]


def out_path(out, chosen):
    path = Path(out).expanduser()
    if path.is_dir():
        flavors = "-".join(dict.fromkeys(i["flavor"] for i in chosen))
        path = path / f"dlab-{images.version()}-{flavors}.tar"
    if path.exists():
        raise UserError(f"{path} already exists", "pick another name, or move the old bundle away (it is left as it is)")
    if not path.parent.is_dir():
        raise UserError(f"the folder {path.parent} does not exist", "create it first, or write the bundle elsewhere")
    if not os.access(path.parent, os.W_OK):
        raise UserError(f"cannot write into {path.parent}", "pick a folder you can write to")
    if Path(f"{path}.partial").exists():
        raise UserError(f"{path}.partial exists (left by an interrupted bundle?)", f"remove {path}.partial and run again")
    return path


def save_chunks(image, progress):
    """`docker save` of the image's tags, gzip-compressed, as a stream of chunks."""
    proc = subprocess.Popen([engine.docker_cli() or "docker", "save", *image["tags"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    try:
        for block in iter(lambda: proc.stdout.read(archive.CHUNK), b""):
            progress.add(len(block))
            packed = packer.compress(block)
            if packed:
                yield packed
        yield packer.flush()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        error = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if proc.wait() != 0:
            raise engine.engine_error(error, ["save"])


def wheelhouse(args, chosen):
    """({file name: path}, missing pins, locks) or nothing with --no-wheels."""
    flavors = [i["flavor"] for i in chosen if i["flavor"] in images.FLAVORS]
    if args.no_wheels or not flavors:
        return {}, [], []
    if args.wheels_from:
        folder = Path(args.wheels_from).expanduser()
    else:
        folder = wheels.default_cache()
        wheels.download(flavors, folder, chosen[0]["architecture"] or "amd64")
    found, missing = wheels.select(flavors, folder)
    if missing:
        print(f"note: {len(missing)} locked packages have no wheel in {folder} and are left out of the wheelhouse "
              f"(e.g. {', '.join(missing[:3])})", flush=True)
    return found, missing, flavors


def run(args):
    chosen = chosen_images(args)
    out = out_path(args.out, chosen)
    contents = {}
    for image in chosen:
        record, course = read_from_image(image["ref"])
        image["assets_missing"] = missing_assets(record)
        if image["assets_missing"] and not args.allow_missing:
            raise UserError(f"{image['ref']} lacks course assets: {', '.join(image['assets_missing'])}",
                            "build the image where the network reaches the asset URLs, or pass --allow-missing "
                            "(the notebooks that need them fall back to smoke data)")
        contents = contents or course
    wheel_files, wheels_missing, locks = wheelhouse(args, chosen)
    started = time.monotonic()
    partial, f = archive.open_new(out)
    try:
        with f:
            writer = archive.Writer(f)
            for image in chosen:
                progress = archive.Progress(f"saving {image['ref']}", image["size_bytes"])
                part = writer.add_stream(image["file"], save_chunks(image, progress))
                progress.finish(f" read, {part['size'] / 1e6:,.0f} MB written")
            for name, data in sorted(contents.items()):
                writer.add_bytes(f"course/{name}", data)
            add_launcher(writer)
            if wheel_files:
                progress = archive.Progress("adding the wheelhouse", sum(p.stat().st_size for p in wheel_files.values()))
                for name, path in sorted(wheel_files.items()):
                    progress.add(writer.add_file(f"wheels/{name}", path)["size"])
                for flavor in locks:
                    writer.add_file(f"wheels/{flavor}.lock", str(wheels.lock_path(flavor)))
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
    print(f"next: copy it to the stick or share, then on each machine: `dlab load {out.name}`")
    return 0


def add_launcher(writer):
    """The launcher itself (standard library only), so a laptop without the checkout can `dlab load`."""
    for path in sorted(LAUNCHER.glob("*.py")):
        if not path.name.startswith("bench"):
            writer.add_file(f"scripts/dlab/{path.name}", str(path))
    writer.add_bytes("VERSION", (images.version() + "\n").encode())


def manifest_for(chosen, contents, wheel_files, wheels_missing, locks):
    return {
        "version": images.version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "images": chosen,
        "course": sorted(contents),
        "wheels": {"locks": locks, "files": len(wheel_files), "missing": wheels_missing},
    }


def readme(chosen, out, with_wheels, locks):
    refs = "\n".join(f"  {i['file']}  ({', '.join(i['tags'])}, {i['flavor']})" for i in chosen)
    first = chosen[0]["tags"][0]
    wheels = (f"""
Wheels (Linux x86_64, Python 3.11), the exact packages the image pins:
  tar -xf {out.name} {archive.TOP}/wheels
  pip install --no-index --find-links {archive.TOP}/wheels -r {archive.TOP}/wheels/{locks[0]}.lock
""" if with_wheels else "")
    return f"""dlab {images.version()}: the deep-learning lab for a classroom without internet
=================================================================

This archive holds the lab image(s), the course notebooks, the dlab launcher and
a manifest (MANIFEST.json, SHA256SUMS) with the sha256 of every part.

Images:
{refs}

With the launcher (needs Python 3 and Docker):
  tar -xf {out.name} {archive.TOP}/scripts {archive.TOP}/VERSION
  python3 {archive.TOP}/scripts/dlab load {out.name}
  python3 {archive.TOP}/scripts/dlab up{'' if first == images.versioned_tag(chosen[0]['flavor']) else ' --image ' + first}

By hand (Docker only):
  tar -xf {out.name}
  cd {archive.TOP} && sha256sum -c SHA256SUMS
  docker load -i {chosen[0]['file']}
  docker run --rm -p 127.0.0.1:8888:8888 --user "$(id -u):$(id -g)" -v "$PWD/work:/home/jovyan/work" {first}

The rendered notebooks are also in {archive.TOP}/course/ (exercises, solutions).
{wheels}
More: docs/offline.md in the dlab repository (classroom registry, Apptainer/Slurm).
"""
