"""Free ports, held until the container (or the program) that uses them takes them.

A reserved port stays bound on all interfaces (SO_REUSEADDR, never listening) for as long as the test
holds it: the kernel then hands it to no other program asking for a free port, while docker-proxy,
JupyterHub, its proxy and `dlab up`'s own check, which bind with SO_REUSEADDR too, can still take it.
"""

import contextlib
import socket


@contextlib.contextmanager
def reserved_port(host=""):
    """A free port number, held for the with-block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # before bind, or docker-proxy cannot share it
        holder.bind((host, 0))
        yield holder.getsockname()[1]


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago, for code that hands it on at once; reserved_port holds one."""
    with reserved_port(host) as port:
        return port

