"""The classroom registry (Debian's docker-registry, for real): read-only for the network, pushes from this
machine only, pulls by digest, HTTPS that survives a restart, and no request of ours through a proxy."""

import http.client
import json
import re
import socket
import ssl
import subprocess

import pytest

from tests.support.images import fresh_tag, image_id, remove_tag
from tests.support.runner import dlab, docker

pytestmark = pytest.mark.timeout(1800)
BY_DIGEST = re.compile(r"dlab up --image (\S+?)/(\S+@sha256:[0-9a-f]{64})")


def push(registry, ref):
    """`dlab registry push --image ref`; (its output, [repo@sha256:... it printed])."""
    result = dlab("registry", "push", "--image", ref, "--data", str(registry["data"]))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, [found[1] for found in BY_DIGEST.findall(result.stdout)]


def request(host, port, method, path, body=b"", source=None):
    """One plain HTTP request, from source (an address of this machine) when given; (status, body)."""
    connection = http.client.HTTPConnection(host, port, timeout=10, source_address=(source, 0) if source else None)
    try:
        connection.request(method, path, body=body, headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json",
            "Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


@pytest.mark.engine
def test_push_by_digest_then_pull_gives_the_same_image(registry, tiny_images):
    """push prints the image by digest; the local tag gone, `dlab registry pull HOST:PORT/repo@sha256:...` brings it back."""
    ref = tiny_images("pushed")
    output, digests = push(registry, ref)
    assert len(digests) == 1 and f"pushed {ref} as {digests[0]}" in output
    remote = f"{registry['address']}/{digests[0]}"
    assert image_id(f"{registry['push']}/{ref}") is None, "push left its registry tag behind"
    wanted = image_id(ref)
    remove_tag(ref)
    try:
        pull = dlab("registry", "pull", remote)
        assert pull.returncode == 0, pull.stdout + pull.stderr
        assert image_id(remote) == wanted
        assert "note: a tag can be moved" not in pull.stdout
        status = dlab("registry", "status", "--data", str(registry["data"]))
        assert f"{ref}  {digests[0]}" in status.stdout, status.stdout
    finally:
        remove_tag(remote)


def test_push_from_the_network_is_refused(lan_registry):
    """From a non-loopback address of this machine: reads answer, every write gets 405, the push port is not there."""
    host, port = lan_registry["host"], lan_registry["port"]
    assert request(host, port, "GET", "/v2/", source=host)[0] == 200
    assert request(host, port, "POST", "/v2/dlab/blobs/uploads/", source=host)[0] == 405
    assert request(host, port, "PUT", "/v2/dlab/manifests/stolen", body=b"{}", source=host)[0] == 405
    push_port = int(lan_registry["push"].rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, push_port), timeout=5, source_address=(host, 0)).close()


@pytest.mark.engine
def test_delete_from_the_network_is_refused(lan_registry, tiny_images):
    """DELETE of a pushed manifest from the network gets 405, and the image is still served."""
    ref = tiny_images("kept")
    _, (by_digest,) = push(lan_registry, ref)
    repo, digest = by_digest.split("@")
    host, port = lan_registry["host"], lan_registry["port"]
    assert request(host, port, "DELETE", f"/v2/{repo}/manifests/{digest}", source=host)[0] == 405
    status, body = request(host, port, "GET", f"/v2/{repo}/manifests/{digest}", source=host)
    assert status == 200 and json.loads(body)["config"]["digest"] == image_id(ref)


@pytest.mark.engine
@pytest.mark.slow
def test_up_pulls_a_missing_image_by_digest(registry, cpu_image, labs, tmp_path):
    """`dlab up --image HOST:PORT/dlab@sha256:...`, as push printed it, pulls the lab and starts it."""
    ref = fresh_tag("registry-up")
    docker("tag", cpu_image, ref)
    try:
        _, digests = push(registry, ref)
    finally:
        remove_tag(ref)
    remote = f"{registry['address']}/{digests[0]}"
    assert image_id(remote) is None
    name = labs.name()
    try:
        up = dlab("up", "--no-browser", "--image", remote, "--name", name, "--work", str(tmp_path / "work"))
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"pulling it from {registry['address']}" in up.stdout and "JupyterLab is ready" in up.stdout
        assert image_id(remote) == image_id(cpu_image)
    finally:
        dlab("down", "--purge", name)
        remove_tag(remote)


