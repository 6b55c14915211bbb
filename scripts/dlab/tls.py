"""HTTPS for a --public lab: the user's certificate checked, or a self-signed one made once per lab
(by openssl in the lab's own image: the host may have none) and kept, so its fingerprint stays."""

from __future__ import annotations

import dataclasses
import os

from .defaults import CERT_DAYS
from .runspec import Mount, RunSpec

CERT, KEY = "cert.pem", "key.pem"


def pair_problem(certfile: str, keyfile: str) -> str:
    """Why this certificate and key cannot serve HTTPS, or '' when they can."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except FileNotFoundError as exc:
        return f"{exc.filename} does not exist"
    except PermissionError as exc:
        return f"{exc.filename} is not readable by you"
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            return f"the key {keyfile} does not belong to the certificate {certfile}"
        return f"{certfile} and {keyfile} are not a PEM certificate and its key ({exc.reason or exc})"
    except OSError as exc:
        return str(exc)
    return ""


def fingerprint(certfile: str) -> str:
    """The SHA-256 fingerprint browsers show, AB:CD:..., of the first certificate in the file."""
    import hashlib
    import ssl

    with open(certfile, encoding="ascii", errors="replace") as pem:
        text = pem.read()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(text[text.index("-----BEGIN CERTIFICATE-----"):end])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2)).upper()


def present(folder: str) -> bool:
    return all(os.path.isfile(os.path.join(folder, name)) for name in (CERT, KEY))


def self_signed(base: RunSpec, folder: str, hostname: str) -> RunSpec:
    """A one-off container that writes a self-signed certificate and key for hostname into folder."""
    names = ",".join(dict.fromkeys([f"DNS:{hostname}", "DNS:localhost", "IP:127.0.0.1", "IP:::1"]))
    command = ["req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", str(CERT_DAYS),
               "-subj", f"/CN={hostname}", "-addext", f"subjectAltName={names}",
               "-keyout", f"/tls/{KEY}", "-out", f"/tls/{CERT}"]
    return dataclasses.replace(base, name="", detach=False, remove=True, network="none", entrypoint="openssl",
                               command=command, mounts=[Mount(folder, "/tls")], ports=(), labels={}, gpus="none")
