"""`make bench` group `hub`: the classroom hub on the cached lab image (medians; the floor beside each).

A throwaway class (its own folder, free ports, no GPUs, no culling) is started with `dlab hub up`:
- spawn to ready, one student at a time, beside a bare `jupyterhub-singleuser` container (the floor);
- ten students at once until the last is ready, beside ten bare containers at once;
- memory of an idle lab (no kernel) and of a lab whose kernel imported TensorFlow, beside the same
  process outside the hub; the hub's own memory (hub, proxy, culler).
Standard library only, like the launcher.
"""

import json
import secrets
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import figure

ROOT = Path(__file__).resolve().parents[1]
DLAB = [sys.executable, str(ROOT / "scripts" / "dlab")]
MB = 1e6
CROWD = 10
LAB_CPUS = 1  # each lab's CPU limit; the bare containers of the floor get the same


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_mb(container):
    """What `docker stats` shows as the container's memory (page cache left out), in MB."""
    text = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", container).stdout.split("/")[0].strip()
    units = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
    number = text.rstrip("BKiMG")
    return float(number) * units[text[len(number):]] / MB


class Hub:
    """A throwaway class on `dlab hub up`, and its REST API through the proxy."""

    def __init__(self, folder, students):
        self.folder = folder
        self.name = f"bench{secrets.token_hex(3)}"
        self.port, self.hub_api_port = free_port(), free_port()
        self.root = folder / "root"
        self.settings = folder / "class.toml"
        self.settings.write_text(
            f'[class]\nname = "{self.name}"\nstudents = {json.dumps(students)}\n'
            f'[storage]\nroot = "{self.root}"\n[server]\nport = {self.port}\nhub_api_port = {self.hub_api_port}\n'
            f'proxy_api_port = {free_port()}\n[gpu]\npolicy = "none"\n[idle]\ntimeout = 0\n'
            f'[limits]\nmemory = "4G"\ncpus = {LAB_CPUS}\n')
        self.dlab("up")
        self.token = (self.root / "state" / "admin-token").read_text().strip()
        self.context = ssl.create_default_context(cafile=str(self.root / "state" / "tls" / "cert.pem"))
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPSHandler(context=self.context))

    def dlab(self, command):
        result = subprocess.run([*DLAB, "hub", command, "--settings", str(self.settings)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"dlab hub {command} failed: {result.stderr.strip()}")

    def call(self, method, path, body=None, token=None):
        request = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"token {token or self.token}"})
        with self.opener.open(request, timeout=60) as reply:
            text = reply.read().decode()
        return json.loads(text) if text else None

    def ready(self, name):
        server = self.call("GET", f"/hub/api/users/{name}")["servers"].get("")
        return bool(server and server["ready"])

    def spawn_and_wait(self, names):
        """Seconds from the spawn requests until each lab is ready, and until the last is."""
        started = time.perf_counter()
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(lambda n: self.call("POST", f"/hub/api/users/{n}/server", {}), names))
        done = {}
        while len(done) < len(names):
            for name in names:
                if name not in done and self.ready(name):
                    done[name] = time.perf_counter() - started
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"labs not ready after 600 s: {sorted(set(names) - set(done))}")
            time.sleep(0.1)
        return done

    def stop(self, names):
        for name in names:
            self.call("DELETE", f"/hub/api/users/{name}/server")
        while any(docker("ps", "-q", "--filter", f"name=^dlab-{self.name}-{n}$").stdout.strip() for n in names):
            time.sleep(0.3)

    def lab(self, name):
        return f"dlab-{self.name}-{name}"

    def down(self):
        self.dlab("down")


def bare_singleuser(image, count, hub):
    """The floor: `count` lab containers running jupyterhub-singleuser that no hub spawned (the hub only
    answers their version check); seconds until each answers."""
    names = [f"dlabbench-bare-{secrets.token_hex(3)}" for _ in range(count)]
    network = f"dlab-hub-{hub.name}"
    gateway = docker("network", "inspect", network, "-f", "{{(index .IPAM.Config 0).Gateway}}").stdout.strip()
    env = {"JUPYTERHUB_API_TOKEN": "floor", "JUPYTERHUB_API_URL": f"http://{gateway}:{hub.hub_api_port}/hub/api",
           "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:8888/user/floor/", "JUPYTERHUB_SERVICE_PREFIX": "/user/floor/",
           "JUPYTERHUB_USER": "floor", "JUPYTERHUB_CLIENT_ID": "jupyterhub-user-floor",
           "JUPYTERHUB_OAUTH_CALLBACK_URL": "/user/floor/oauth_callback", "JUPYTERHUB_BASE_URL": "/"}
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(lambda n: docker("run", "-d", "--name", n, "--network", network, "--cpus", str(LAB_CPUS),
                                           "-p", "127.0.0.1::8888",
                                           *flags, image), names))
        ports = {n: docker("port", n, "8888").stdout.split(":")[-1].strip() for n in names}
        done = {}
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while len(done) < count:
            for name, port in ports.items():
                if name in done:
                    continue
                try:
                    with opener.open(f"http://127.0.0.1:{port}/user/floor/api", timeout=1):
                        done[name] = time.perf_counter() - started
                except OSError:
                    pass
            if time.perf_counter() - started > 600:
                raise RuntimeError("bare single-user servers did not answer")
            time.sleep(0.1)
        memory = memory_mb(names[0]) if count == 1 else None
        return done, memory
    finally:
        docker("rm", "-f", *names, check=False)


