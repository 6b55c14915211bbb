"""The class settings file, read and completed with defaults that fit the host: no engine, milliseconds."""

import pytest

from dlab_hub.settings import GB, HostFacts, SettingsError, default_memory, load, parse_bytes

EXAMPLE = "hub/class.example.toml"


def write(tmp_path, text, name="class.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


MINIMAL = '[class]\nstudents = ["ann", "ben"]\n[storage]\nroot = "/srv/dlab/x"\n'


def test_example_settings_load():
    """hub/class.example.toml, as shipped, is valid and says what every default is."""
    from tests.support.paths import ROOT

    settings = load(ROOT / EXAMPLE, env={}, host=HostFacts(memory=24 * GB, cores=16))
    assert settings.students == ("alice", "bob", "carol") and settings.teacher == "teacher"
    assert settings.members == ("teacher", "alice", "bob", "carol")
    assert (settings.port, settings.tls, settings.gpu_policy, settings.idle_timeout) == (443, True, "exclusive", 3600)
    assert settings.image_cpu.endswith("-cpu") and settings.image_cuda.endswith("-cuda")


def test_graded_class_gets_the_exercises_only(tmp_path):
    """[course] solutions = false (a graded class) is read; without it, the solutions are seeded too."""
    assert load(write(tmp_path, MINIMAL), env={}).solutions is True
    assert load(write(tmp_path, MINIMAL + "[course]\nsolutions = false\n"), env={}).solutions is False


def test_defaults_fit_the_host(tmp_path):
    """Memory per lab is a fair share of the host (2 to 8 GB); CPUs half the cores; pids 1024."""
    assert default_memory(HostFacts(24 * GB, 16), students=30) == 2 * GB        # 0.73 GB share: the floor
    assert default_memory(HostFacts(24 * GB, 16), students=8) == int(2.75 * GB)  # 22 GB / 8
    assert default_memory(HostFacts(256 * GB, 64), students=10) == 8 * GB       # the ceiling
    settings = load(write(tmp_path, MINIMAL), env={}, host=HostFacts(24 * GB, 16))
    assert (settings.cpus, settings.pids, settings.memory) == (8.0, 1024, 8 * GB)


def test_lab_user_comes_from_the_launcher_unless_set(tmp_path):
    """The labs run as the uid:gid `dlab hub up` passes (its caller), or as [storage] uid/gid."""
    path = write(tmp_path, MINIMAL)
    assert (lambda s: (s.uid, s.gid))(load(path, env={"DLAB_HUB_UID": "1234", "DLAB_HUB_GID": "100"})) == (1234, 100)
    path = write(tmp_path, MINIMAL + "uid = 2000\ngid = 2000\n")
    assert (lambda s: (s.uid, s.gid))(load(path, env={"DLAB_HUB_UID": "1234"})) == (2000, 2000)


def test_students_file_with_a_username_column(tmp_path):
    """A CSV export with a username column (and comments, blank lines) gives the names in order."""
    (tmp_path / "roster.csv").write_text("# term 1\nusername,name\n\nzoe,Zoe Z\nann,Ann A\n")
    path = write(tmp_path, '[class]\nstudents_file = "roster.csv"\n[storage]\nroot = "/srv/x"\n')
    assert load(path, env={}).students == ("zoe", "ann")


@pytest.mark.parametrize("text, message", [
    ('[class]\nstudents = ["ann", "ann"]\n', "'ann' is listed twice"),
    ('[class]\nstudents = ["Ann"]\n', "'Ann' is not a valid user name"),
    ('[class]\nstudents = ["ann"]\n[limits]\nmemory = "lots"\n', "is not an amount of memory"),
    ('[class]\nstudents = ["ann"]\n[gpu]\npolicy = "fair"\n', "[gpu] policy = 'fair'"),
    ('[class]\nstudents = ["ann"]\n[server]\nport = "443"\n', "port = '443' is not a whole number"),
    ('[class]\nstudents = ["ann"]\n[server]\ntls = false\n', "plain HTTP on 0.0.0.0"),
    ('[class]\nstudents = ["ann"]\n[tls]\ncert = "c.pem"\n', "needs both cert and key"),
    ('[clas]\nstudents = ["ann"]\n', "unknown section [clas]"),
    ('[class]\n', "no students listed"),
])
def test_bad_settings_say_what_and_how(tmp_path, text, message):
    """Each mistake is one line naming it and one line saying what to do."""
    root = '[storage]\nroot = "/srv/x"\n' if "[storage]" not in text else ""
    with pytest.raises(SettingsError) as caught:
        load(write(tmp_path, text + root), env={}, host=HostFacts(8 * GB, 4))
    assert message in caught.value.what and caught.value.fix


def test_plain_http_on_loopback_or_with_the_flag(tmp_path):
    """HTTP is allowed on 127.0.0.1, and elsewhere only with the loud flag."""
    http = '[class]\nstudents = ["ann"]\n[storage]\nroot = "/srv/x"\n[server]\ntls = false\n'
    assert load(write(tmp_path, http + 'bind = "127.0.0.1"\n'), env={}).tls is False
    assert load(write(tmp_path, http), env={"DLAB_HUB_INSECURE_HTTP": "1"}).insecure_http


def test_parse_bytes():
    """Memory as people write it."""
    assert parse_bytes("4G", "m") == 4 * GB and parse_bytes("512M", "m") == 512 * 1024**2
    assert parse_bytes("1.5GiB", "m") == int(1.5 * GB) and parse_bytes(2048, "m") == 2048
