"""Fetch the course assets once, at image build time, and lay them out for the notebooks.

    python assets.py fetch --manifest course.toml --cache DIR --root /opt/dlab [--only NAME ...]
    python assets.py prepare --root /opt/dlab [--manifest course.toml] [--cache DIR]

fetch downloads each [[assets]] entry of course.toml into the cache (resuming a
broken download with an HTTP Range request), checks its sha256 (or md5 where
upstream publishes only that), installs it under ROOT/<dest> and records what is
present and what is missing in ROOT/assets.json. An asset that cannot be fetched
is reported and recorded as missing; the exit code is 0 unless --strict.
prepare builds ROOT/data/faces.h5 from the fetched Labeled Faces in the Wild archive.

Standalone on purpose: fetch needs only the standard library, so the image build
can run it before the rest of the course is copied in.
"""

import argparse
import hashlib
import ipaddress
import json
import os
import shutil
import ssl
import sys
import tarfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_CACHE = os.environ.get("DLAB_ASSET_CACHE", "/var/cache/dlab-assets")
CHUNK = 1 << 16
CIFAR_DIR = "cifar-10-batches-py-target"  # what keras.datasets.cifar10 (Keras 3.6+) asks get_file for
FACE_SIZE = 64
FACE_PEOPLE = 8
FACE_MAX_PER_PERSON = 150
FACE_CROP = (slice(75, 185), slice(70, 180))  # rows, columns of the 250x250 funneled image
FACE_SPLIT = (0.7, 0.15, 0.15)


class AssetError(Exception):
    """One asset could not be fetched or installed; the message says why."""


def say(message):
    print(message, flush=True)


# ---------------------------------------------------------------- manifest

