"""HTTPS for the classroom: the teacher's certificate, or a self-signed one made at first start."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .settings import SettingsError

VALID_DAYS = 825  # the longest browsers accept for a certificate they are told to trust


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate, as browsers show it: AB:CD:..."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def local_addresses(fib_trie="/proc/net/fib_trie"):
    """This host's IPv4 addresses (the hub shares the host's network), loopback included."""
    found = {"127.0.0.1"}
    try:
        lines = Path(fib_trie).read_text().splitlines()
    except OSError:
        return sorted(found)
    for previous, line in zip(lines, lines[1:]):
        if line.strip() == "/32 host LOCAL":
            found.add(previous.split()[-1])
    return sorted(found, key=ipaddress.ip_address)


def host_names(extra=()):
    names = ["localhost", socket.gethostname(), socket.getfqdn(), *extra]
    return sorted({n for n in names if n and not _is_address(n)})


def _is_address(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def make_self_signed(folder: Path, names, addresses, class_name):
    """Write cert.pem and key.pem (EC P-256) for these names and addresses into folder."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"dlab hub {class_name}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def check_pair(cert_path, key_path):
    """The certificate and key can be read, are PEM, and belong together."""
    try:
        cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    except OSError as exc:
        raise SettingsError(f"cannot read {exc.filename}: {exc.strerror}", "check [tls] cert and key in the class settings")
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"[tls] cert or key is not an unencrypted PEM file ({exc})",
                            "give the certificate and its private key in PEM form, the key without a passphrase")
    public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*public) != key.public_key().public_bytes(*public):
        raise SettingsError(f"the certificate {cert_path} does not match the key {key_path}",
                            "give the key the certificate was issued for (or remove [tls] for a self-signed one)")


def certificate_for(settings):
    """(cert, key, fingerprint, made_now): the teacher's pair, else the self-signed one in state/tls/."""
    if settings.cert:
        check_pair(settings.cert, settings.key)
        cert, key, made = Path(settings.cert), Path(settings.key), False
    else:
        folder = Path(settings.state) / "tls"
        cert, key = folder / "cert.pem", folder / "key.pem"
        made = not (cert.exists() and key.exists())
        if made:
            make_self_signed(folder, host_names(settings.names), local_addresses() + [
                n for n in settings.names if _is_address(n)], settings.class_name)
            os.chown(folder, settings.uid, settings.gid)
            os.chown(cert, settings.uid, settings.gid)
        check_pair(cert, key)
    return str(cert), str(key), fingerprint(cert.read_bytes()), made
