"""Labs side by side on one engine, black-box: no proxy ever sees a request, no lab reaches another, no
capability, limits inside, private token and work, HTTPS for --public, names scoped to their owner.

Lab A is root's (a root login, as CI runs); lab B is started under sudo by uid 1234 with limits and HTTPS.
Every `dlab` here runs with every proxy variable pointing at a tripwire.
"""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from dlab import engine, tls
from tests.support.containers import TrackedContainer
from tests.support.images import image_args
from tests.support.logs import REFUSED
from tests.support.ports import free_port
from tests.support.proxy import Tripwire
from tests.support.runner import LAB_URL, dlab, lab_container
from tests.support.student import STUDENT_UID, as_student
from tests.support.wait import until

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(900)]
HTTPS_URL = re.compile(r"https://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-zA-Z_.~-]+)")
GIB = 1 << 30


def api(port, path, token, method="GET", body=None, https=False):
    """(status, parsed JSON) from a lab's API, asked directly (never through a proxy)."""
    kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
    extra = {"context": ssl._create_unverified_context()} if https else {}
    connection = kind("127.0.0.1", port, timeout=10, **extra)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
        reply = connection.getresponse()
        data = reply.read()
        return reply.status, json.loads(data) if data else None
    finally:
        connection.close()


def in_lab(container, script, timeout=60):
    """Run a Python script inside a lab, as its user with the lab's HOME; its stdout."""
    result = subprocess.run(["docker", "exec", "-e", "HOME=/home/jovyan", container, "timeout", str(timeout),
                             "python", "-c", script], capture_output=True, text=True, timeout=timeout + 30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def status_line(container):
    return in_lab(container, "print(open('/proc/1/status').read())")


def healthy(container, timeout=240):
    """Whether the engine calls the container healthy (its HEALTHCHECK) within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = engine.find_instance(container)
        if found is None or found.health == "healthy":
            return found is not None
        time.sleep(1)
    return False


def field(status, name):
    return next(line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith(name + ":"))


@pytest.fixture(scope="module")
def tripwire():
    wire = Tripwire()
    yield wire
    wire.close()


@pytest.fixture(scope="module")
def module_labs(docker_client):
    """Names for the labs of this module; each is checked and removed at its end (the tests send wrong tokens)."""
    with TrackedContainer(docker_client, allowed=REFUSED) as tracked:
        yield tracked


@pytest.fixture(scope="module")
def place():
    """A folder every test user can traverse."""
    path = Path(tempfile.mkdtemp(prefix="dlabtest-safety-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def lab_a(module_labs, tripwire, place, cpu_image):
    """Root's lab: the token from a file, a stand-in browser, a work path with spaces and non-ASCII letters."""
    name, port = module_labs.name(), free_port()
    token = "token-from-a-file-0123456789"
    (place / "token.txt").write_text(token + "\n")
    browser = place / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {place}/browser-args\n')
    browser.chmod(0o755)
    work = place / "my wörk dir"
    env = {**tripwire.env, "BROWSER": str(browser), "DISPLAY": ":0", "HOME": str(place / "root-home")}
    result = dlab("up", "--name", name, "--work", str(work), "--port", str(port), "--token-file", str(place / "token.txt"),
                  *image_args(cpu_image), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(name=name, port=port, token=token, work=work, output=result.stdout, env=env,
                container=lab_container(name).name)


@pytest.fixture(scope="module")
def certificate(place):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dlab-test",
                    "-keyout", str(place / "key.pem"), "-out", str(place / "cert.pem")], check=True, capture_output=True)
    (place / "key.pem").chmod(0o600)
    return place / "cert.pem", place / "key.pem"


