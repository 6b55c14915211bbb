"""Classroom-hub test helpers: the hub image, a hub's REST API, and cleanup of what a test started."""

import json
import subprocess
import time
import uuid

import requests

from dlabtest import ROOT, VERSION, image_ref

# Lines a healthy hub or hub-spawned lab may log with WARNING/ERROR in them.
HUB_NOISE = [
    # JupyterHub's single-user extension and notebook_shim disagree over one template setting (upstream).
    r"'extra_template_paths' was found in both NotebookApp and ServerApp",
]


def docker(*args, check=True, timeout=300):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])} failed: {result.stderr.strip()}")
    return result


def hub_image_ref():
    return image_ref("hub")


def build_hub_image():
    """Build (or find cached) the hub image from hub/Dockerfile, as `dlab build` builds the lab."""
    from dlab.build import ca_secret, choose_base

    ref = hub_image_ref()
    lock = (ROOT / "docker" / "requirements" / "cpu-amd64.lock").read_text()
    jupyterhub = next(line.split("==")[1].split()[0] for line in lock.splitlines() if line.startswith("jupyterhub=="))
    result = subprocess.run(
        ["docker", "build", "-f", str(ROOT / "hub" / "Dockerfile"), "--build-arg", f"BASE_IMAGE={choose_base(None)}",
         "--build-arg", f"VERSION={VERSION}", "--build-arg", f"JUPYTERHUB={jupyterhub}", *ca_secret(),
         "--progress", "plain", "-t", ref, str(ROOT)],
        capture_output=True, text=True, env={**__import__("os").environ, "DOCKER_BUILDKIT": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return ref


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def network_gateway(name):
    info = json.loads(docker("network", "inspect", name).stdout)[0]
    return info["IPAM"]["Config"][0]["Gateway"]


class HubApi:
    """JupyterHub's REST API through its public URL, as a service holding an admin token."""

    def __init__(self, url, token, verify=True):
        self.url = url.rstrip("/")
        self.token = token
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: never through a proxy
        self.session.verify = verify

    def request(self, method, path, token=None, **kwargs):
        headers = {"Authorization": f"token {token or self.token}"}
        return self.session.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def api(self, method, path, expect=(200, 201, 202, 204), **kwargs):
        reply = self.request(method, f"/hub/api{path}", **kwargs)
        assert reply.status_code in expect, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply.json() if reply.content else None

    def wait_up(self, timeout=60, logs=lambda: ""):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.session.get(f"{self.url}/hub/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"the hub did not answer at {self.url}:\n{logs()}"
            time.sleep(0.3)

    def user(self, name):
        return self.api("GET", f"/users/{name}")

    def add_user(self, name):
        self.api("POST", f"/users/{name}", expect=(201, 409))

    def spawn(self, name, options=None):
        self.api("POST", f"/users/{name}/server", json=options or {})

    def wait_ready(self, name, timeout=120, logs=lambda: ""):
        """Wait for a requested lab; fail when it is neither pending nor ready (the spawn failed)."""
        started = time.monotonic()
        while True:
            server = self.user(name)["servers"].get("")
            if server and server["ready"]:
                return server
            assert server or time.monotonic() - started < 5, f"{name}'s spawn failed:\n{logs()}"
            assert time.monotonic() - started < timeout, f"{name}'s lab not ready after {timeout} s: {server}"
            time.sleep(0.3)

    def stop(self, name):
        self.api("DELETE", f"/users/{name}/server", expect=(202, 204, 400))

    def user_token(self, name):
        return self.api("POST", f"/users/{name}/tokens", json={"expires_in": 3600, "note": "test"})["token"]

    def lab(self, name, path, token, method="GET", **kwargs):
        """A request to a student's lab through the hub's proxy."""
        return self.request(method, f"/user/{name}/{path.lstrip('/')}", token=token, allow_redirects=False, **kwargs)
