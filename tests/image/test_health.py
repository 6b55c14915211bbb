"""The HEALTHCHECK: it asks the running server where the server says it is, never through a proxy."""

import subprocess

import docker
import pytest

from tests.support.jupyter import start_lab
from tests.support.proxy import Tripwire

pytestmark = pytest.mark.engine

FAST_PROBES = {"test": [], "interval": 1_000_000_000}  # the image's check, once a second


@pytest.fixture
def tripwire():
    """A tripwire on every interface of the host: the containers reach it as `tripwire` (the host's gateway)."""
    wire = Tripwire(listen="0.0.0.0")
    yield wire
    wire.close()


def start_behind_tripwire(container, tripwire, port, command=None, environment=None):
    lab = container.start(
        command=command, healthcheck=FAST_PROBES, extra_hosts={"tripwire": "host-gateway"},
        environment={"JUPYTER_TOKEN": "t" * 24, **tripwire.env_for("tripwire"), **(environment or {})},
        ports={"8888/tcp": ("127.0.0.1", port)})
    container.wait_healthy(lab, timeout=90)
    return lab


def assert_tripwire_works_yet_saw_nothing(tracked, lab, tripwire):
    """Nothing reached the proxy; then a request that does follow the proxy variables reaches it."""
    assert tripwire.requests == []
    tracked.exec(lab, ["python", "-c", "import urllib.request as u; u.urlopen('http://example.invalid/', timeout=3)"],
                 expect_exit=None)
    assert tripwire.requests, "the tripwire is not reachable from the container: the test proves nothing"


def test_healthy_with_proxy_variables_set(container, tripwire, port):
    """With every proxy variable set (no_proxy empty) the lab turns healthy and the proxy sees nothing."""
    lab = start_behind_tripwire(container, tripwire, port)
    assert_tripwire_works_yet_saw_nothing(container, lab, tripwire)


def test_healthy_under_a_custom_base_url(container, tripwire, port):
    """`jupyter lab --ServerApp.base_url=/course/` stays healthy."""
    lab = start_behind_tripwire(container, tripwire, port, command=["jupyter", "lab", "--ServerApp.base_url=/course/"])
    assert_tripwire_works_yet_saw_nothing(container, lab, tripwire)


def test_healthy_under_a_jupyterhub_prefix(container, tripwire, port):
    """A server at JupyterHub's per-user prefix (JUPYTERHUB_SERVICE_PREFIX) stays healthy."""
    prefix = "/user/student/"
    lab = start_behind_tripwire(container, tripwire, port, environment={"JUPYTERHUB_SERVICE_PREFIX": prefix},
                                command=["jupyter", "lab", f"--ServerApp.base_url={prefix}"])
    assert_tripwire_works_yet_saw_nothing(container, lab, tripwire)


def test_healthy_under_tls(container, tripwire, port, tmp_path):
    """Served over HTTPS (certfile/keyfile, a self-signed certificate) the lab stays healthy."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=lab",
                    "-keyout", str(tmp_path / "lab.key"), "-out", str(tmp_path / "lab.pem")],
                   check=True, capture_output=True)
    for name in ("lab.key", "lab.pem"):
        (tmp_path / name).chmod(0o644)  # readable by the lab's uid in this test only
    tmp_path.chmod(0o755)
    lab = container.start(
        command=["jupyter", "lab", "--ServerApp.certfile=/tls/lab.pem", "--ServerApp.keyfile=/tls/lab.key"],
        healthcheck=FAST_PROBES, extra_hosts={"tripwire": "host-gateway"},
        environment={"JUPYTER_TOKEN": "t" * 24, **tripwire.env_for("tripwire")},
        volumes={str(tmp_path): {"bind": "/tls", "mode": "ro"}}, ports={"8888/tcp": ("127.0.0.1", port)})
    container.wait_healthy(lab, timeout=90)
    assert_tripwire_works_yet_saw_nothing(container, lab, tripwire)


def test_unhealthy_when_the_server_stops_answering(container, port):
    """A server that stopped answering (SIGSTOP) makes the check fail: a live record alone is not health."""
    lab = start_lab(container, port)
    container.wait_healthy(lab, timeout=90)
    stop = "pid=$(jupyter server list --json | python -c 'import json,sys; print(json.loads(sys.stdin.readline())[\"pid\"])')"
    result = container.exec(lab, ["bash", "-c", f"{stop}; kill -STOP $pid; /usr/local/bin/healthcheck; rc=$?; kill -CONT $pid; exit $rc"],
                            expect_exit=1)
    assert "not answering" in result.output


def test_listens_on_ipv4_and_ipv6(container, docker_client, port):
    """On a dual-stack network the server answers on its IPv4 and its IPv6 address, and on a 127.0.0.1 published port."""
    network = docker_client.networks.create(
        f"dlab-image-harden-v6-{port}", enable_ipv6=True,
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=f"fd00:d1ab:{port:x}::/64")]))
    try:
        lab = start_lab(container, port, network=network.name)
        check = (
            "import socket, urllib.request as u\n"
            "direct = u.build_opener(u.ProxyHandler({}))\n"
            "for family in (socket.AF_INET, socket.AF_INET6):\n"
            "    addrs = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, family)} - {'127.0.0.1', '::1'}\n"
            "    assert addrs, family\n"
            "    for a in addrs:\n"
            "        host = f'[{a}]' if ':' in a else a\n"
            "        assert direct.open(f'http://{host}:8888/api', timeout=5).status == 200\n"
            "        print('answered on', a)\n"
        )
        output = container.exec(lab, ["python", "-c", check]).output
        assert output.count("answered on") >= 2 and "answered on fd00:" in output, output
    finally:
        container.close()  # the network goes only once no container is on it
        network.remove()
