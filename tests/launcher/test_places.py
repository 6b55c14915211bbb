"""Where a user's things go: the data folder, the default work folder, private files, certificates."""

import os
import subprocess

import pytest

from dlab import places, probe, tls


@pytest.mark.parametrize("system, environ, expected", [
    ("Linux", {}, "/home/ana/.local/share/dlab"),
    ("Linux", {"XDG_DATA_HOME": "/data/ana"}, "/data/ana/dlab"),
    ("Linux", {"XDG_DATA_HOME": "relative"}, "/home/ana/.local/share/dlab"),
    ("Darwin", {}, "/home/ana/Library/Application Support/dlab"),
    ("Windows", {"LOCALAPPDATA": "C:/Users/ana/AppData/Local"}, "C:/Users/ana/AppData/Local/dlab"),
])
def test_data_folder_is_the_platforms_per_user_one(system, environ, expected):
    """dlab's data folder: XDG_DATA_HOME (or ~/.local/share), Application Support, LOCALAPPDATA."""
    assert places.data_home(system, environ, "/home/ana").replace("\\", "/") == expected


def test_default_work_is_in_the_data_folder(tmp_path, monkeypatch):
    """No --work and no ./work here: the work folder is <data>/work, and dlab may create its parents."""
    monkeypatch.chdir(tmp_path)
    work = probe.probe_default_work(str(tmp_path / "data" / "dlab"))
    assert work.path == str(tmp_path / "data" / "dlab" / "work") and work.default and not work.checkout


def test_existing_checkout_work_with_files_stays_in_use(tmp_path, monkeypatch):
    """An older dlab's ./work that has files keeps being the default (and the plan says where it is)."""
    (tmp_path / "work" / "course").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    work = probe.probe_default_work(str(tmp_path / "data"))
    assert work.path == str(tmp_path / "work") and work.checkout
    (tmp_path / "empty" / "work").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "empty")
    assert not probe.probe_default_work(str(tmp_path / "data")).checkout


def test_private_folders_and_files(tmp_path):
    """Folders dlab makes are 0700 (each missing parent too); its files 0600."""
    places.private_folder(str(tmp_path / "a" / "b"))
    assert oct((tmp_path / "a").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "a" / "b").stat().st_mode & 0o777) == "0o700"
    places.write_private(str(tmp_path / "a" / "page.html"), "secret")
    assert oct((tmp_path / "a" / "page.html").stat().st_mode & 0o777) == "0o600"


def make_pair(folder, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.pem")],
                   check=True, capture_output=True)
    return folder / f"{name}.pem", folder / f"{name}.key"


def test_certificate_and_key_are_checked_to_match(tmp_path):
    """A certificate with its own key passes; with another's key, or a missing file, it is named."""
    cert, key = make_pair(tmp_path, "one")
    _, other_key = make_pair(tmp_path, "two")
    assert tls.pair_problem(str(cert), str(key)) == ""
    assert "does not belong" in tls.pair_problem(str(cert), str(other_key))
    assert "does not exist" in tls.pair_problem(str(tmp_path / "none.pem"), str(key))


def test_fingerprint_is_what_openssl_says(tmp_path):
    """The SHA-256 fingerprint dlab prints is openssl's."""
    cert, _ = make_pair(tmp_path, "one")
    said = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)],
                          capture_output=True, text=True, check=True).stdout
    assert said.strip().split("=", 1)[1] == tls.fingerprint(str(cert))
    assert os.path.getsize(cert) > 0