@pytest.fixture(scope="module")
def lab_b(module_labs, tripwire, place, certificate, cpu_image):
    """Uid 1234's lab, started through sudo: limits, exercises only, --public with the caller's certificate."""
    name, port = module_labs.name(), free_port()
    token = "a-classroom-token-from-the-environment"
    env = {**tripwire.env, "SUDO_UID": str(STUDENT_UID), "SUDO_GID": str(STUDENT_UID), "SUDO_USER": "",
           "HOME": str(place / "sudo-home"), "DLAB_TOKEN": token}
    cert, key = certificate
    result = dlab("up", "--no-browser", "--name", name, "--work", str(place / "b-work"), "--port", str(port),
                  "--memory", "3g", "--cpus", "1", "--pids-limit", "512", "--shm-size", "256m", "--no-solutions",
                  "--public", "--certfile", str(cert), "--keyfile", str(key), *image_args(cpu_image), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(name=name, port=port, token=token, work=place / "b-work", output=result.stdout,
                container=lab_container(name, str(STUDENT_UID)).name)


def test_up_and_status_send_nothing_through_a_proxy(lab_a, lab_b, tripwire, place):
    """With every proxy variable at a tripwire, `dlab up` (HTTP and HTTPS) and `dlab status` send it nothing."""
    status = dlab("status", env=tripwire.env)
    student = as_student("status", home=place, env=tripwire.env)
    assert status.returncode == 0 and student.returncode == 0
    assert api(lab_a["port"], "/api/status", lab_a["token"])[0] == 200
    assert tripwire.requests == []


def test_token_file_and_environment_set_the_token(lab_a, lab_b):
    """--token-file and DLAB_TOKEN give the lab its token: the API answers it, and the URL carries it."""
    assert api(lab_a["port"], "/api/status", lab_a["token"])[0] == 200
    assert api(lab_b["port"], "/api/status", lab_b["token"], https=True)[0] == 200
    assert api(lab_a["port"], "/api/status", "wrong-token")[0] == 403
    assert f"token={lab_a['token']}" in lab_a["output"]


def test_browser_opens_a_private_page_not_the_token(lab_a, place):
    """The browser gets a 0600 file that redirects to the lab: the token is on no command line."""
    args = place / "browser-args"
    for _ in range(50):
        if args.exists() and args.read_text().strip():
            break
        time.sleep(0.1)
    opened = args.read_text().strip()
    assert opened.startswith("file://") and lab_a["token"] not in opened
    page = Path(opened.removeprefix("file://").replace("%20", " "))
    assert oct(page.stat().st_mode & 0o777) == "0o600"
    assert f"127.0.0.1:{lab_a['port']}/lab?token={lab_a['token']}" in page.read_text()


def test_lab_cannot_reach_another_lab(lab_a, lab_b):
    """From inside lab B: lab A's address and port, and its port on the host, cannot be reached; names resolve."""
    a = engine.find_instance(lab_a["container"])
    address = json.loads(subprocess.run(["docker", "inspect", a.id], capture_output=True, text=True).stdout)[0][
        "NetworkSettings"]["Networks"]
    (network, settings), = address.items()
    script = f"""
import socket
def reach(host, port):
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, port)); return "reached"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()
print(reach("{settings['IPAddress']}", 8888), reach("{settings['Gateway']}", {lab_a['port']}), reach("127.0.0.1", 8888))
print(socket.gethostbyname("{lab_a['container']}"), socket.getaddrinfo("pypi.org", 443)[0][4][0])
"""
    first, second = in_lab(lab_b["container"], script).splitlines()
    to_a, to_a_on_host, to_itself = first.split()
    assert to_a != "reached" and to_a_on_host != "reached", first
    assert to_itself == "reached"  # the probe can tell: its own Jupyter answers
    assert second.split()[0] == settings["IPAddress"] and second.split()[1]
    assert network.endswith("-labs")


def test_lab_keeps_no_capability_and_no_new_privileges(lab_a, lab_b):
    """Inside both labs: no effective or bounding capability, no_new_privs set; B runs as its sudo caller."""
    for lab, uid in ((lab_a, "0"), (lab_b, str(STUDENT_UID))):
        status = status_line(lab["container"])
        assert field(status, "CapEff") == "0000000000000000" and field(status, "CapBnd") == "0000000000000000"
        assert field(status, "NoNewPrivs") == "1"
        assert field(status, "Uid").split()[0] == uid


def test_setuid_program_gains_no_root_in_a_lab(lab_b, cpu_image):
    """A setuid-root program in the work folder runs as the student in the lab (as root without no-new-privileges)."""
    program = lab_b["work"] / "id-setuid"
    subprocess.run(["docker", "cp", f"{lab_b['container']}:/usr/bin/id", str(program)], check=True)
    os.chown(program, 0, 0)
    program.chmod(0o4755)
    inside = subprocess.run(["docker", "exec", lab_b["container"], "/home/jovyan/work/id-setuid", "-u"],
                            capture_output=True, text=True, timeout=60)
    assert inside.stdout.strip() == str(STUDENT_UID), inside.stderr
    plain = subprocess.run(["docker", "run", "--rm", "--entrypoint", "/w/id-setuid", "--user", f"{STUDENT_UID}:{STUDENT_UID}",
                            "-v", f"{lab_b['work']}:/w", cpu_image, "-u"], capture_output=True, text=True, timeout=60)
    assert plain.stdout.strip() == "0", plain.stderr  # the same program, where privileges may be gained


def test_sudo_lab_runs_as_the_caller_and_its_work_is_private(lab_b):
    """Under sudo the work folder is made 0700 for the caller of sudo, and the course lands as theirs."""
    work = lab_b["work"]
    assert work.stat().st_uid == STUDENT_UID and oct(work.stat().st_mode & 0o777) == "0o700"
    notebooks = list((work / "course" / "exercises").glob("*.ipynb"))
    assert notebooks and all(p.stat().st_uid == STUDENT_UID for p in notebooks)
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in notebooks)  # the image's umask (NB_UMASK 077)
    assert "run by sudo: the lab runs as uid 1234" in lab_b["output"]


