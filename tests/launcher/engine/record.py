"""Record what a real engine says when it refuses: `python3 tests/launcher/engine/record.py` (as root,
with Debian's docker client first on PATH and docker-registry installed). Writes one JSON file per
failure next to this script; tests/launcher/test_failures.py feeds them to the launcher."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
BASE = "dlab-base:bookworm"
NAME = "dlabtest-record"


def docker(*args, env=None, client="docker", prefix=()):
    result = subprocess.run([*prefix, client, *args], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    return result


def record(kind, result, args):
    data = {"kind": kind, "command": ["docker", *args], "returncode": result.returncode, "stderr": result.stderr}
    assert result.returncode != 0, (kind, result.stdout)
    (HERE / f"{kind}.json").write_text(json.dumps(data, indent=2) + "\n")
    print(f"{kind}: {result.stderr.strip().splitlines()[-1][:120]}")


def record_inspect(ref, name="image-inspect"):
    """What `docker image inspect` says of a lab image, cut to the fields dlab reads."""
    found = json.loads(docker("image", "inspect", ref).stdout)[0]
    kept = {key: found[key] for key in ("Id", "RepoTags", "Created", "Architecture", "Os", "Size")}
    kept["Config"] = {"Labels": {k: v for k, v in found["Config"]["Labels"].items() if k != "org.dlab.assets.missing"}}
    data = {"command": ["docker", "image", "inspect", ref], "returncode": 0, "stdout": json.dumps([kept], indent=1)}
    (HERE / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    version = (HERE.parents[2] / "VERSION").read_text().strip()
    record_inspect(os.environ.get("DLAB_IMAGE_CPU") or f"{os.environ.get('DLAB_REPOSITORY') or 'dlab'}:{version}-cpu")
    # The arm64 build (`dlab build --platform linux/arm64`), for the plan's architecture check.
    record_inspect(f"{os.environ.get('DLAB_REPOSITORY') or 'dlab'}:{version}-cpu-arm64", "image-inspect-arm64")
    dead = {"DOCKER_HOST": f"unix://{tempfile.gettempdir()}/dlab-dead.sock"}
    args = ["image", "inspect", BASE]
    record("daemon-down", docker(*args, env=dead), args)
    record("permission-denied", docker(*args, prefix=["setpriv", "--reuid=1234", "--regid=1234", "--clear-groups"]), args)
    args = ["run", "--rm", "--gpus", "all", BASE, "true"]
    record("gpu-refused", docker(*args), args)
    args = ["image", "inspect", "dlabtest-no-such-image:1"]
    record("no-such-image", docker(*args), args)
    args = ["save", "dlabtest-no-such-image:1"]
    record("no-such-image-save", docker(*args), args)
    docker("rm", "-f", NAME)
    docker("create", "--name", NAME, BASE, "true")
    args = ["create", "--name", NAME, BASE, "true"]
    record("name-in-use", docker(*args), args)
    args = ["cp", f"{NAME}:/opt/dlab/assets.json", "-"]
    record("no-such-path", docker(*args), args)
    docker("rm", "-f", NAME)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        args = ["run", "--rm", "-d", "-p", f"127.0.0.1:{port}:8888", BASE, "sleep", "5"]
        record("port-in-use", docker(*args), args)
    port = free_port()
    first = docker("run", "--rm", "-d", "-p", f"127.0.0.1:{port}:8888", BASE, "sleep", "30").stdout.strip()
    args = ["run", "--rm", "-d", "-p", f"127.0.0.1:{port}:8888", BASE, "sleep", "5"]
    record("port-allocated", docker(*args), args)
    docker("rm", "-f", first)
    with tempfile.TemporaryDirectory() as folder:
        foreign = Path(folder) / "foreign"
        foreign.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x34\x12" + b"\0" * 44)  # e_machine 0x1234
        foreign.chmod(0o755)
        args = ["run", "--rm", "-v", f"{foreign}:/foreign:ro", "--entrypoint", "/foreign", BASE]
        record("exec-format", docker(*args), args)
        (Path(folder) / "Dockerfile").write_text(f"FROM {BASE}\n")
        args = ["build", "-q", folder]
        if os.path.exists("/usr/local/bin/docker"):
            record("buildx-missing", docker(*args, client="/usr/local/bin/docker", env={"DOCKER_BUILDKIT": "1"}), args)
    docker("tag", BASE, f"127.0.0.1:1/{NAME}:1")
    args = ["push", f"127.0.0.1:1/{NAME}:1"]
    record("registry-unreachable", docker(*args), args)
    docker("image", "rm", "--no-prune", f"127.0.0.1:1/{NAME}:1")
    lan = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()[0]
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yml"
        config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {folder}\nhttp:\n  addr: 0.0.0.0:{port}\n")
        registry = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(2)
            ref = f"{lan}:{port}/{NAME}:1"
            docker("tag", BASE, ref)
            args = ["push", ref]
            record("registry-http", docker(*args), args)
            docker("image", "rm", "--no-prune", ref)
            args = ["pull", f"127.0.0.1:{port}/{NAME}:nope"]
            record("pull-not-found", docker(*args), args)
        finally:
            registry.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
