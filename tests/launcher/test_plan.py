"""plan() over recorded host situations: which image, which GPUs, which port, which notes."""

import pytest

from dlab import engine
from dlab.defaults import Label
from dlab.errors import UserError
from dlab.images import default_image
from dlab.plan import Options, plan
from tests.support.hosts import load_host, recorded_image


def opts(**kwargs):
    kwargs.setdefault("new_token", "t0ken")
    return Options(**kwargs)


@pytest.mark.parametrize(
    "host, flavor, gpus, note",
    [
        ("no-gpu", "cpu", "none", "no NVIDIA GPU found"),
        ("gpu-no-toolkit", "cpu", "none", "NVIDIA Container Toolkit"),
        ("toolkit-old-driver", "cpu", "none", "470.256.02 is too old"),
        ("driver-broken", "cpu", "none", "nvidia-smi failed"),
        ("wsl2", "cuda", "all", "RTX 3060 Laptop GPU"),
        ("two-gpus", "cuda", "all", "2x NVIDIA RTX A5000"),
        ("apple-silicon", "cpu", "none", "macOS"),
    ],
)
def test_auto_picks_flavor_and_gpus_from_the_host(host, flavor, gpus, note):
    """--flavor auto: CUDA with all GPUs only where they really work, else CPU with one line saying why."""
    launch = plan(load_host(host), opts())
    assert (launch.flavor, launch.gpus, launch.image) == (flavor, gpus, default_image(flavor))
    assert note in launch.notes[0]


def test_gpu_without_toolkit_says_how_to_install_it():
    """A GPU the engine cannot use: the plan says to install the NVIDIA Container Toolkit."""
    notes = plan(load_host("gpu-no-toolkit"), opts()).notes
    assert any("nvidia-ctk runtime configure" in n for n in notes)


def test_explicit_gpus_without_toolkit_asks_the_engine():
    """--gpus all with no toolkit in sight: the engine is asked, and it will judge."""
    launch = plan(load_host("gpu-no-toolkit"), opts(gpus="all"))
    assert (launch.flavor, launch.gpus) == ("cuda", "all")


def test_old_driver_with_explicit_gpus_fails():
    """--gpus on a driver older than the image's CUDA needs: a clear error naming both versions."""
    with pytest.raises(UserError) as error:
        plan(load_host("toolkit-old-driver"), opts(gpus="0"))
    assert "470.256.02" in error.value.what and "12.9" in error.value.what
    assert "update the NVIDIA driver" in error.value.fix


def test_wsl2_compares_the_windows_driver_column():
    """WSL2 reports the Windows driver, so the Windows minimums apply: 526.98 is too old there, not on Linux."""
    wsl = plan(load_host("wsl2", driver="526.98"), opts())
    assert wsl.flavor == "cpu" and "needs 527.41" in wsl.notes[0]
    linux = plan(load_host("wsl2", driver="526.98", wsl=False, engine_os="Ubuntu", toolkit_tools=("nvidia-ctk",)), opts())
    assert linux.flavor == "cuda" and any("compatibility mode" in n for n in linux.notes)


def test_two_gpus_pins_the_asked_one():
    """--gpus 1 on a two-GPU server gives the lab GPU 1 only."""
    launch = plan(load_host("two-gpus"), opts(gpus="1", name="student1"))
    assert (launch.flavor, launch.gpus) == ("cuda", "1")
    args = launch.lab_spec().argv()
    assert args[args.index("--gpus") + 1] == '"device=1"'
    assert "GPU 1" in launch.notes[0]


def test_several_gpus_say_how_to_get_nccl():
    """A CUDA lab with two GPUs is told that NCCL is left out and how to bring it back; with one, nothing."""
    for gpus in ("auto", "0,1"):
        assert any("pip install nvidia-nccl-cu12==" in n for n in plan(load_host("two-gpus"), opts(gpus=gpus)).notes)
    assert not any("nccl" in n for n in plan(load_host("two-gpus"), opts(gpus="1")).notes)


def test_gpu_list_keeps_devices_together():
    """--gpus 0,1 reaches docker as one device list."""
    args = plan(load_host("two-gpus"), opts(gpus="0,1")).lab_spec().argv()
    assert args[args.index("--gpus") + 1] == '"device=0,1"'


def test_unknown_gpu_number_is_refused():
    """--gpus 2 on a host with GPUs 0 and 1: an error that lists the GPUs there are."""
    with pytest.raises(UserError) as error:
        plan(load_host("two-gpus"), opts(gpus="2"))
    assert "it has 0, 1" in error.value.what


def test_apple_silicon_refuses_cuda_gpus():
    """Docker on macOS cannot pass a GPU: asking for one is a user error with the way out."""
    with pytest.raises(UserError) as error:
        plan(load_host("apple-silicon"), opts(flavor="cuda", gpus="all"))
    assert "macOS" in error.value.what


def test_taken_port_moves_to_the_next_free_one():
    """8888 and 8889 taken: the lab gets 8890, and a note says so."""
    launch = plan(load_host("port-taken"), opts())
    assert launch.port == 8890
    assert "port 8888 is taken; using 8890" in launch.notes


