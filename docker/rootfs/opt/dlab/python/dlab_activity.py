"""Jupyter Server extension: a busy kernel counts as activity.

The server counts kernel messages as activity, so a training cell that prints nothing for an
hour would look idle and the hub's idle culler would stop it. Every few seconds this notes
"now" while any kernel is busy, in a setting the server's last_activity() reads.
"""

from datetime import datetime, timezone

from tornado.ioloop import PeriodicCallback

CHECK_EVERY_MS = 5000


def _jupyter_server_extension_points():
    return [{"module": "dlab_activity"}]


def _load_jupyter_server_extension(serverapp):
    kernels = serverapp.kernel_manager
    settings = serverapp.web_app.settings

    def note_busy_kernels():
        if any(getattr(kernels.get_kernel(k), "execution_state", "") == "busy" for k in kernels.list_kernel_ids()):
            settings["dlab_busy_kernel_last_activity"] = datetime.now(timezone.utc)

    PeriodicCallback(note_busy_kernels, CHECK_EVERY_MS).start()
