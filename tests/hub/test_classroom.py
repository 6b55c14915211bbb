"""The classroom: `dlab hub up` on a class settings file, three students spawned through the REST API,
on a host that looks as if it had two GPUs (this engine refuses GPUs, as one without the toolkit)."""

import base64
import hashlib
import os
import re
import subprocess

import pytest

from tests.hub.hub_helpers import Classroom, sign_in
from tests.support.browser import new_page
from tests.support.runner import docker

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(1800)]

STUDENTS = ("alice", "bob", "carol")
LAB_UID, LAB_GID = (os.getuid(), os.getgid()) if os.getuid() else (1000, 100)


@pytest.fixture(scope="module")
def classroom(hub_image, cpu_image, tmp_path_factory):
    """One hub for the module, its three students' labs ready."""
    from tests.support.gpus import stand_in_gpu_path

    room = Classroom(tmp_path_factory.mktemp("classroom"), students=(*STUDENTS, "dave", "erin"),
                     limits={"memory": "2G", "cpus": 1, "pids": 512})
    room.env = stand_in_gpu_path(room.folder / "stand-in-bin", toolkit=True)
    try:
        hub = room.up()
        room.tokens = {}
        for name in STUDENTS:
            hub.spawn(name)
        for name in STUDENTS:
            hub.wait_ready(name, logs=room.logs)
            room.tokens[name] = hub.user_token(name)
        yield room
    finally:
        room.down()


def test_up_prints_the_url_and_fingerprint(classroom):
    """`dlab hub up` prints the HTTPS URL and the certificate's SHA-256 fingerprint, as the hub logged it."""
    assert "https://" in classroom.up_output and f":{classroom.port}/" in classroom.up_output
    fingerprint = next(line.split()[-1] for line in classroom.up_output.splitlines() if "fingerprint" in line)
    assert len(fingerprint.split(":")) == 32
    pem = (classroom.root / "state" / "tls" / "cert.pem").read_text()
    der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem.encode(), capture_output=True).stdout
    assert fingerprint == ":".join(f"{b:02X}" for b in __import__("hashlib").sha256(der).digest())


def test_each_lab_answers_through_the_proxy(classroom):
    """Every student's lab answers its owner's token through the hub's HTTPS proxy."""
    for name in STUDENTS:
        reply = classroom.api.lab(name, "api/contents", classroom.tokens[name])
        assert reply.status_code == 200, (name, reply.status_code)


def test_saved_file_lands_in_own_folder_with_owner(classroom):
    """A notebook each student saves lands in their own folder on the host, owned by the labs' user."""
    for name in STUDENTS:
        body = {"type": "file", "format": "text", "content": f"{name}'s work"}
        reply = classroom.api.lab(name, "api/contents/mine.txt", classroom.tokens[name], method="PUT", json=body)
        assert reply.status_code in (200, 201), reply.text
    for name in STUDENTS:
        saved = classroom.student_folder(name) / "mine.txt"
        assert saved.read_text() == f"{name}'s work"
        assert (saved.stat().st_uid, saved.stat().st_gid) == (LAB_UID, LAB_GID)


def test_token_of_one_student_gets_403_on_another_lab(classroom):
    """alice's token opens alice's lab and gets 403 on bob's."""
    assert classroom.api.lab("bob", "api/contents", classroom.tokens["alice"]).status_code == 403
    assert classroom.api.lab("alice", "api/contents", classroom.tokens["alice"]).status_code == 200


def test_lab_cannot_reach_another_lab(classroom):
    """From inside alice's container bob's server cannot be reached; the hub's API can (the labs need it)."""
    bob_ip = docker("inspect", classroom.lab_container("bob"), "-f",
                    "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}").stdout.strip()
    hub_api = classroom.tables["server"]["hub_api_port"]
    probe = ("import socket, sys\n"
             "host, port = sys.argv[1], int(sys.argv[2])\n"
             "try:\n    socket.create_connection((host, port), timeout=3).close(); print('open')\n"
             "except OSError as exc:\n    print('closed', exc)\n")
    gateway = docker("network", "inspect", f"dlab-hub-{classroom.name}", "-f",
                     "{{(index .IPAM.Config 0).Gateway}}").stdout.strip()
    alice = classroom.lab_container("alice")
    assert docker("exec", alice, "python", "-c", probe, gateway, str(hub_api)).stdout.startswith("open")
    assert docker("exec", alice, "python", "-c", probe, bob_ip, "8888").stdout.startswith("closed")


def test_lab_has_no_way_to_the_hub_database(classroom):
    """The hub's state (database, passwords, certificate key) is mounted in no lab."""
    mounts = docker("inspect", classroom.lab_container("alice"), "-f",
                    "{{range .Mounts}}{{.Source}} {{end}}").stdout.split()
    assert sorted(mounts) == sorted([str(classroom.root / "class"), str(classroom.student_folder("alice"))])
    check = docker("exec", classroom.lab_container("alice"), "sh", "-c",
                   f"ls {classroom.root}/state 2>&1; find / -name 'jupyterhub.sqlite' 2>/dev/null", check=False)
    assert "jupyterhub.sqlite" not in check.stdout