def load_assets(manifest):
    try:
        data = tomllib.loads(Path(manifest).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(usage_error(f"no manifest at {manifest}", "pass --manifest PATH/TO/course.toml"))
    except tomllib.TOMLDecodeError as exc:
        raise SystemExit(usage_error(f"{manifest} is not valid TOML: {exc}", "fix the file and run again"))
    assets = data.get("assets", [])
    for asset in assets:
        missing = [k for k in ("name", "url", "dest") if k not in asset]
        if missing or not ("sha256" in asset or "md5" in asset):
            what = ", ".join(missing) or "sha256 (or md5)"
            raise SystemExit(usage_error(f"asset {asset.get('name', '?')} in {manifest} lacks {what}", "complete the [[assets]] entry"))
    return assets


def usage_error(what, fix):
    print(f"error: {what}", file=sys.stderr)
    print(f"fix: {fix}", file=sys.stderr)
    return 2


def expected_hash(asset):
    """(algorithm, hex digest) the download must match."""
    if "sha256" in asset:
        return "sha256", asset["sha256"].lower()
    return "md5", asset["md5"].lower()


def file_hash(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_path(cache, asset):
    return Path(cache) / asset["name"] / (Path(asset["url"].split("?")[0]).name or asset["name"])


# ---------------------------------------------------------------- download

class Progress:
    """Prints a line every 10% (or every 10 s when the size is unknown)."""

    def __init__(self, name, total):
        self.name, self.total = name, total
        self.next_percent, self.last_time = 10, time.monotonic()

    def update(self, done):
        if self.total:
            percent = 100 * done // self.total
            if percent >= self.next_percent:
                say(f"{self.name}: {percent}% ({done / 1e6:.1f} of {self.total / 1e6:.1f} MB)")
                self.next_percent = percent - percent % 10 + 10
        elif time.monotonic() - self.last_time > 10:
            say(f"{self.name}: {done / 1e6:.1f} MB")
            self.last_time = time.monotonic()


def ssl_context(cafile=None):
    """Verifying TLS context; --cafile or SSL_CERT_FILE for a TLS-intercepting proxy."""
    cafile = cafile or os.environ.get("SSL_CERT_FILE") or None
    return ssl.create_default_context(cafile=cafile)


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_url(request, context, timeout):
    """urlopen: through the proxy variables to the internet, but direct to a mirror on this machine (a loopback
    address never goes through a proxy)."""
    handlers = [urllib.request.HTTPSHandler(context=context)]
    if is_loopback(urllib.parse.urlsplit(request.full_url).hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers).open(request, timeout=timeout)


def download_once(asset, part, context, timeout):
    """Append the rest of the file to part (resuming with Range); returns True when done."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(asset["url"], headers={"User-Agent": "dlab-assets/1"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = open_url(request, context, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the part is already whole (or bigger): start over
            part.unlink()
            return False
        raise
    with response:
        if have and response.status == 206:
            say(f"{asset['name']}: resuming at {have / 1e6:.1f} MB")
            mode = "ab"
        else:
            have, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        total = have + int(length) if length else asset.get("size")
        progress = Progress(asset["name"], total)
        with open(part, mode) as out:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                have += len(chunk)
                progress.update(have)
    if length and have < total:
        return False
    return True


def fetch_one(asset, cache, context, timeout=20, retries=3):
    """Download (or reuse) the verified file in the cache; returns its path or raises AssetError."""
    target = cache_path(cache, asset)
    algorithm, expected = expected_hash(asset)
    if target.exists():
        if file_hash(target, algorithm) == expected:
            say(f"{asset['name']}: in the cache ({target})")
            return target
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    say(f"{asset['name']}: downloading {asset['url']}")
    fresh_retry_done = False
    attempt = 0
    while True:
        attempt += 1
        resumed = part.exists() and part.stat().st_size > 0
        try:
            complete = download_once(asset, part, context, timeout)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            complete, error = False, exc
        else:
            error = None
        if complete:
            got = file_hash(part, algorithm)
            if got == expected:
                os.replace(part, target)
                say(f"{asset['name']}: {algorithm} verified")
                return target
            part.unlink()
            if resumed and not fresh_retry_done:  # a resumed file may mix two versions: one clean try
                fresh_retry_done = True
                say(f"{asset['name']}: {algorithm} mismatch after resuming; downloading again from the start")
                continue
            raise AssetError(f"{algorithm} mismatch: expected {expected}, got {got}")
        if attempt >= retries:
            if part.exists():
                part.unlink()
            reason = describe(error) if error else "the download ended early"
            raise AssetError(f"download failed after {attempt} tries: {reason}")
        say(f"{asset['name']}: download interrupted ({describe(error) if error else 'ended early'}); retrying")
        time.sleep(min(2 ** attempt, 10) / 10)


def describe(exc):
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- install

def make_shared(path):
    """Writable by any user (the notebook user's uid is not known at build time)."""
    path = Path(path)
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            os.chmod(root, 0o777)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666)
    else:
        os.chmod(path, 0o666)


def copy_into(source, dest):
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, dest)
    make_shared(dest)


def safe_extract(tar, target):
    """extractall that refuses paths leaving target (tar filters exist only from Python 3.11.4)."""
    target = Path(target).resolve()
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
        return
    for member in tar.getmembers():
        path = (target / member.name).resolve()
        if target not in path.parents and path != target or member.issym() or member.islnk():
            raise AssetError(f"refusing the archive member {member.name}")
    tar.extractall(target)


def install_keras_cifar10(source, dest):
    """The archive as get_file keeps it (<fname>_archive) and its extraction (<fname>/)."""
    datasets = dest.parent
    copy_into(source, datasets / f"{CIFAR_DIR}_archive")
    extract_to = datasets / CIFAR_DIR
    if extract_to.exists():
        shutil.rmtree(extract_to)
    with tarfile.open(source) as tar:
        safe_extract(tar, extract_to)
    make_shared(extract_to)


def install_member(source, dest, member, member_sha256=None):
    """One file from a tar or zip archive, checked against its own sha256 when given."""
    import zipfile

    if tarfile.is_tarfile(source):
        with tarfile.open(source) as tar:
            try:
                payload = tar.extractfile(member).read()
            except (KeyError, AttributeError):
                raise AssetError(f"{member} is not in the archive") from None
    else:
        with zipfile.ZipFile(source) as archive:
            try:
                payload = archive.read(member)
            except KeyError:
                raise AssetError(f"{member} is not in the archive") from None
    if member_sha256 and hashlib.sha256(payload).hexdigest() != member_sha256.lower():
        raise AssetError(f"sha256 mismatch for {member}: expected {member_sha256}, got {hashlib.sha256(payload).hexdigest()}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, dest)
    make_shared(dest)


def install(asset, source, root):
    """Put a verified download in place; returns False for assets that prepare builds."""
    dest = Path(root) / asset["dest"]
    how = asset.get("install", "copy")
    if how == "copy":
        copy_into(source, dest)
    elif how == "keras-cifar10":
        install_keras_cifar10(source, dest)
    elif how == "member":
        install_member(source, dest, asset["member"], asset.get("member_sha256"))
    elif how == "build-faces":
        return False
    else:
        raise AssetError(f"unknown install = {how!r}")
    top = Path(root) / Path(asset["dest"]).parts[0]  # keras/ or data/: users may add files there too
    os.chmod(top, 0o777)
    return True


# ---------------------------------------------------------------- record

def read_record(root):
    path = Path(root) / "assets.json"
    try:
        record = json.loads(path.read_text())
        return {"present": list(record.get("present", [])), "missing": list(record.get("missing", []))}
    except (FileNotFoundError, ValueError):
        return {"present": [], "missing": []}


def write_record(root, record, updates):
    """Merge {name: (present?, asset, reason)} into ROOT/assets.json."""
    for name, (present, asset, reason) in updates.items():
        record["present"] = [n for n in record["present"] if n != name]
        record["missing"] = [m for m in record["missing"] if m.get("name") != name]
        if present:
            record["present"].append(name)
        else:
            record["missing"].append({"name": name, "url": asset["url"], "reason": reason})
    path = Path(root) / "assets.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    os.chmod(path, 0o644)
    return record


# ---------------------------------------------------------------- commands

def cmd_fetch(args):
    assets = load_assets(args.manifest)
    names = [a["name"] for a in assets]
    unknown = [n for n in args.only or [] if n not in names]
    if unknown:
        return usage_error(f"no asset named {', '.join(unknown)} in {args.manifest}", f"choose from: {' '.join(names)}")
    chosen = [a for a in assets if not args.only or a["name"] in args.only]
    try:
        context = ssl_context(args.cafile)
    except (OSError, ssl.SSLError) as exc:
        return usage_error(f"cannot use the CA bundle {args.cafile or os.environ.get('SSL_CERT_FILE')}: {exc}",
                           "pass --cafile with a readable PEM bundle (or unset SSL_CERT_FILE)")
    updates = {}
    for asset in chosen:
        try:
            source = fetch_one(asset, args.cache, context, args.timeout, args.retries)
            if install(asset, source, args.root):
                updates[asset["name"]] = (True, asset, "")
                say(f"{asset['name']}: installed at {Path(args.root) / asset['dest']}")
            else:
                updates[asset["name"]] = (False, asset, f"downloaded; `assets.py prepare` builds {asset['dest']}")
        except AssetError as exc:
            updates[asset["name"]] = (False, asset, str(exc))
            say(f"{asset['name']}: MISSING: {exc}")
    record = write_record(args.root, read_record(args.root), updates)
    missing = [m for m in record["missing"] if m["name"] in updates and not m["reason"].startswith("downloaded;")]
    if missing:
        say(f"assets missing from this build: {' '.join(m['name'] for m in missing)} (recorded in {Path(args.root) / 'assets.json'})")
        if args.strict:
            print(f"error: {len(missing)} asset(s) could not be fetched", file=sys.stderr)
            print("fix: check the network (or the proxy and --cafile) and build again", file=sys.stderr)
            return 1
    return 0


def lfw_people(tar):
    """{person: [member names of their JPEGs]} from an LFW archive."""
    people = {}
    for member in tar.getmembers():
        parts = member.name.split("/")
        if member.isfile() and len(parts) >= 3 and parts[-1].lower().endswith(".jpg"):
            people.setdefault(parts[-2], []).append(member.name)
    return people


def face_from_jpeg(payload):
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(payload, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise AssetError("an LFW image could not be decoded")
    crop = image[FACE_CROP]
    small = cv2.resize(crop, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


def build_faces(archive, dest, seed=0):
    """faces.h5: the 8 people with most images, 64x64 RGB crops, split 70/15/15 per person."""
    import h5py
    import numpy as np

    rng = np.random.default_rng(seed)
    splits = {"train": ([], []), "val": ([], []), "test": ([], [])}
    with tarfile.open(archive) as tar:
        people = lfw_people(tar)
        ranked = sorted(people, key=lambda p: (-len(people[p]), p))[:FACE_PEOPLE]
        if len(ranked) < FACE_PEOPLE:
            raise AssetError(f"the archive has {len(ranked)} people, {FACE_PEOPLE} are needed")
        for label, person in enumerate(ranked):
            files = sorted(people[person])
            files = [files[i] for i in rng.permutation(len(files))[:FACE_MAX_PER_PERSON]]
            n_val = max(1, round(FACE_SPLIT[1] * len(files)))
            n_test = max(1, round(FACE_SPLIT[2] * len(files)))
            parts = {"val": files[:n_val], "test": files[n_val:n_val + n_test], "train": files[n_val + n_test:]}
            for split, names in parts.items():
                for name in names:
                    splits[split][0].append(face_from_jpeg(tar.extractfile(name).read()))
                    splits[split][1].append(label)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        for split, (images, labels) in splits.items():
            order = rng.permutation(len(labels))
            f.create_dataset(f"x_{split}", data=np.stack(images)[order], compression="gzip")
            f.create_dataset(f"y_{split}", data=np.asarray(labels, dtype=np.int64)[order])
        names = [p.replace("_", " ") for p in ranked]
        f.create_dataset("names", data=np.array(names, dtype=h5py.string_dtype()))
        f.attrs["source"] = "Labeled Faces in the Wild (funneled), the 8 people with most images"
    os.replace(tmp, dest)
    make_shared(dest)
    return {split: len(labels) for split, (_, labels) in splits.items()}


def cmd_prepare(args):
    assets = load_assets(args.manifest)
    updates = {}
    for asset in (a for a in assets if a.get("install") == "build-faces"):
        archive = cache_path(args.cache, asset)
        dest = Path(args.root) / asset["dest"]
        if not archive.exists():
            updates[asset["name"]] = (False, asset, f"the archive was not fetched ({archive} is missing)")
            say(f"{asset['name']}: MISSING: {archive} was not fetched")
            continue
        try:
            counts = build_faces(archive, dest)
        except (AssetError, tarfile.TarError, OSError) as exc:
            updates[asset["name"]] = (False, asset, f"building {asset['dest']} failed: {exc}")
            say(f"{asset['name']}: MISSING: building {dest} failed: {exc}")
            continue
        updates[asset["name"]] = (True, asset, "")
        say(f"{asset['name']}: built {dest} ({counts['train']} train, {counts['val']} val, {counts['test']} test)")
    write_record(args.root, read_record(args.root), updates)
    return 0


def find_manifest(root):
    """course.toml beside this file, else ROOT/course/course.toml (the image's layout)."""
    here = Path(__file__).resolve()
    for candidate in (here.with_name("course.toml"), Path(root) / "course" / "course.toml", here.parents[1] / "course.toml"):
        if candidate.exists():
            return str(candidate)
    return str(here.with_name("course.toml"))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="assets.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download, verify and install the assets")
    prepare = sub.add_parser("prepare", help="build derived assets (faces.h5) from the downloads")
    for p in (fetch, prepare):
        p.add_argument("--manifest", help="course.toml (default: beside this file, else ROOT/course/course.toml)")
        p.add_argument("--cache", default=DEFAULT_CACHE, help="download cache (default: %(default)s)")
        p.add_argument("--root", required=True, help="install root, e.g. /opt/dlab")
    fetch.add_argument("--only", nargs="+", metavar="NAME", help="fetch only these assets")
    fetch.add_argument("--strict", action="store_true", help="exit 1 when an asset is missing")
    fetch.add_argument("--cafile", help="CA bundle for a TLS-intercepting proxy (default: $SSL_CERT_FILE)")
    fetch.add_argument("--timeout", type=float, default=20, help="network timeout in seconds (default: %(default)s)")
    fetch.add_argument("--retries", type=int, default=3, help="tries per asset (default: %(default)s)")
    args = parser.parse_args(argv)
    args.manifest = args.manifest or find_manifest(args.root)
    return cmd_fetch(args) if args.command == "fetch" else cmd_prepare(args)


if __name__ == "__main__":
    sys.exit(main())
