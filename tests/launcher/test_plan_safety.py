"""plan() for a lab that is safe beside others: its user, capabilities, network, limits, token, HTTPS, names."""

import json

import pytest

from dlab import engine, isolation, limits, probe
from dlab.defaults import Label
from dlab.errors import UserError
from dlab.plan import Options, plan
from tests.support.hosts import HOSTS, load_host

GIB = 1 << 30


def opts(**kwargs):
    kwargs.setdefault("new_token", "t0ken")
    return Options(**kwargs)


def spec(host="no-gpu", facts=None, **options):
    return plan(facts or load_host(host), opts(**options)).lab_spec()


def test_lab_keeps_no_capability_and_gains_no_privileges():
    """A lab drops every capability and sets no-new-privileges; its user is the caller."""
    lab = spec()
    assert list(lab.cap_drop) == ["ALL"] and list(lab.cap_add) == []
    assert list(lab.security) == ["no-new-privileges"]
    assert lab.user == "1000:1000" and "DLAB_ALLOW_ROOT" not in lab.env


def test_sudo_runs_the_lab_as_the_caller_of_sudo():
    """Under sudo (uid 0, SUDO_UID 1234): the lab runs as 1234:1234 and owns what root makes for it."""
    launch = plan(load_host("no-gpu", uid=0, gid=0, sudo_uid=1234, sudo_gid=1234, login="alice"), opts())
    assert launch.lab_spec().user == "1234:1234" and launch.owner == "1234" and launch.owner_ids == (1234, 1234)
    assert launch.container == "dlab-alice"
    assert "DLAB_ALLOW_ROOT" not in launch.lab_spec().env
    assert any("run by sudo" in n for n in launch.notes)


