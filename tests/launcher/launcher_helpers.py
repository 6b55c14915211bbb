"""Helpers for the launcher tests: recorded hosts, the `dlab` command, another user, stand-in GPUs."""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from dlab import engine, probe
from dlab.images import default_image

ROOT = Path(__file__).resolve().parents[2]
HOSTS = Path(__file__).parent / "hosts"
DLAB = [sys.executable, str(ROOT / "scripts" / "dlab")]
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-zA-Z_-]+)")
STUDENT_UID = 1234


def load_host(name, **overrides):
    """HostFacts from a recorded host (raw docker info and nvidia-smi output go through the real parsers)."""
    record = json.loads((HOSTS / f"{name}.json").read_text())
    fields = dict(record["host"])
    fields.update(probe.parse_docker_info(record["docker_info"]))
    smi = record.get("nvidia_smi")
    if smi:
        fields.update(probe.nvidia_smi_facts(smi["path"], smi.get("returncode", 0), smi["stdout"]))
    fields["toolkit_tools"] = tuple(record.get("toolkit_tools", ()))
    fields["busy_ports"] = tuple(record.get("busy_ports", ()))
    fields["images"] = {default_image(f): engine.Image(id=f"sha256:{f}", labels={"org.dlab.flavor": f}) for f in record.get("images", ())}
    fields["work"] = probe.Work(path="/home/student/work", exists=True, is_dir=True, writable=True)
    fields.update(overrides)
    return probe.HostFacts(**fields)


def recorded_image(name):
    """engine.Image of what a real engine said of a real image (tests/launcher/engine/<name>.json)."""
    answer = json.loads((Path(__file__).parent / "engine" / f"{name}.json").read_text())
    return engine.image_from_inspect(json.loads(answer["stdout"])[0])


def image_args(image):
    """`--image REF` when the tests run another image than the checkout's (DLAB_IMAGE_CPU), else nothing."""
    return [] if image == default_image("cpu") else ["--image", image]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dlab(*args, env=None, timeout=600, **kwargs):
    """Run the launcher as a user would: `python3 scripts/dlab ...`."""
    return subprocess.run([*DLAB, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


class Labs:
    """Names of labs a test starts; each is removed at the end, nothing else is touched."""

    def __init__(self):
        self.names = []

    def name(self):
        name = f"dlabtest-{secrets.token_hex(4)}"
        self.names.append(name)
        return name

    def remove_all(self):
        """Every lab of these names, whoever owns it, and their home volumes."""
        for name in self.names:
            for found in engine.list_instances(name=name):
                engine.run(["rm", "-f", found.id], check=False)
            for volume in engine.run(["volume", "ls", "-q", "--filter", f"label=org.dlab.instance={name}"]).stdout.split():
                engine.run(["volume", "rm", "-f", volume], check=False)


def docker_gid():
    import grp

    try:
        return grp.getgrnam("docker").gr_gid
    except KeyError:
        return os.stat("/var/run/docker.sock").st_gid


def as_student(*args, home, env=None, timeout=600):
    """Run the launcher as another user (uid 1234, in the docker group) with Debian's python3."""
    command = ["setpriv", f"--reuid={STUDENT_UID}", f"--regid={STUDENT_UID}", f"--groups={docker_gid()}",
               "/usr/bin/python3", str(ROOT / "scripts" / "dlab"), *args]
    base = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    if os.environ.get("DLAB_REPOSITORY"):  # the same images as the tests' own `dlab`
        base["DLAB_REPOSITORY"] = os.environ["DLAB_REPOSITORY"]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env={**base, **(env or {})})


def student_dir(path):
    """A folder the student (uid 1234) owns."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, STUDENT_UID, STUDENT_UID)
    return path


STAND_IN_NVIDIA_SMI = """#!/bin/sh
# Stand-in nvidia-smi: answers dlab's GPU query as a host with two RTX A5000 on driver 580.82.07 would.
case "$*" in
  *--query-gpu=*)
    echo "0, NVIDIA RTX A5000, GPU-11111111-2222-3333-4444-555555555555, 24564, 580.82.07"
    echo "1, NVIDIA RTX A5000, GPU-66666666-7777-8888-9999-000000000000, 24564, 580.82.07" ;;
  -L)
    echo "GPU 0: NVIDIA RTX A5000 (UUID: GPU-11111111-2222-3333-4444-555555555555)"
    echo "GPU 1: NVIDIA RTX A5000 (UUID: GPU-66666666-7777-8888-9999-000000000000)" ;;
  *) echo "NVIDIA-SMI 580.82.07    Driver Version: 580.82.07    CUDA Version: 13.0" ;;
esac
"""


def fake_gpu_path(folder, toolkit=False):
    """Write stand-in GPU tools into folder; the PATH (env) on which the host looks as if it had two GPUs."""
    folder.mkdir(exist_ok=True)
    tools = {"nvidia-smi": STAND_IN_NVIDIA_SMI}
    if toolkit:
        tools["nvidia-container-runtime-hook"] = "#!/bin/sh\nexit 0\n"
    for name, text in tools.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


class Tripwire:
    """A listener posing as the HTTP proxy: whatever connects to it is a request that went through a proxy."""

    def __init__(self):
        import threading

        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.requests = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client:
                client.settimeout(2)
                try:
                    self.requests.append(client.recv(4096).decode(errors="replace").split("\r\n", 1)[0])
                    client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    self.requests.append("(a connection)")

    @property
    def env(self):
        """Every proxy variable, both cases, at the tripwire, and no exemption list."""
        url = f"http://127.0.0.1:{self.port}"
        env = {name: url for variable in PROXY_VARIABLES for name in (variable, variable.upper())}
        return {**env, "no_proxy": "", "NO_PROXY": ""}

    def close(self):
        self.server.close()


def lab_container(name, owner=None):
    """The container of this user's lab `name` (the engine-wide name also names its owner)."""
    from dlab import places

    person = places.caller()
    found = engine.find_lab(name, owner or person.owner, person.container(name))
    return found