def test_lab_runs_unprivileged_within_its_limits(classroom):
    """No root, no new privileges, no capabilities; memory, CPU and pids limits from the settings."""
    config = docker("inspect", classroom.lab_container("alice"), "-f",
                    "{{.Config.User}}|{{.HostConfig.SecurityOpt}}|{{.HostConfig.CapDrop}}|{{.HostConfig.Memory}}|"
                    "{{.HostConfig.CpuQuota}}|{{.HostConfig.PidsLimit}}").stdout.strip().split("|")
    assert config == [f"{LAB_UID}:{LAB_GID}", "[no-new-privileges:true]", "[ALL]", str(2 * 1024**3), "100000", "512"]
    inside = docker("exec", classroom.lab_container("alice"), "sh", "-c",
                    "id -u; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status").stdout.split()
    assert inside[0] == str(LAB_UID)
    assert dict(zip(inside[1::2], inside[2::2])) == {"NoNewPrivs:": "1", "CapEff:": "0000000000000000"}


def test_memory_meter_shows_the_limit(classroom):
    """jupyter-resource-usage reports the lab's memory against MEM_LIMIT, which the hub sets."""
    metrics = classroom.api.lab("alice", "api/metrics/v1", classroom.tokens["alice"]).json()
    assert metrics["limits"]["memory"]["rss"] == 2 * 1024**3 and metrics["rss"] > 0


def test_class_folder_is_shared_and_read_only(classroom):
    """What the teacher puts in class/ every lab reads; no lab can write there."""
    (classroom.root / "class" / "data.csv").write_text("x,y\n1,2\n")
    token = classroom.tokens["bob"]
    assert classroom.api.lab("bob", "api/contents/class/data.csv", token).json()["content"] == "x,y\n1,2\n"
    body = {"type": "file", "format": "text", "content": "overwritten"}
    assert classroom.api.lab("bob", "api/contents/class/data.csv", token, method="PUT", json=body).status_code >= 400
    assert (classroom.root / "class" / "data.csv").read_text() == "x,y\n1,2\n"


def test_landing_page_and_course_in_each_folder(classroom):
    """Each student's folder has the welcome page (what is where, how to get a GPU) and the course."""
    for name in STUDENTS:
        folder = classroom.student_folder(name)
        welcome = (folder / "Welcome.md").read_text()
        assert classroom.name in welcome and "class/" in welcome and "GPU" in welcome and "2 GB" in welcome
        assert any((folder / "course" / "exercises").glob("*.ipynb"))


def test_gpu_spawn_fails_with_the_toolkit_message_and_cpu_still_works(classroom):
    """On this engine a GPU lab is refused with the toolkit message; the same student then gets a CPU lab."""
    hub = classroom.api
    reply = hub.request("POST", "/hub/api/users/dave/server", json={"runtime": "gpu"})
    message = reply.text
    if reply.status_code == 202:  # slow: the failure comes through the progress stream
        message = hub.request("GET", "/hub/api/users/dave/server/progress", stream=True).text
    assert "NVIDIA Container Toolkit" in message, message
    assert not docker("ps", "-aq", "--filter", f"name={classroom.lab_container('dave')}").stdout.strip()
    hub.spawn("dave", {"runtime": "cpu"})
    hub.wait_ready("dave", logs=classroom.logs)
    hub.stop("dave")


def test_spawn_form_offers_cpu_and_gpu(classroom):
    """On a host with GPUs the spawn form asks CPU or GPU, and says how many GPUs are free."""
    session = classroom.api.new_session()
    assert sign_in(session, classroom.api.url, "erin", "erins-password").status_code == 302
    form = session.get(f"{classroom.api.url}/hub/spawn", timeout=60).text
    assert 'name="runtime" value="cpu" checked' in form and 'name="runtime" value="gpu"' in form
    assert "2 of 2 free" in form


def test_status_shows_the_hub_and_lab_versions(classroom):
    """`dlab hub status` prints the URL, the fingerprint, and one jupyterhub version in hub and labs."""
    out = classroom.dlab("status").stdout
    versions = re.search(r"jupyterhub (\S+) in the hub; in the labs: (.*)", out)
    assert versions and f":{classroom.port}/" in out and "fingerprint" in out
    assert all(part.split()[-1] == versions[1] for part in versions[2].split("; ")), out
    assert "lab(s) running" in out
    assert "Running JupyterHub version" in classroom.dlab("logs").stdout + classroom.dlab("logs").stderr


def test_unlisted_name_cannot_sign_up(classroom):
    """A name that is not on the class list cannot sign in, and gets no password stored."""
    session = classroom.api.new_session()
    reply = sign_in(session, classroom.api.url, "mallory", "a-long-password")
    assert reply.status_code == 403
    assert "mallory" not in classroom.dlab("users").stdout


