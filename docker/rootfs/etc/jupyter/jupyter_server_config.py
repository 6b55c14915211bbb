# dlab's Jupyter Server settings. Token auth stays on: JUPYTER_TOKEN, or a generated token in the log.
import os

c = get_config()  # noqa: F821
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = int(os.environ.get("JUPYTER_PORT", "8888"))
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
# Root only when the caller asked for it (`--user 0`, a root host user whose files must stay theirs).
c.ServerApp.allow_root = True
# The file browser opens on the mounted work folder, so everything saved lands on the host.
c.ServerApp.root_dir = "/home/jovyan/work"
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash", "-l"]}
# Nothing reaches for the network in class: no news, no update check, no extension catalogue.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
