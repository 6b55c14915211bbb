"""`dlab build`: build one flavor of the image, tag it, and write its build manifest."""

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

from . import images
from .errors import DlabError, UserError

ROOT = images.ROOT
REQUIREMENTS = ROOT / "docker" / "requirements"
DEFAULT_BASES = ("debian:bookworm-slim", "dlab-base:bookworm")
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def add_parser(subparsers):
    p = subparsers.add_parser("build", help="build the lab image of one flavor")
    p.add_argument("--flavor", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--base-image", help="Debian bookworm base (default: debian:bookworm-slim, "
                   "else a local dlab-base:bookworm from scripts/make-base-image)")
    p.add_argument("--quiet", action="store_true", help="no build progress")
    p.set_defaults(func=lambda args: build_image(args.flavor, args.base_image, args.quiet) and 0)


def docker(*args, check=True, capture=True):
    try:
        result = subprocess.run(["docker", *args], capture_output=capture, text=True)
    except FileNotFoundError:
        raise UserError("the docker CLI is not on PATH", "install Docker Engine or Docker Desktop") from None
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()
        raise DlabError(f"docker {args[0]} failed: {detail[-1] if detail else result.returncode}",
                        "see the output above; `dlab doctor` checks the engine")
    return result


def image_exists(ref):
    return docker("image", "inspect", ref, check=False).returncode == 0


def choose_base(base_image):
    if base_image:
        if not image_exists(base_image):
            raise UserError(f"base image {base_image!r} is not present",
                            f"make it offline with scripts/make-base-image {base_image}, or docker pull it")
        return base_image
    for ref in DEFAULT_BASES:
        if image_exists(ref):
            return ref
    return DEFAULT_BASES[0]  # the engine pulls it when a registry answers


def check_lock(flavor):
    """The lock must come from the current .in files (scripts/lock writes their hash on top)."""
    import hashlib

    lock = REQUIREMENTS / f"{flavor}.lock"
    inputs = (REQUIREMENTS / "common.in").read_bytes() + (REQUIREMENTS / f"{flavor}.in").read_bytes()
    expected = f"# inputs-sha256: {hashlib.sha256(inputs).hexdigest()}"
    if not lock.exists() or lock.read_text().splitlines()[0] != expected:
        raise UserError(f"docker/requirements/{flavor}.lock does not match common.in + {flavor}.in",
                        f"run scripts/lock {flavor} (needs uv), then build again")
    return lock


def locked_version(lock, *names):
    for line in lock.read_text().splitlines():
        name, _, rest = line.partition("==")
        if name in names:
            return rest.split()[0]
    return "unknown"


def revision():
    result = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def ca_secret():
    """A TLS-intercepting proxy's CA reaches the build as a secret, never a layer."""
    path = os.environ.get("DLAB_CA_BUNDLE") or next((p for p in CA_BUNDLES if os.path.exists(p)), None)
    return ["--secret", f"id=ca,src={path}"] if path else []


def build_image(flavor, base_image=None, quiet=False):
    """Build dlab:<version>-<flavor> and dlab:<flavor>; return the versioned tag."""
    images.check_flavor(flavor)
    lock = check_lock(flavor)
    base = choose_base(base_image)
    tag, moving = images.versioned_tag(flavor), images.moving_tag(flavor)
    args = [
        "build", "-f", str(ROOT / "docker" / "Dockerfile"), "--target", flavor,
        "--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"FLAVOR={flavor}",
        "--build-arg", f"VERSION={images.version()}", "--build-arg", f"REVISION={revision()}",
        "--build-arg", f"CREATED={datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        "--build-arg", f"TENSORFLOW={locked_version(lock, 'tensorflow', 'tensorflow-cpu')}",
        *ca_secret(), "--progress", "plain", "-t", tag, str(ROOT),
    ]
    print(f"building {tag} from {base} ...", flush=True)
    started = time.monotonic()
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    output = subprocess.PIPE if quiet else None
    try:
        result = subprocess.run(["docker", *args], env=env, stdout=output, stderr=output, text=True)
    except FileNotFoundError:
        raise UserError("the docker CLI is not on PATH", "install Docker Engine or Docker Desktop") from None
    if result.returncode != 0 and "buildx component is missing" in (result.stderr or ""):
        raise UserError("this docker CLI cannot build with BuildKit: its buildx plugin is missing",
                        "install the buildx plugin (package docker-buildx-plugin or docker-buildx)")
    if result.returncode != 0:
        if quiet:  # the build's last words say why
            print("\n".join((result.stdout + result.stderr).splitlines()[-25:]), file=sys.stderr)
        raise DlabError(f"building {tag} failed (docker build exit {result.returncode})",
                        "read the build output above")
    record_missing_assets(tag)
    docker("tag", tag, moving)
    manifest = write_manifest(tag, flavor, time.monotonic() - started)
    print(f"built {tag} (also {moving}), {manifest['size_bytes'] / 1e9:.2f} GB in "
          f"{manifest['build_seconds']:.0f} s; manifest {manifest['path']}")
    if manifest["assets_missing"]:
        print(f"note: assets missing from the image: {', '.join(manifest['assets_missing'])} "
              "(notebooks that need them say so; build where the network reaches them to include them)")
    return tag


def read_inside(tag, code):
    return docker("run", "--rm", "--network", "none", "--entrypoint", "python", tag, "-c", code).stdout


INSIDE = """
import json, re, importlib.metadata as md
assets = json.load(open('/opt/dlab/assets.json'))
name = lambda d: re.sub(r'[-_.]+', '-', d.metadata['Name']).lower()
print(json.dumps({
    'packages': sorted(f"{name(d)}=={d.version}" for d in md.distributions()),
    'missing': [a['name'] for a in assets.get('missing', [])],
}))
"""


def record_missing_assets(tag):
    """Missing assets are known only after the build: add them as a label on top."""
    missing = json.loads(read_inside(tag, INSIDE))["missing"]
    if missing:
        container = docker("create", tag).stdout.strip()
        try:
            docker("commit", "--change", f"LABEL org.dlab.assets.missing={','.join(missing)}", container, tag)
        finally:
            docker("rm", container)


def write_manifest(tag, flavor, seconds):
    inspect = json.loads(docker("image", "inspect", tag).stdout)[0]
    inside = json.loads(read_inside(tag, INSIDE))
    manifest = {
        "image": tag,
        "id": inspect["Id"],
        "tags": [tag, images.moving_tag(flavor)],
        "flavor": flavor,
        "labels": inspect["Config"]["Labels"],
        "size_bytes": inspect["Size"],
        "build_seconds": round(seconds, 1),
        "assets_missing": inside["missing"],
        "packages": inside["packages"],
    }
    out = ROOT / "build" / f"{tag.split(':', 1)[1]}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(manifest, indent=2) + "\n")
    manifest["path"] = str(out.relative_to(ROOT))
    return manifest