def test_engine_refusal_falls_back_to_cpu_with_auto():
    """After the engine refused GPUs, auto plans the CPU image and prints the fix."""
    launch = plan(load_host("two-gpus", gpu_refused='could not select device driver "" with capabilities: [[gpu]]'), opts())
    assert (launch.flavor, launch.gpus) == ("cpu", "none")
    assert "refused GPUs" in launch.notes[0] and "NVIDIA Container Toolkit" in launch.notes[1]


def test_engine_refusal_fails_explicit_gpus():
    """After the engine refused GPUs, an explicit --gpus fails with the engine's own words."""
    with pytest.raises(UserError) as error:
        plan(load_host("two-gpus", gpu_refused='could not select device driver "" with capabilities: [[gpu]]'), opts(gpus="all"))
    assert "could not select device driver" in error.value.what
    assert "NVIDIA Container Toolkit" in error.value.fix


def test_cpu_flavor_with_gpus_is_refused():
    """--flavor cpu --gpus all contradict each other."""
    with pytest.raises(UserError):
        plan(load_host("two-gpus"), opts(flavor="cpu", gpus="all"))


def test_cuda_flavor_without_gpus_hides_them():
    """The CUDA image without GPUs asks the NVIDIA runtime for none (a default nvidia runtime would give all)."""
    launch = plan(load_host("two-gpus"), opts(flavor="cuda", gpus="none"))
    assert launch.lab_spec().env["NVIDIA_VISIBLE_DEVICES"] == "void"
    assert "--gpus" not in launch.lab_spec().argv()


def test_missing_image_is_built():
    """The checkout's image missing: the plan builds it first."""
    launch = plan(load_host("no-gpu", images={}), opts())
    assert launch.build == "cpu"


def test_missing_custom_image_is_a_user_error():
    """--image naming an image the engine lacks: error, nothing built."""
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu"), opts(image="dlab:nope"))
    assert "dlab:nope" in error.value.what


def test_custom_image_flavor_comes_from_its_label():
    """--image with --flavor auto takes the flavor the image's label states."""
    facts = load_host("two-gpus", images={"lab:mine": engine.Image(id="sha256:mine", labels={Label.FLAVOR: "cpu"})})
    launch = plan(facts, opts(image="lab:mine"))
    assert (launch.image, launch.flavor, launch.gpus) == ("lab:mine", "cpu", "none")


@pytest.mark.parametrize(
    "options, words",
    [
        (dict(port=0), "out of range"),
        (dict(port=70000), "out of range"),
        (dict(flavor="gpu"), "unknown flavor"),
        (dict(gpus="first"), "bad --gpus"),
        (dict(name="-x"), "bad instance name"),
        (dict(public=True), "--public"),
    ],
)
def test_bad_options_are_user_errors(options, words):
    """Bad flags: exit-2 errors that say what is wrong."""
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu"), opts(**options))
    assert words in error.value.what
    assert error.value.exit_code == 2


@pytest.mark.parametrize(
    "work, words",
    [
        (dict(exists=True, is_dir=False), "is a file"),
        (dict(exists=True, is_dir=True, writable=False), "not writable"),
        (dict(exists=False, parent_exists=False), "parent folder"),
        (dict(exists=False, parent_exists=True, parent_writable=False), "cannot create"),
        (dict(reachable=False), "cannot reach"),
    ],
)
def test_bad_work_folder_is_a_user_error(work, words):
    """A work folder that is a file, read-only, or under a missing parent: refused before anything starts."""
    from dlab.probe import Work

    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu", work=Work(path="/home/student/work", **work)), opts())
    assert words in error.value.what


def test_absent_work_folder_is_created():
    """An absent work folder under an existing parent is created by act."""
    from dlab.probe import Work

    launch = plan(load_host("no-gpu", work=Work(path="/home/student/work", exists=False)), opts())
    assert launch.create_work


@pytest.mark.parametrize("daemon, words", [("down", "not reachable"), ("denied", "no permission")])
def test_engine_problems_are_user_errors(daemon, words):
    """Daemon down or socket not permitted: an error and its fix."""
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu", daemon=daemon, daemon_error="..."), opts())
    assert words in error.value.what


def test_missing_docker_cli_is_a_user_error():
    """No docker on PATH: say so and how to install it."""
    with pytest.raises(UserError) as error:
        plan(load_host("no-gpu", docker_cli=None), opts())
    assert "docker command is not on PATH" in error.value.what


def test_foreign_container_name_is_refused():
    """A container of that name that dlab did not start is never touched."""
    other = engine.Instance(name="dlab", id="abc", state="running")
    with pytest.raises(UserError):
        plan(load_host("no-gpu", existing=other), opts())