def test_registry_start_on_a_taken_port(registry):
    """A second registry on the port the first one holds is refused with exit 2; the first keeps running."""
    port = registry["address"].rsplit(":", 1)[1]
    other = registry["data"].parent / "other"
    result = dlab("registry", "start", "--port", port, "--data", str(other))
    assert result.returncode == 2 and "taken" in result.stderr, result.stdout + result.stderr
    assert request("127.0.0.1", int(port), "GET", "/v2/")[0] == 200


def test_registry_stop_when_none_runs(tmp_path):
    """`dlab registry stop` with no registry of ours running says so (exit 2) and kills nothing."""
    result = dlab("registry", "stop", "--data", str(tmp_path / "none"))
    assert result.returncode == 2 and "no registry started by dlab" in result.stderr


def certificate(folder, name="cert"):
    """A self-signed certificate for 127.0.0.1 and localhost, and its key: (cert, key)."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def https_answers(port, cert):
    """GET /v2/ over HTTPS, the certificate checked against cert as the only CA."""
    context = ssl.create_default_context(cafile=str(cert))
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        connection.request("GET", "/v2/")
        return connection.getresponse().status == 200
    finally:
        connection.close()


def test_tls_survives_a_restart(port, tmp_path):
    """HTTPS with the given certificate, checked by a client that trusts only it; still so after stop and a bare start."""
    cert, key = certificate(tmp_path)
    data = tmp_path / "registry"
    started = dlab("registry", "start", "--port", str(port), "--data", str(data), "--tls-cert", str(cert),
                   "--tls-key", str(key))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert https_answers(port, cert) and "https://127.0.0.1" in started.stdout
        assert (data / "tls" / "registry.key").stat().st_mode & 0o077 == 0
        assert dlab("registry", "stop", "--data", str(data)).returncode == 0
        cert.unlink()  # the registry kept its own copy
        again = dlab("registry", "start", "--data", str(data))
        assert again.returncode == 0, again.stdout + again.stderr
        assert https_answers(port, data / "tls" / "registry.crt")
        status, body = request("127.0.0.1", port, "GET", "/v2/")
        assert status == 400 and b"HTTPS server" in body  # plain HTTP is not served
    finally:
        dlab("registry", "stop", "--data", str(data))


def test_tls_key_of_another_certificate_is_refused(port, tmp_path):
    """--tls-key that does not belong to --tls-cert: exit 2, both named, no registry started."""
    cert, _ = certificate(tmp_path, "one")
    _, other_key = certificate(tmp_path, "two")
    result = dlab("registry", "start", "--port", str(port), "--data", str(tmp_path / "registry"),
                  "--tls-cert", str(cert), "--tls-key", str(other_key))
    assert result.returncode == 2 and "does not belong to the certificate" in result.stderr, result.stderr
    assert not (tmp_path / "registry" / "registry.json").exists()


@pytest.mark.engine
def test_registry_client_goes_through_no_proxy(tripwire, port, tiny_images, tmp_path):
    """start, push, status and stop with every proxy variable pointing at a tripwire: it sees no connection."""
    data = str(tmp_path / "registry")
    steps = [("start", "--port", str(port)), ("push", "--image", tiny_images("proxied")), ("status",), ("stop",)]
    for step in steps:
        result = dlab("registry", *step, "--data", data, env=tripwire.env)
        assert result.returncode == 0, result.stdout + result.stderr
    assert tripwire.requests == [], "a registry request went to the proxy"
