"""The lab image as a JupyterHub single-user server: DockerSpawner with its documented minimal
settings (no `cmd`), a real hub and proxy from the hub image, the lab image unchanged."""

import contextlib
import json
import re
import secrets
import textwrap
import time

import pytest
import requests

from tests.hub.hub_helpers import HUB_NOISE, HubApi, network_gateway, unique
from tests.hub.kernels import execute, start_kernel
from tests.support.logs import unexpected_lines
from tests.support.ports import reserved_port
from tests.support.runner import docker
from tests.support.wait import http_status, until

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1200)]

MINIMAL_CONFIG = """
c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.image = {image!r}
c.DockerSpawner.network_name = {network!r}
c.DockerSpawner.prefix = {prefix!r}
c.DockerSpawner.remove = True
# A token left in the environment (a copied Compose file) must not open a second door.
c.DockerSpawner.environment = {{"JUPYTER_TOKEN": "left-over-token"}}
# A busy 2-core test machine can take longer than the 30 s default to start a lab.
c.Spawner.http_timeout = c.Spawner.start_timeout = 180
c.JupyterHub.hub_ip = {gateway!r}
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.services = [{{"name": "tester", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "tester", "services": ["tester"],
                            "scopes": ["admin:users", "admin:servers", "tokens"]}}]
"""


@pytest.fixture(scope="module")
def minimal_hub(hub_image, cpu_image, tmp_path_factory):
    """A hub with DockerSpawner's minimal settings, pointed at the lab image; one student, alice, spawned."""
    name, network = unique("dlabtest-hub-min"), unique("dlabtest-hubnet")
    docker("network", "create", network)
    folder = tmp_path_factory.mktemp("minimal-hub")
    held = contextlib.ExitStack()  # the hub's three ports, held until the hub and its proxy bind them
    port, hub_port, proxy_port = (held.enter_context(reserved_port()) for _ in range(3))
    token = secrets.token_hex(16)
    (folder / "jupyterhub_config.py").write_text(textwrap.dedent(MINIMAL_CONFIG.format(
        image=cpu_image, network=network, prefix=name, gateway=network_gateway(network), hub_port=hub_port,
        port=port, proxy_port=proxy_port, token=token)))
    docker("run", "-d", "--name", name, "--network", "host", "-v", "/var/run/docker.sock:/var/run/docker.sock",
           "-v", f"{folder}:/cfg:ro", "-w", "/tmp", hub_image, "jupyterhub", "--config", "/cfg/jupyterhub_config.py")
    hub = HubApi(f"http://127.0.0.1:{port}", token)
    hub.logs = lambda: docker("logs", name, check=False).stderr[-4000:]
    hub.lab_container = f"{name}-alice"
    try:
        hub.wait_up(logs=hub.logs)
        hub.add_user("alice")
        hub.spawn("alice")
        hub.wait_ready("alice", logs=hub.logs)
        hub.start_log = docker("logs", hub.lab_container).stderr
        yield hub
    finally:
        held.close()
        docker("rm", "-f", name, hub.lab_container, check=False)
        docker("network", "rm", network, check=False)


