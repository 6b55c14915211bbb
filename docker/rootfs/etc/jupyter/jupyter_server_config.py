# dlab's Jupyter Server settings. Token auth stays on: JUPYTER_TOKEN (or JUPYTER_TOKEN_FILE),
# else a generated token printed in the log; nothing switches it off by accident.
import os
import secrets
import sys

from jupyter_server.auth.identity import PasswordIdentityProvider

c = get_config()  # noqa: F821


def take_token():
    """The caller's token, read once and removed from the environment the kernels inherit."""
    token = os.environ.pop("JUPYTER_TOKEN", "").strip()
    path = os.environ.pop("JUPYTER_TOKEN_FILE", "")
    if token or not path:
        return token
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read().strip()
    except OSError as exc:
        print(f"dlab: cannot read JUPYTER_TOKEN_FILE ({exc}); using a generated token", file=sys.stderr)
    if not token:
        print(f"dlab: JUPYTER_TOKEN_FILE {path} holds no token; using a generated token", file=sys.stderr)
    return token


class TokenAlwaysOn(PasswordIdentityProvider):
    """Jupyter's token/password login, where an empty token (from the environment, a file, the
    command line or a config file) means a generated one, never "no authentication"."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not self.auth_enabled:
            self.log.warning("An empty token would switch authentication off; using a generated token")
            self.token = secrets.token_hex(24)
            self.token_generated = True

    def validate_security(self, app, ssl_options=None):
        # ip "" (IPv4 and IPv6) is how a container serves its published port; Jupyter warns about
        # it as it would about a laptop's LAN, though auth is always on here. Other checks stay.
        if app.ip or (self.password_required and not self.hashed_password):
            super().validate_security(app, ssl_options)


# Under JupyterHub (jupyterhub-singleuser) the hub does the login and sets its own provider.
if "JUPYTERHUB_API_TOKEN" not in os.environ:
    c.ServerApp.identity_provider_class = TokenAlwaysOn
    token = take_token()
    if token:
        c.IdentityProvider.token = token
# Names listed in JUPYTER_ENV_VARS_TO_UNSET (comma-separated) stay out of kernels and terminals.
for name in os.environ.pop("JUPYTER_ENV_VARS_TO_UNSET", "").split(","):
    os.environ.pop(name.strip(), None)

# Both address families (IPv4 and IPv6); the host decides what is published, on which address.
c.ServerApp.ip = ""
c.ServerApp.port = int(os.environ.get("JUPYTER_PORT", "8888"))
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
# Root only when the caller asked for a root lab (DLAB_ALLOW_ROOT=1, for a root host user whose
# files must stay theirs): a lab that is root by accident leaves root-owned files in `work`.
c.ServerApp.allow_root = os.environ.get("DLAB_ALLOW_ROOT") == "1"
if os.getuid() == 0 and not c.ServerApp.allow_root:
    print("dlab: JupyterLab runs as root only when asked", file=sys.stderr)
    print('fix: start it as your user (docker run --user "$(id -u):$(id -g)"), or set DLAB_ALLOW_ROOT=1 for a root lab',
          file=sys.stderr)
# The file browser opens on the mounted work folder, so everything saved lands on the host.
c.ServerApp.root_dir = "/home/jovyan/work"
# Deleting really deletes: no hidden .Trash-<uid> folder filling the student's work folder.
c.FileContentsManager.delete_to_trash = False
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash", "-l"]}
# Nothing reaches for the network in class: no news, no update check, no extension catalogue.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
# Export formats that need pandoc, LaTeX, Qt or a browser engine the image does not ship stay out
# of the File > Save and Export menu; HTML export (then the browser's Print to PDF) is the way.
for exporter in ("PDFExporter", "LatexExporter", "WebPDFExporter", "QtPDFExporter", "QtPNGExporter",
                 "RSTExporter", "ASCIIDocExporter"):
    c[exporter].enabled = False