def test_running_lab_is_reused():
    """`dlab up` twice: the second shows the running lab's URL instead of starting another."""
    running = engine.Instance(name="dlab-student", id="abc", state="running", image="dlab:x", token="tok",
                              labels={Label.INSTANCE: "dlab", Label.OWNER: "1000", Label.PORT: "8890", Label.FLAVOR: "cpu"})
    launch = plan(load_host("no-gpu", existing=running), opts())
    assert launch.reuse is running and launch.url == "http://127.0.0.1:8890/lab?token=tok"


def test_stopped_lab_is_replaced():
    """A stopped lab of the same name is removed and started afresh."""
    stopped = engine.Instance(name="dlab-student", id="abc", state="exited", labels={Label.INSTANCE: "dlab", Label.OWNER: "1000"})
    assert plan(load_host("no-gpu", existing=stopped), opts()).replace == "abc"


def test_run_args_keep_the_token_off_the_command_line():
    """docker run gets the caller's uid:gid, 127.0.0.1, the work mount, labels, and the token by environment."""
    launch = plan(load_host("no-gpu"), opts(port=9000, name="lab1"))
    spec = launch.lab_spec()
    args = spec.argv()
    assert args[args.index("--user") + 1] == "1000:1000"
    assert args[args.index("-p") + 1] == "127.0.0.1:9000:8888"
    assert "type=bind,source=/home/student/work,target=/home/jovyan/work" in args
    assert "org.dlab.instance=lab1" in args
    assert "JUPYTER_TOKEN" in args and not any("t0ken" in a for a in args)
    assert spec.env["JUPYTER_TOKEN"] == "t0ken"


def test_public_binds_all_interfaces_with_a_token():
    """--public --token T listens on 0.0.0.0 with the given token."""
    launch = plan(load_host("no-gpu"), opts(public=True, token="classroom-secret"))
    assert launch.host_ip == "0.0.0.0" and launch.token == "classroom-secret"


def test_no_display_opens_no_browser():
    """A server without a display gets the URL printed and no browser."""
    assert not plan(load_host("two-gpus"), opts()).open_browser
    assert plan(load_host("no-gpu"), opts()).open_browser
    assert not plan(load_host("no-gpu"), opts(browser=False)).open_browser


def test_plan_touches_nothing(monkeypatch):
    """plan() is pure: it runs no process and opens no file."""
    import builtins
    import subprocess

    def forbidden(*args, **kwargs):
        raise AssertionError("plan() did I/O")

    facts = load_host("two-gpus")
    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    monkeypatch.setattr(builtins, "open", forbidden)
    plan(facts, opts(gpus="1"))


def test_root_login_runs_the_lab_as_root_without_capabilities():
    """A root login (no sudo) gets a lab as 0:0 with no capability, so the work files stay root's; Jupyter is told root is meant."""
    spec = plan(load_host("no-gpu", uid=0, gid=0), opts()).lab_spec()
    args = spec.argv()
    assert args[args.index("--user") + 1] == "0:0"
    assert spec.env["DLAB_ALLOW_ROOT"] == "1" and list(spec.cap_add) == [] and list(spec.cap_drop) == ["ALL"]
    assert args[-1] == default_image("cpu")


def with_recorded_image(host, recorded):
    """A recorded host whose cpu image is what a real engine said of a real image (`docker image inspect`)."""
    return load_host(host, images={default_image("cpu"): recorded_image(recorded)})


@pytest.mark.parametrize("host, recorded, image_arch, engine_arch", [
    ("apple-silicon", "image-inspect", "amd64", "arm64"),
    ("no-gpu", "image-inspect-arm64", "arm64", "amd64"),
])
def test_image_of_another_architecture_is_refused(host, recorded, image_arch, engine_arch):
    """An image the engine could only emulate is refused, with one line and its fix: build it here."""
    with pytest.raises(UserError) as error:
        plan(with_recorded_image(host, recorded), opts())
    assert f"built for linux/{image_arch}" in error.value.what and f"runs linux/{engine_arch}" in error.value.what
    assert "dlab build --flavor cpu" in error.value.fix


@pytest.mark.parametrize("host, recorded", [("apple-silicon", "image-inspect-arm64"), ("no-gpu", "image-inspect")])
def test_image_of_the_engines_architecture_is_accepted(host, recorded):
    """The same images run where the engine runs their architecture natively."""
    launch = plan(with_recorded_image(host, recorded), opts())
    assert launch.image == default_image("cpu") and launch.build is None


def test_arm64_gpu_machine_runs_the_cpu_flavor():
    """An arm64 GPU machine (GH200 class): no CUDA image exists for arm64, so auto picks cpu and says why."""
    launch = plan(load_host("arm64-gpu"), opts())
    assert (launch.flavor, launch.gpus) == ("cpu", "none")
    assert "made for amd64 only" in launch.notes[0]


@pytest.mark.parametrize("asked", [{"gpus": "all"}, {"flavor": "cuda"}])
def test_arm64_gpu_machine_refuses_cuda(asked):
    """Asking for the GPUs or the cuda flavor on arm64 is refused with the reason, not a failed build."""
    with pytest.raises(UserError) as error:
        plan(load_host("arm64-gpu"), opts(**asked))
    assert "made for amd64 only" in error.value.what and "without CUDA" in error.value.what
