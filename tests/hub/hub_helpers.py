"""Classroom-hub test helpers: the hub image, a hub's REST API, and cleanup of what a test started."""

import json
import time
import uuid
from pathlib import Path

import requests

from tests.support.images import image_ref
from tests.support.ports import free_port
from tests.support.runner import dlab as run_dlab
from tests.support.runner import docker

# Lines a healthy hub or hub-spawned lab may log with WARNING/ERROR in them.
HUB_NOISE = [
    # JupyterHub's single-user extension and notebook_shim disagree over one template setting (upstream).
    r"'extra_template_paths' was found in both NotebookApp and ServerApp",
]


def build_hub_image():
    """The hub image as `dlab hub up` builds it (a cached build takes seconds)."""
    from dlab.hub import build_hub_image as build

    return build(quiet=True)


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
        self.verify = verify
        self.session = self.new_session()

    def new_session(self):
        """A client of our own: loopback never through a proxy, our certificate and no other (trust_env off)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.verify
        return session

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


def dlab(*args, env=None, **kwargs):
    """Run the launcher as the teacher would, from /tmp with HOME=/tmp (user=: as that uid, in the docker group)."""
    return run_dlab(*args, env={"HOME": "/tmp", **(env or {})}, cwd="/tmp", **kwargs)


def two_line_error(result, code=2):
    """The launcher failed as it should: exit code, one `error:` line and one `fix:` line on stderr."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("fix: "), result.stderr
    return lines[0]


class Classroom:
    """A class settings file and its class root in a fresh folder, and the hub `dlab hub up` starts from it."""

    def __init__(self, folder, students=("alice", "bob", "carol"), teacher="teach", **sections):
        import os

        self.name = unique("hubt").replace("-", "")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o755)
        self.root = self.folder / "root"
        self.settings = self.folder / "class.toml"
        self.port = free_port()
        self.env = {}
        tables = {
            "class": {"name": self.name, "teacher": teacher, "students": list(students)},
            "storage": {"root": str(self.root)},
            "server": {"port": self.port, "hub_api_port": free_port(), "proxy_api_port": free_port()},
            "images": {"cpu": image_ref("cpu"), "cuda": image_ref("cuda")},
        }
        for section, values in sections.items():
            tables.setdefault(section, {}).update(values)
        self.write(tables)

    def write(self, tables):
        self.tables = tables
        lines = []
        for section, values in tables.items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        self.settings.write_text("\n".join(lines) + "\n")

    @property
    def container(self):
        return f"dlab-hub-{self.name}"

    def dlab(self, command, *args, **kwargs):
        return dlab("hub", command, "--settings", str(self.settings), *args, env=self.env, **kwargs)

    def up(self):
        result = self.dlab("up")
        assert result.returncode == 0, f"dlab hub up failed:\n{result.stdout}\n{result.stderr}\n{self.logs()}"
        self.up_output = result.stdout
        token = (self.root / "state" / "admin-token").read_text().strip()
        self.api = HubApi(f"https://127.0.0.1:{self.port}", token, verify=str(self.root / "state" / "tls" / "cert.pem"))
        return self.api

    def logs(self):
        return docker("logs", self.container, check=False).stderr[-6000:]

    def lab_container(self, name):
        return f"dlab-{self.name}-{name}"

    def student_folder(self, name):
        return self.root / "students" / name

    def down(self):
        return self.dlab("down")


def sign_in(session, url, name, password):
    """Sign in through the hub's login form, as a browser does; the reply to the form's POST."""
    session.get(f"{url}/hub/login", timeout=30)
    xsrf = session.cookies.get("_xsrf")
    return session.post(f"{url}/hub/login", data={"username": name, "password": password, "_xsrf": xsrf},
                        allow_redirects=False, timeout=60)