def test_dockerspawner_defaults_start_a_hub_authenticated_lab(minimal_hub):
    """With no `cmd`, DockerSpawner runs the image's own CMD, which starts jupyterhub-singleuser."""
    inspect = docker("inspect", minimal_hub.lab_container, "-f", "{{json .Config.Cmd}} {{json .Config.Entrypoint}}")
    assert inspect.stdout.split() == ['["start-jupyter"]', '["tini","-g","--","start-lab"]']
    processes = docker("exec", minimal_hub.lab_container, "ps", "-eo", "args", check=False)
    if processes.returncode:  # no ps in the image: read /proc
        processes = docker("exec", minimal_hub.lab_container, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
    assert "jupyterhub-singleuser" in processes.stdout


def test_hub_spawned_lab_turns_healthy(minimal_hub):
    """The image's HEALTHCHECK finds jupyterhub-singleuser at the hub's prefix and reports healthy."""
    deadline = time.monotonic() + 90
    while (health := docker("inspect", "-f", "{{.State.Health.Status}}", minimal_hub.lab_container).stdout.strip()) != "healthy":
        assert time.monotonic() < deadline, f"{health}: {docker('inspect', '-f', '{{json .State.Health}}', minimal_hub.lab_container).stdout}"
        time.sleep(1)


def test_hub_signs_every_request_in(minimal_hub):
    """Through the proxy the lab answers alice's hub token, and refuses no token or a made-up one."""
    token = minimal_hub.user_token("alice")
    assert minimal_hub.lab("alice", "api/contents", token).status_code == 200
    assert minimal_hub.lab("alice", "api/contents", "not-a-token").status_code == 403
    anonymous = minimal_hub.session.get(f"{minimal_hub.url}/user/alice/api/contents", allow_redirects=False)
    assert anonymous.status_code == 403
    left_over = minimal_hub.session.get(f"{minimal_hub.url}/user/alice/api/contents?token=left-over-token",
                                        allow_redirects=False)
    assert left_over.status_code == 403


def test_course_is_seeded_under_the_hub(minimal_hub):
    """The course notebooks are copied into the work folder of a hub-spawned lab too."""
    token = minimal_hub.user_token("alice")
    listing = minimal_hub.lab("alice", "api/contents/course/exercises", token).json()
    assert any(item["name"].endswith(".ipynb") for item in listing["content"])


def test_tensorboard_proxy_url_is_under_the_user_prefix(minimal_hub):
    """`%tensorboard` points at /user/<name>/proxy/<port>/, and a server there answers through the hub."""
    lab = minimal_hub.lab_container
    env = docker("exec", lab, "sh", "-c", "tr '\\0' '\\n' </proc/$(pgrep -f jupyterhub-singleuser | head -1)/environ"
                 " 2>/dev/null || true").stdout
    if "TENSORBOARD_PROXY_URL" not in env:  # no pgrep: the server is tini's child
        env = docker("exec", lab, "sh", "-c", "for p in /proc/[0-9]*; do tr '\\0' '\\n' <$p/environ; done").stdout
    assert "TENSORBOARD_PROXY_URL=/user/alice/proxy/%PORT%/" in env.splitlines()
    docker("exec", "-d", lab, "python", "-m", "http.server", "6006", "--bind", "127.0.0.1", "--directory", "/opt/dlab")
    token = minimal_hub.user_token("alice")
    for _ in range(50):
        reply = minimal_hub.lab("alice", "proxy/6006/", token)
        if reply.status_code == 200:
            break
        time.sleep(0.2)
    assert reply.status_code == 200 and "course" in reply.text


def test_offline_lab_settings_hold_under_the_hub(minimal_hub):
    """No news, no update check, a read-only extension manager: the same offline settings as `dlab up`."""
    token = minimal_hub.user_token("alice")
    page = minimal_hub.lab("alice", "lab", token).text
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    assert config["news"] == {"disabled": True}
    assert config["extensionManager"]["name"] == "read-only"
    assert minimal_hub.lab("alice", "lab/api/update", token).json()["notification"] is None
    settings = minimal_hub.lab("alice", "lab/api/settings/@jupyterlab/apputils-extension:notification", token).json()
    effective = {**{k: v.get("default") for k, v in settings["schema"]["properties"].items()}, **settings["settings"]}
    assert effective["checkForUpdates"] is False and effective["fetchNews"] == "false"


def test_lab_log_is_clean_under_the_hub(minimal_hub):
    """The hub-spawned lab logs no unexpected WARNING or ERROR line on its way up."""
    logs = minimal_hub.start_log
    assert "jupyterhub-singleuser" in logs or "JupyterHubSingleUser" in logs
    assert not unexpected_lines(logs, HUB_NOISE), "\n".join(unexpected_lines(logs, HUB_NOISE))


def test_server_options_as_the_command_reach_jupyter(cpu_container, port):
    """Options in place of a command (`docker run IMAGE --ServerApp.x=…`, as spawners append them) go to Jupyter."""
    lab = cpu_container.start(command=["--ServerApp.base_url=/given/"], environment={"JUPYTER_TOKEN": "opts-token"},
                              ports={"8888/tcp": ("127.0.0.1", port)}, healthcheck={"test": ["NONE"]})
    until(lambda: http_status(f"http://127.0.0.1:{port}/given/api/status?token=opts-token", timeout=2) == 200, 90,
          "the lab at /given/", explain=lambda: lab.logs().decode()[-3000:])


def test_busy_kernel_counts_as_activity(cpu_container, port):
    """A kernel running a silent cell (a training run with verbose=0) moves the server's last_activity on."""
    cpu_container.start(environment={"JUPYTER_TOKEN": "busy-token"}, ports={"8888/tcp": ("127.0.0.1", port)})
    session, base = requests.Session(), f"http://127.0.0.1:{port}"
    session.trust_env = False
    headers = {"Authorization": "token busy-token"}
    until(lambda: http_status(f"{base}/api/status?token=busy-token", timeout=2) == 200, 90, "the lab's answer")
    sock = execute(base, start_kernel(session, base, headers), "import time; time.sleep(30)", headers)
    try:
        time.sleep(3)  # the kernel is busy now; from here on nothing but /api/status (which is not activity)
        first = session.get(f"{base}/api/status", headers=headers, timeout=5).json()["last_activity"]
        time.sleep(12)
        later = session.get(f"{base}/api/status", headers=headers, timeout=5).json()["last_activity"]
    finally:
        sock.close()
    assert later > first, (first, later)