def limits_inside(container):
    """(memory bytes, CPUs, pids, /dev/shm bytes) as the lab's own cgroup says (v1 or v2)."""
    script = """
import os
def read(*paths):
    for p in paths:
        if os.path.exists(p):
            return open(p).read().split()
mem = read("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max")[0]
cpu = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu.max")
period = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us") or cpu[1:]
pids = read("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max")[0]
shm = os.statvfs("/dev/shm")
print(mem, cpu[0], period[0], pids, shm.f_blocks * shm.f_frsize)
"""
    mem, quota, period, pids, shm = in_lab(container, script).split()
    cpus = 0.0 if quota in ("-1", "max") else int(quota) / int(period)
    return int(mem), cpus, pids, int(shm)


def test_asked_limits_hold_inside_the_lab(lab_b):
    """--memory 3g --cpus 1 --pids-limit 512 --shm-size 256m, as the lab's cgroup and /dev/shm say."""
    assert limits_inside(lab_b["container"]) == (3 * GIB, 1.0, "512", 256 << 20)


def test_default_limits_hold_inside_the_lab(lab_a):
    """No flags: 75% of the engine's memory, 4096 processes, 1 GiB of shared memory."""
    total = int(subprocess.run(["docker", "info", "--format", "{{.MemTotal}}"], capture_output=True, text=True).stdout)
    memory, _, pids, shm = limits_inside(lab_a["container"])
    assert memory == int(total * 0.75) // (1 << 20) * (1 << 20) and pids == "4096" and shm == GIB


def test_status_shows_the_limits(lab_b, place):
    """`dlab status` (by the lab's owner) shows its limits beside its URL."""
    listed = as_student("status", home=place).stdout
    line = next(l for l in listed.splitlines() if l.startswith(lab_b["name"]))
    assert "memory 3G, 1 CPU, 512 processes, shm 256M" in line and f"https://127.0.0.1:{lab_b['port']}" in line


def test_no_solutions_seeds_the_exercises_only(lab_b):
    """--no-solutions: exercises in work/course, no solutions."""
    assert list((lab_b["work"] / "course" / "exercises").glob("*.ipynb"))
    assert not (lab_b["work"] / "course" / "solutions").exists()


def test_work_path_with_spaces_and_non_ascii_letters(lab_a):
    """A work folder named "my wörk dir" is mounted and seeded like any other."""
    assert list((lab_a["work"] / "course" / "exercises").glob("*.ipynb"))
    assert engine.find_instance(lab_a["container"]).labels["org.dlab.work"] == str(lab_a["work"])


