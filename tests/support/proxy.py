"""A tripwire posing as the HTTP proxy: whatever connects to it is a request that went through a proxy.

The whole suite runs behind one (plugin.py): every proxy variable of this process points at it, so each `dlab`,
healthcheck, hub and client of ours inherits it. The few steps that need the real network (a build that downloads,
pip from PyPI) get network_env() instead.
"""

import os
import socket
import threading

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
NAMES = tuple(name for variable in (*PROXY_VARIABLES, "no_proxy") for name in (variable, variable.upper()))
machine_proxies = {}  # this machine's own proxy variables, as the session found them


def put_behind(tripwire):
    """Point this process's proxy variables at tripwire, keeping the machine's own for network_env()."""
    machine_proxies.update({name: os.environ[name] for name in NAMES if name in os.environ})
    os.environ.update(tripwire.env)


def network_env():
    """This process's environment with the machine's own proxy variables instead of the tripwire: the real network."""
    return {**{k: v for k, v in os.environ.items() if k not in NAMES}, **machine_proxies}


class Tripwire:
    """A listener (on 127.0.0.1, or listen=) that answers 502 and records the first line of every request."""

    def __init__(self, listen="127.0.0.1"):
        self.server = socket.socket()
        self.server.bind((listen, 0))
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
        return self.env_for("127.0.0.1")

    def env_for(self, host):
        """The same, for a client that reaches the tripwire as host (a container: the host's gateway name)."""
        url = f"http://{host}:{self.port}"
        env = {name: url for variable in PROXY_VARIABLES for name in (variable, variable.upper())}
        return {**env, "no_proxy": "", "NO_PROXY": ""}

    def close(self):
        self.server.close()