def test_late_student_signs_in_without_restart(classroom):
    """A name added to the class list signs in at once: first sign-in sets the password, the second checks it."""
    session = classroom.api.new_session()
    assert sign_in(session, classroom.api.url, "frank", "franks-password").status_code == 403
    tables = classroom.tables
    tables["class"]["students"] = [*tables["class"]["students"], "frank"]
    classroom.write(tables)
    assert sign_in(session, classroom.api.url, "frank", "franks-password").status_code == 302
    again = classroom.api.new_session()
    assert sign_in(again, classroom.api.url, "frank", "a-wrong-password").status_code == 403
    listing = classroom.dlab("users").stdout
    assert any(line.split()[:4] == ["frank", "student", "yes", "set"] for line in listing.splitlines()), listing


def test_teacher_is_admin(classroom):
    """The teacher sees the hub's admin page; a student does not."""
    teacher, student = classroom.api.new_session(), classroom.api.new_session()
    assert sign_in(teacher, classroom.api.url, "teach", "teachers-password").status_code == 302
    assert sign_in(student, classroom.api.url, "erin", "erins-password").status_code == 302
    assert teacher.get(f"{classroom.api.url}/hub/admin", timeout=30).status_code == 200
    assert student.get(f"{classroom.api.url}/hub/admin", timeout=30).status_code == 403


def test_handout_never_overwrites(classroom, tmp_path):
    """`dlab hub handout` copies a notebook to every student where that name is absent, and keeps edits."""
    sheet = tmp_path / "sheet-3.ipynb"
    sheet.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    mine = classroom.student_folder("alice") / "sheet-3.ipynb"
    mine.write_text("alice's answers")
    result = classroom.dlab("handout", str(sheet))
    assert result.returncode == 0, result.stderr
    assert mine.read_text() == "alice's answers"
    for name in ("bob", "carol", "dave", "erin"):
        copy = classroom.student_folder(name) / "sheet-3.ipynb"
        assert copy.read_text() == sheet.read_text() and copy.stat().st_uid == LAB_UID
    assert "kept" in result.stdout


def spki_sha256(cert_path):
    """Base64 SHA-256 of the certificate's public key: what Chromium's SPKI allow-list takes."""
    pem = subprocess.run(["openssl", "x509", "-in", str(cert_path), "-pubkey", "-noout"], capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def entry(page, name):
    """A file-browser entry by its exact name."""
    text = page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator(".jp-DirListing-item", has=text)


@pytest.mark.browser
def test_browser_signs_in_over_https_and_runs_a_cell(classroom, tmp_path):
    """Chromium, trusting the generated certificate only, signs carol in, opens a course notebook, runs a cell."""
    pytest.importorskip("playwright.sync_api")
    cert = classroom.root / "state" / "tls" / "cert.pem"
    with new_page(screenshot=tmp_path / "last.png", args=[f"--ignore-certificate-errors-spki-list={spki_sha256(cert)}"]) as page:
        page.goto(f"https://localhost:{classroom.port}/")
        page.fill("#username_input", "carol")
        page.fill("#password_input", "carols-password")  # the first sign-in sets it
        page.click("#login_submit")
        page.wait_for_url(re.compile(r"/user/carol/lab"), timeout=120_000)
        assert page.url.startswith("https://localhost:")
        page.locator(".lm-TabBar-tab", has_text="Welcome.md").first.wait_for(timeout=120_000)
        page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"Mem:")).first.wait_for(timeout=60_000)
        entry(page, "course").dblclick()
        entry(page, "exercises").dblclick()
        notebook = page.locator(".jp-DirListing-item .jp-DirListing-itemText", has_text=re.compile(r"\.ipynb$")).first
        notebook.wait_for(timeout=30_000)
        notebook.dblclick()
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator(".jp-Cell").first.wait_for(timeout=60_000)
        page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\(ipykernel\) \| Idle")).first.wait_for(
            timeout=120_000)
        panel.locator(".jp-Cell").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("a")
        page.keyboard.press("Enter")
        page.keyboard.type("print(6 * 7)")
        page.keyboard.press("Shift+Enter")
        panel.locator(".jp-OutputArea-output", has_text=re.compile(r"^\s*42\s*$")).wait_for(timeout=120_000)


def test_users_lists_the_class(classroom):
    """`dlab hub users` lists the class with each one's role and lab."""
    lines = classroom.dlab("users").stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["teach"][1] == "teacher" and rows["alice"][1] == "student"
    assert rows["alice"][4] == "ready" and rows["alice"][5] == "cpu"


def test_down_stops_everything_and_keeps_every_file(classroom, tmp_path):
    """`dlab hub down` stops the hub and the labs; the students' files, the class folder and the database stay."""
    def files():
        return sorted(str(p.relative_to(classroom.root)) for p in classroom.root.rglob("*")
                      if p.name != "jupyterhub.pid")  # the hub's own pid file goes with the hub

    before = files()
    result = classroom.down()
    assert result.returncode == 0, result.stderr
    assert not docker("ps", "-aq", "--filter", f"label=org.dlab.hub={classroom.name}").stdout.strip()
    assert files() == before and "state/jupyterhub.sqlite" in before
    assert (classroom.student_folder("alice") / "mine.txt").read_text() == "alice's work"