def test_public_lab_serves_https_with_the_given_certificate(lab_b, certificate):
    """--public --certfile/--keyfile: HTTPS with that certificate, its fingerprint printed, the firewall note said."""
    served = ssl.get_server_certificate(("127.0.0.1", lab_b["port"]))
    served_file = lab_b["work"].parent / "served.pem"
    served_file.write_text(served)
    assert tls.fingerprint(str(served_file)) == tls.fingerprint(str(certificate[0]))
    assert tls.fingerprint(str(certificate[0])) in lab_b["output"]
    assert "bypass host firewalls such as ufw" in lab_b["output"]
    assert HTTPS_URL.search(lab_b["output"])
    assert healthy(lab_b["container"])  # the image's health check speaks HTTPS too


def test_names_are_scoped_to_their_owner(lab_a, lab_b, module_labs, place, cpu_image):
    """uid 1234's lab of the same name as root's is its own; neither user can stop or reuse the other's."""
    first = engine.find_instance(lab_a["container"]).id
    port = free_port()
    home = place / "student-home"
    home.mkdir(exist_ok=True)
    os.chown(home, STUDENT_UID, STUDENT_UID)
    theirs = as_student("up", "--no-browser", "--name", lab_a["name"], "--work", str(home / "work"), "--port", str(port),
                        *image_args(cpu_image), home=home)
    assert theirs.returncode == 0 and "already running" not in theirs.stdout, theirs.stdout + theirs.stderr
    assert LAB_URL.search(theirs.stdout).group(1) == str(port)
    assert str(lab_a["port"]) not in as_student("status", home=home).stdout
    down = as_student("down", lab_a["name"], home=home)
    assert down.returncode == 0, down.stderr
    assert engine.find_instance(lab_a["container"]).id == first  # root's lab still runs
    assert engine.find_instance(lab_a["container"]).state == "running"
    refused = dlab("down", lab_b["name"])
    assert refused.returncode == 2 and "no lab of yours" in refused.stderr
    assert engine.find_instance(lab_b["container"]).state == "running"


def test_reused_lab_says_which_options_it_ignores(lab_a, place):
    """`dlab up` on a running lab with another --work and --port: the old URL, and a line saying how to apply them."""
    again = dlab("up", "--no-browser", "--name", lab_a["name"], "--work", str(place / "other"), "--port", str(free_port()),
                 env={"HOME": lab_a["env"]["HOME"]})
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout and "--work" in again.stdout and f"dlab down {lab_a['name']}" in again.stdout
    assert f"127.0.0.1:{lab_a['port']}/lab?token={lab_a['token']}" in again.stdout
    assert not (place / "other").exists()


@pytest.fixture(scope="module")
def cycled_lab(module_labs, place, tripwire, cpu_image):
    """A lab with a file in its home and a busy kernel, taken down (--yes, proxies at the tripwire) and started again."""
    name, port = module_labs.name(), free_port()
    work = place / "c-work"
    args = ["up", "--no-browser", "--name", name, "--work", str(work), "--port", str(port), *image_args(cpu_image)]
    first = dlab(*args)
    token = LAB_URL.search(first.stdout).group(2)
    container = lab_container(name).name
    in_lab(container, "open('/home/jovyan/notes.txt', 'w').write('kept')")
    status, session = api(port, "/api/sessions", token, "POST",
                          {"path": "busy.ipynb", "type": "notebook", "name": "busy.ipynb", "kernel": {"name": "python3"}})
    assert status == 201, session
    in_lab(container, f"""
import time
from jupyter_client import BlockingKernelClient
from jupyter_core.paths import jupyter_runtime_dir
client = BlockingKernelClient(connection_file=jupyter_runtime_dir() + "/kernel-{session['kernel']['id']}.json")
client.load_connection_file()
client.start_channels()
client.wait_for_ready(timeout=120)  # a kernel still starting would miss the cell (a loaded machine is slow)
client.execute("import time; time.sleep(600)")
time.sleep(1)
""", timeout=150)
    until(lambda: api(port, "/api/sessions", token)[1][0]["kernel"]["execution_state"] == "busy", 60,
          "the notebook's kernel busy")
    down = dlab("down", "--yes", name, env=tripwire.env)
    again = dlab(*args)
    assert down.returncode == 0 and again.returncode == 0, down.stderr + again.stderr
    return dict(name=name, work=work, down=down.stdout, container=container)


