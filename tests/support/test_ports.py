"""Reserved ports: held against everyone else, yet a container can publish them."""

import errno
import socket

import pytest

from dlab.probe import port_is_free
from tests.support.ports import reserved_port
from tests.support.wait import wait_for_http


def test_reserved_port_is_held_until_released():
    """While reserved, no other program can bind the port; afterwards it can."""
    with reserved_port() as port:
        with socket.socket() as other, pytest.raises(OSError) as taken:
            other.bind(("127.0.0.1", port))
        assert taken.value.errno == errno.EADDRINUSE
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))


def test_launcher_may_take_a_reserved_port_but_not_a_listened_one():
    """`dlab up`'s port check counts a reserved port free (docker-proxy can bind it) and a listening one taken."""
    with reserved_port() as port:
        assert port_is_free(port)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        assert not port_is_free(listener.getsockname()[1])


@pytest.mark.engine
def test_container_publishes_a_reserved_port(cpu_container, port):
    """docker-proxy takes over the reserved port: a server in the container answers on it."""
    cpu_container.start(command=["python", "-m", "http.server", "8000"], ports={"8000/tcp": ("127.0.0.1", port)})
    assert wait_for_http(f"http://127.0.0.1:{port}/", timeout=30) == 200