IMPORT_TF = ("import glob, os; from jupyter_client import BlockingKernelClient\n"
             "c = BlockingKernelClient(); c.load_connection_file(sorted(glob.glob("
             "os.path.expanduser('~/.local/share/jupyter/runtime/kernel-*.json')))[-1])\n"
             "c.start_channels(); c.wait_for_ready(60)\n"
             "reply = c.execute_interactive('import tensorflow as tf; tf.constant(1)', timeout=300)\n"
             "print(reply['content']['status'])")


def lab_with_tensorflow(hub, name):
    """Start a kernel in the student's lab (through the proxy), import TensorFlow in it; the lab's memory."""
    token = hub.call("POST", f"/hub/api/users/{name}/tokens", {"expires_in": 600})["token"]
    hub.call("POST", f"/user/{name}/api/kernels", {"name": "python3"}, token=token)
    out = docker("exec", hub.lab(name), "python", "-c", IMPORT_TF).stdout.strip()
    if not out.endswith("ok"):
        raise RuntimeError(f"TensorFlow did not import in the kernel: {out}")
    time.sleep(2)
    return memory_mb(hub.lab(name))


def tensorflow_alone(image):
    """The floor: a bare python that imported TensorFlow, in the same image."""
    name = f"dlabbench-tf-{secrets.token_hex(3)}"
    try:
        docker("run", "-d", "--name", name, "--network", "none", image, "python", "-c",
               "import tensorflow as tf, time; tf.constant(1); print('tensorflow-imported', flush=True); time.sleep(600)")
        while "tensorflow-imported" not in docker("logs", name).stdout:
            time.sleep(0.3)
        return memory_mb(name)
    finally:
        docker("rm", "-f", name, check=False)


def rows(runs):
    sys.path.insert(0, str(ROOT / "scripts"))
    from dlab import images

    image = images.versioned_tag("cpu")
    if docker("image", "inspect", image, check=False).returncode != 0:
        return [{"name": "hub", "median": None, "unit": "s", "target": None, "met": None, "note": f"{image} not built"}]
    students = [f"s{i:02d}" for i in range(max(runs, CROWD))]
    folder = Path(tempfile.mkdtemp(prefix="dlabbench-hub-"))
    folder.chmod(0o755)
    hub = Hub(folder, students)
    try:
        one, floor_one, idle, floor_idle, crowd, floor_crowd, with_tf, floor_tf = [], [], [], [], [], [], [], []
        for i in range(runs):  # interleaved: a busy moment hurts the spawn and its floor alike
            one.append(hub.spawn_and_wait([students[i]])[students[i]])
            time.sleep(5)
            idle.append(memory_mb(hub.lab(students[i])))
            if i == 0:
                with_tf.append(lab_with_tensorflow(hub, students[i]))
                floor_tf.append(tensorflow_alone(image))
            hub.stop([students[i]])
            times, memory = bare_singleuser(image, 1, hub)
            floor_one.append(times.popitem()[1])
            floor_idle.append(memory)
        for _ in range(runs):
            crowd.append(max(hub.spawn_and_wait(students[:CROWD]).values()))
            hub_memory = memory_mb(f"dlab-hub-{hub.name}")
            hub.stop(students[:CROWD])
            floor_crowd.append(max(bare_singleuser(image, CROWD, hub)[0].values()))
    finally:
        hub.down()
        shutil.rmtree(folder, ignore_errors=True)
    floor = lambda values: f"floor {statistics.median(values):.2f}"  # noqa: E731
    return [
        figure("hub: spawn request until the lab is ready", one, "s", 5.0,
               f"per student, cached image; {floor(floor_one)} s (bare jupyterhub-singleuser container)"),
        figure(f"hub: {CROWD} students at once, until the last is ready", crowd, "s", None,
               f"all {CROWD} ready each run; {floor(floor_crowd)} s ({CROWD} bare containers at once)"),
        figure("hub: memory of an idle lab (no kernel)", idle, "MB", 150.0,
               f"docker stats; {floor(floor_idle)} MB (bare jupyterhub-singleuser)"),
        figure("hub: memory of a lab whose kernel imported TensorFlow", with_tf, "MB", None,
               f"one run; {floor(floor_tf)} MB (python importing TensorFlow alone)"),
        figure(f"hub: memory of the hub (hub, proxy, culler; {CROWD} labs)", [hub_memory], "MB", None, "last run"),
    ]