def test_down_says_which_kernels_are_busy(cycled_lab, tripwire):
    """Before stopping, `dlab down` names the notebooks still running code (asked directly, not through a proxy),
    and says to save open tabs."""
    assert "busy: busy.ipynb" in cycled_lab["down"] and tripwire.requests == []
    assert "save them first" in cycled_lab["down"]
    assert f"{cycled_lab['container']}-home" in cycled_lab["down"]


def test_home_survives_down_and_up(cycled_lab):
    """A file in ~ outside work is still there after `dlab down` and `dlab up`."""
    kept = subprocess.run(["docker", "exec", cycled_lab["container"], "cat", "/home/jovyan/notes.txt"],
                          capture_output=True, text=True, timeout=60)
    assert kept.stdout.strip() == "kept", kept.stderr


def test_purge_deletes_the_home_and_names_it_never_the_work(cycled_lab):
    """`dlab down --purge` names the volume it deletes; the work folder and its files stay."""
    volume = f"{cycled_lab['container']}-home"
    purged = dlab("down", "--purge", "--yes", cycled_lab["name"])
    assert purged.returncode == 0, purged.stderr
    assert f"deleted the volume {volume}" in purged.stdout
    assert subprocess.run(["docker", "volume", "inspect", volume], capture_output=True).returncode != 0
    assert list((cycled_lab["work"] / "course" / "exercises").glob("*.ipynb"))


def test_self_signed_certificate_survives_a_restart(module_labs, place, cpu_image):
    """--public without a certificate: a self-signed one, served over HTTPS to a healthy lab, the same after down and up."""
    name = module_labs.name()
    env = {"DLAB_TOKEN": "a-long-enough-classroom-token", "HOME": str(place / "tls-home")}
    args = ["up", "--no-browser", "--public", "--name", name, "--work", str(place / "d-work"), "--port", str(free_port()),
            *image_args(cpu_image)]
    fingerprints = []
    for _ in range(2):
        up = dlab(*args, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        port = int(HTTPS_URL.search(up.stdout).group(1))
        served = place / "served-self.pem"
        served.write_text(ssl.get_server_certificate(("127.0.0.1", port)))
        fingerprints.append(tls.fingerprint(str(served)))
        assert fingerprints[-1] in up.stdout and "self-signed" in up.stdout
        assert healthy(lab_container(name).name)
        assert dlab("down", name, env=env).returncode == 0
    assert fingerprints[0] == fingerprints[1]


def test_root_lab_has_only_the_capabilities_root_needs(module_labs, place, cpu_image):
    """--root: Jupyter runs as root with CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID and SETUID only (no NET_RAW)."""
    name = module_labs.name()
    up = dlab("up", "--no-browser", "--root", "--name", name, "--work", str(place / "root-work"), "--port", str(free_port()),
              *image_args(cpu_image), env={"HOME": str(place / "root-home")})
    assert up.returncode == 0, up.stdout + up.stderr
    status = status_line(lab_container(name).name)
    wanted = sum(1 << bit for bit in (0, 1, 3, 4, 5, 6, 7))  # capability numbers in linux/capability.h
    assert int(field(status, "CapEff"), 16) == wanted and int(field(status, "CapBnd"), 16) == wanted
    assert not int(field(status, "CapEff"), 16) & (1 << 13)  # CAP_NET_RAW
    assert field(status, "Uid").split()[0] == "0" and field(status, "NoNewPrivs") == "1"
    assert "a root lab (--root)" in up.stdout


def test_default_work_folder_is_in_the_data_folder(module_labs, place, cpu_image):
    """No --work, run where there is no ./work: the work folder is made in dlab's data folder, 0700, and named."""
    name, home = module_labs.name(), place / "fresh-home"
    cwd = place / "checkout"
    cwd.mkdir()
    env = {"HOME": str(home), "XDG_DATA_HOME": ""}
    up = dlab("up", "--no-browser", "--name", name, "--port", str(free_port()), *image_args(cpu_image), env=env, cwd=cwd)
    assert up.returncode == 0, up.stdout + up.stderr
    work = home / ".local" / "share" / "dlab" / "work"
    assert f"work folder {work}" in up.stdout and not (cwd / "work").exists()
    assert oct(work.stat().st_mode & 0o777) == "0o700" and list((work / "course" / "exercises").glob("*.ipynb"))