def test_root_lab_only_when_asked_with_the_capabilities_root_needs():
    """--root: Jupyter may run as root, with the few capabilities to manage files and processes, never NET_RAW."""
    lab = spec(root=True)
    assert lab.user == "0:0" and lab.env["DLAB_ALLOW_ROOT"] == "1"
    assert set(lab.cap_add) == {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID"}
    assert "NET_RAW" not in lab.cap_add and list(lab.cap_drop) == ["ALL"]


def recorded_info(**extra):
    record = json.loads((HOSTS / "no-gpu.json").read_text())
    return {**record["docker_info"], **extra}


def recorded_podman(name):
    return json.loads((HOSTS / f"{name}.json").read_text())["docker_info"]


@pytest.mark.parametrize("info, engine_name, rootless", [
    (recorded_info(), "docker", False),
    (recorded_info(SecurityOptions=["name=seccomp,profile=default", "name=rootless", "name=cgroupns"]), "docker", True),
    (recorded_podman("podman-rootless"), "podman", True),
    (recorded_podman("podman-rootful"), "podman", False),
])
def test_engine_kind_is_read_from_docker_info(info, engine_name, rootless):
    """Rootless Docker (a security option), and Podman's own info (recorded from podman 4.3), are told apart."""
    facts = probe.parse_docker_info(info)
    assert (facts.get("engine_name", "docker"), facts["rootless"]) == (engine_name, rootless)


def test_docker_cli_on_podman_socket_is_podman():
    """The docker CLI talking to Podman's socket names Podman among the server's components."""
    assert probe.engine_name([{"Name": "Podman Engine", "Version": "5.2.2"}]) == "podman"
    assert probe.engine_name([{"Name": "Engine"}, {"Name": "containerd"}]) == "docker"


def test_rootless_docker_runs_the_lab_as_root_inside():
    """Rootless Docker: root inside is the caller on the host, so the work files stay theirs; no user namespace flag."""
    launch = plan(load_host("no-gpu", **probe.parse_docker_info(recorded_info(SecurityOptions=["name=rootless"]))), opts())
    lab = launch.lab_spec()
    assert lab.user == "0:0" and lab.env["DLAB_ALLOW_ROOT"] == "1" and lab.userns == ""
    assert list(lab.cap_add) == [] and any("rootless Docker" in n for n in launch.notes)


def test_rootless_podman_keeps_the_callers_uid():
    """Rootless Podman (recorded): --userns=keep-id with the caller's uid:gid, its own network namespace, and on
    cgroup v1 no limits it could not apply, said in a note."""
    launch = plan(load_host("podman-rootless"), opts())
    args = launch.lab_spec().argv()
    assert args[args.index("--userns") + 1] == "keep-id" and args[args.index("--user") + 1] == "1234:1234"
    assert "--network" not in args and not any(a.startswith(("--memory", "--cpus", "--pids-limit")) for a in args)
    assert any("cgroup v1 cannot limit" in n for n in launch.notes)


def test_rootful_podman_says_labs_can_meet():
    """Rootful Podman (recorded): its default network lets labs reach each other, and the plan says so."""
    launch = plan(load_host("podman-rootful"), opts())
    assert any("rootful Podman: labs share its default network" in n for n in launch.notes)


def test_lab_runs_on_the_isolated_network():
    """Labs share one network with inter-container traffic off; dlab creates it when absent."""
    launch = plan(load_host("no-gpu", lab_network="absent"), opts())
    args = launch.lab_spec().argv()
    assert args[args.index("--network") + 1] == isolation.network_name() and launch.create_network
    create = isolation.network_create_args(launch.network)
    assert "com.docker.network.bridge.enable_icc=false" in create


def test_network_that_lets_labs_meet_is_refused():
    """A labs' network without the isolation (someone made it by hand): refused, with how to fix it."""
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu", lab_network="open"), opts())
    assert "reach each other" in error.value.what and "docker network rm" in error.value.fix


def test_default_limits_come_from_the_engine():
    """No limit flags: 75% of the engine's memory and no swap beyond, all CPUs but one, 4096 processes, 1 GiB shm."""
    lab = spec(facts=load_host("no-gpu", engine_memory=32 * GIB, engine_cpus=16, swap_limit=True))
    assert lab.resources == {"memory": str(24 * GIB), "memory-swap": str(24 * GIB), "cpus": "15",
                             "pids-limit": "4096", "shm-size": str(GIB)}
    assert lab.env["MEM_LIMIT"] == str(24 * GIB)


def test_asked_limits_are_passed_on():
    """--memory 6g --cpus 1.5 --pids-limit 512 --shm-size 256m reach docker run; none lifts a limit."""
    facts = load_host("no-gpu", engine_memory=32 * GIB, engine_cpus=4)
    lab = spec(facts=facts, memory="6g", cpus="1.5", pids_limit="512", shm_size="256m")
    assert lab.resources == {"memory": str(6 * GIB), "cpus": "1.5", "pids-limit": "512", "shm-size": str(256 << 20)}
    assert "memory" not in spec(facts=facts, memory="none").resources


@pytest.mark.parametrize("options, words", [
    (dict(memory="lots"), "bad --memory"),
    (dict(memory="100m"), "too little"),
    (dict(memory="64g"), "more than the engine has"),
    (dict(cpus="8"), "more than the engine has"),
    (dict(cpus="²"), "bad --cpus"),
    (dict(pids_limit="10"), "bad --pids-limit"),
    (dict(shm_size="1x"), "bad --shm-size"),
])
def test_bad_limits_are_user_errors(options, words):
    """A limit the engine cannot give, or that is no size: one line, exit 2."""
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu", engine_memory=32 * GIB, engine_cpus=4), opts(**options))
    assert words in error.value.what and error.value.exit_code == 2


def test_limits_read_back_from_docker_inspect():
    """`dlab status` shows the limits the engine applies, read from HostConfig."""
    shown = limits.from_host_config({"Memory": 3 * GIB, "NanoCpus": 1_500_000_000, "PidsLimit": 512, "ShmSize": 256 << 20})
    assert shown.text() == "memory 3G, 1.5 CPUs, 512 processes, shm 256M"


@pytest.mark.parametrize("options, words", [
    (dict(name="lab\n"), "bad instance name"),
    (dict(gpus="²"), "bad --gpus"),
    (dict(token="jupyter-café-1234"), "characters other than ASCII"),
    (dict(token="a&b"), "characters other than ASCII"),
    (dict(public=True, token="short-token"), "needs 16 or more"),
    (dict(certfile="/c.pem"), "go together"),
])
def test_bad_input_is_one_line_and_exit_2(options, words):
    """A name ending in a newline, a superscript GPU, a non-ASCII token, a short public token: refused cleanly."""
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu"), opts(**options))
    assert words in error.value.what and error.value.exit_code == 2


def test_public_serves_https_on_all_interfaces():
    """--public: 0.0.0.0, an https URL, the lab's certificate folder mounted read-only and named to Jupyter."""
    launch = plan(load_host("no-gpu"), opts(public=True, token="a-long-classroom-token"))
    lab = launch.lab_spec()
    assert launch.host_ip == "0.0.0.0" and launch.url.startswith("https://127.0.0.1:")
    assert "--ServerApp.certfile=/etc/dlab/tls/cert.pem" in lab.command
    tls_mount = next(m for m in lab.mounts if m.target == "/etc/dlab/tls")
    assert tls_mount.readonly and tls_mount.source == launch.state + "/tls"


def test_bad_certificate_is_refused():
    """A certificate and key that do not match (probe's finding): refused before anything starts."""
    facts = load_host("no-gpu", tls_problem="the key /k.pem does not belong to the certificate /c.pem")
    with pytest.raises(UserError) as error:
        plan(facts, opts(public=True, token="a-long-classroom-token", certfile="/c.pem", keyfile="/k.pem"))
    assert "does not belong" in error.value.what


def test_dangling_symlink_work_folder_is_refused():
    """A work folder that is a symlink to nothing: says where it points, creates nothing."""
    work = probe.Work(path="/home/student/work", exists=True, dangling="/media/usb/work")
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu", work=work), opts())
    assert "/media/usb/work, which does not exist" in error.value.what


def test_no_solutions_tells_the_image():
    """--no-solutions: the lab is started with DLAB_SOLUTIONS=0 (the image seeds the exercises only)."""
    assert spec(solutions=False).env["DLAB_SOLUTIONS"] == "0"
    assert spec().env["DLAB_SOLUTIONS"] == "1"


def test_lab_home_is_a_volume_of_its_own():
    """The lab's home is a volume named after the lab and its owner, labelled with both."""
    lab = spec(name="alice")
    home = next(m for m in lab.mounts if m.target == "/home/jovyan")
    assert home.volume and home.source == "alice-student-home"
    assert f"volume-label={Label.OWNER}=1000" in home.arg()


def running(**labels):
    return engine.Instance(name="dlab-student", id="abc", state="running", image="dlab:x", token="old-token",
                           labels={Label.INSTANCE: "dlab", Label.OWNER: "1000", Label.PORT: "8890",
                                   Label.WORK: "/home/student/work", Label.HOST: "127.0.0.1", **labels})


def test_reused_lab_says_which_options_it_ignores():
    """A running lab asked for another --work, --public, token or --port: it says so and how to apply them."""
    work = probe.Work(path="/home/student/other", exists=True, is_dir=True, writable=True)
    launch = plan(load_host("no-gpu", existing=running(), work=work),
                  opts(work="/home/student/other", port=9000, token="new-token-1234567", public=True))
    note = launch.notes[-1]
    for words in ("--work /home/student/other", "--public", "a new token", "--port 9000", "dlab down"):
        assert words in note
    assert launch.url == "http://127.0.0.1:8890/lab?token=old-token"


def test_another_users_lab_is_never_reused():
    """A container of this name that is another user's lab: refused, never reused, replaced or stopped."""
    theirs = running(**{Label.OWNER: "1234"})
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu", existing=theirs), opts())
    assert "another user" in error.value.what


def test_container_names_carry_their_owner():
    """Two users' labs of the same name get different container names."""
    alice = plan(load_host("no-gpu", login="alice"), opts()).container
    bob = plan(load_host("no-gpu", uid=1001, gid=1001, login="bob"), opts()).container
    assert (alice, bob) == ("dlab-alice", "dlab-bob")


def test_checkout_work_kept_in_use_says_where_it_is():
    """An older dlab's ./work with files stays the work folder, with a line saying where and why to move it."""
    work = probe.Work(path="/home/student/dlab/work", exists=True, is_dir=True, writable=True, default=True, checkout=True)
    launch = plan(load_host("no-gpu", work=work), opts())
    assert launch.work == "/home/student/dlab/work"
    note = next(n for n in launch.notes if "older dlab" in n)
    assert "git clean" in note and "/home/student/.local/share/dlab/work" in note
