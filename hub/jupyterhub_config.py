# dlab's classroom hub: JupyterHub + DockerSpawner on the dlab images, from one class settings
# file (TOML, $DLAB_HUB_SETTINGS; see hub/class.example.toml). `dlab hub up` starts it.
# The hub shares the host's network: students reach it on [server] port, labs on the class
# network's gateway, and labs cannot reach each other (inter-container traffic off).
import os
import secrets
import sys
from pathlib import Path

import docker

from dlab_hub import folders, gpus, tls
from dlab_hub.settings import SettingsError, load
from dlab_hub.spawner import host_config


def fail(exc):
    print(f"error: {exc.what}\nfix: {exc.fix}", file=sys.stderr, flush=True)
    sys.exit(exc.exit_code)


def class_network(client, settings):
    """The labs' network (made when missing): a bridge with traffic between containers off."""
    try:
        network = client.networks.get(settings.network)
    except docker.errors.NotFound:
        network = client.networks.create(settings.network, driver="bridge", labels={"org.dlab.hub": settings.class_name},
                                         options={"com.docker.network.bridge.enable_icc": "false"})
        network.reload()
    if network.attrs["Options"].get("com.docker.network.bridge.enable_icc") != "false":
        fail(SettingsError(f"the network {settings.network} lets containers reach each other",
                           f"remove it (`docker network rm {settings.network}`) and start the hub again"))
    return network.attrs["IPAM"]["Config"][0]["Gateway"]


def private_token(path):
    """A token kept in the hub's state folder (made once), for dlab hub's own commands."""
    path = Path(path)
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


c = get_config()  # noqa: F821
try:
    settings = load(os.environ.get("DLAB_HUB_SETTINGS", "/srv/dlab-hub/class.toml"))
    folders.prepare_class_root(settings)
    cert, key, fingerprint, made = tls.certificate_for(settings) if settings.tls else ("", "", "", False)
except SettingsError as exc:
    fail(exc)
client = docker.from_env()
gateway = class_network(client, settings)
units = gpus.parse_listing(os.environ.get("DLAB_HUB_GPUS", ""))

# --- where it listens ---------------------------------------------------------------------------
scheme = "https" if settings.tls else "http"
c.JupyterHub.bind_url = f"{scheme}://{settings.bind}:{settings.port}"
if settings.tls:
    c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key = cert, key
    print(f"dlab hub: certificate {cert}\ndlab hub: SHA-256 fingerprint {fingerprint}", flush=True)
elif settings.bind != "127.0.0.1":
    print("dlab hub: WARNING: plain HTTP on the network (--insecure-http): passwords cross it in the clear",
          file=sys.stderr, flush=True)
c.JupyterHub.hub_ip = c.JupyterHub.hub_connect_ip = gateway
c.JupyterHub.hub_port = settings.hub_api_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"

# --- state: under the class root, never inside a lab -------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{settings.state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{settings.state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{settings.state}/jupyterhub.pid"
# A hub restart (new settings, an upgrade) leaves running labs running; `dlab hub down` stops them.
c.JupyterHub.cleanup_servers = False

# --- who signs in -------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "dlab_hub.auth.ClassListAuthenticator"
c.ClassListAuthenticator.settings_path = settings.path
c.ClassListAuthenticator.passwords_file = f"{settings.state}/passwords.csv"
c.ClassListAuthenticator.dbm_path = f"{settings.state}/passwords.dbm"
c.ClassListAuthenticator.create_users = True  # first sign-in sets the password; the class list says who
c.Authenticator.allowed_users = set(settings.members)
c.Authenticator.allow_existing_users = True  # a late student added on the admin page needs no restart
c.Authenticator.admin_users = {settings.teacher}

# --- the labs -----------------------------------------------------------------------------------
c.JupyterHub.spawner_class = "dlab_hub.spawner.LabSpawner"
c.LabSpawner.class_settings = settings
c.LabSpawner.gpu_units = units
c.LabSpawner.options_form = lambda spawner: spawner.runtime_form()
c.LabSpawner.image = settings.image_cpu
c.LabSpawner.pull_policy = "never"  # nothing is downloaded in class
c.LabSpawner.prefix = f"dlab-{settings.class_name}"
c.LabSpawner.network_name = settings.network
c.LabSpawner.use_internal_ip = True
c.LabSpawner.remove = True  # a stopped lab's container goes; its folder stays
c.LabSpawner.extra_create_kwargs = {"user": f"{settings.uid}:{settings.gid}",
                                    "labels": {"org.dlab.hub": settings.class_name}}
c.LabSpawner.extra_host_config = host_config
c.LabSpawner.mem_limit = settings.memory
c.LabSpawner.cpu_limit = settings.cpus
c.LabSpawner.default_url = f"/lab/tree/{folders.WELCOME}"
c.LabSpawner.http_timeout = 120  # thirty labs starting at once on one server take a while
c.LabSpawner.start_timeout = 180

# --- idle labs stop; their files stay -----------------------------------------------------------
# Activity: requests to the lab (an open JupyterLab tab polls), kernel messages, a busy kernel.
activity_every = max(5, min(300, settings.idle_timeout // 6 or 300))
c.LabSpawner.environment = {"JUPYTERHUB_ACTIVITY_INTERVAL": str(activity_every),
                             "DLAB_SOLUTIONS": "1" if settings.solutions else "0"}  # the image's seeding reads it
c.JupyterHub.last_activity_interval = activity_every
admin_token = private_token(f"{settings.state}/admin-token")
c.JupyterHub.services = [{"name": "dlab-admin", "api_token": admin_token}]
c.JupyterHub.load_roles = [{"name": "dlab-admin", "services": ["dlab-admin"],
                            "scopes": ["admin:users", "admin:servers", "tokens"]}]
if settings.idle_timeout:
    c.JupyterHub.services.append({"name": "idle-culler", "command": [
        sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={settings.idle_timeout}",
        f"--cull-every={activity_every}"]})
    c.JupyterHub.load_roles.append({"name": "idle-culler", "services": ["idle-culler"],
                                    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})
