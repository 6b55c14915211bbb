"""A tripwire posing as the HTTP proxy: whatever connects to it is a request that went through a proxy."""

import socket
import threading

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


class Tripwire:
    """A listener on 127.0.0.1 that answers 502 and records the first line of every request."""

    def __init__(self):
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
