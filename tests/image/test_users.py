"""Who each flavor's container runs as: jovyan by default, any UID:GID on request, files owned right."""

import os

import pytest

pytestmark = pytest.mark.engine

def test_default_user_is_jovyan(container):
    """By default the lab runs as jovyan, uid 1000, gid 100, not root."""
    logs = container.run(["bash", "-c", "echo $(id -un) $(id -u) $(id -g) $HOME"])
    assert "jovyan 1000 100 /home/jovyan" in logs.splitlines()  # stdout; the entrypoint's lines are on stderr


def test_work_files_belong_to_the_given_uid(container, tmp_path):
    """A file written to the mounted work folder belongs to the UID:GID given at start."""
    work = tmp_path / "work"
    work.mkdir()
    os.chmod(work, 0o777)
    container.run(["bash", "-c", "echo hi > ~/work/mine.txt"], user="2345:3456",
                  volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}})
    stat = (work / "mine.txt").stat()
    assert (stat.st_uid, stat.st_gid) == (2345, 3456)


def test_arbitrary_uid_has_a_name_and_a_writable_home(container):
    """`--user 12345:12345` starts, has a passwd entry, and can write its home."""
    logs = container.run(
        ["bash", "-c", "whoami && touch ~/.probe && mkdir -p ~/.local/share && echo home-ok"],
        user="12345:12345",
    )
    lines = logs.splitlines()
    assert "jovyan" in lines and "home-ok" in lines, logs


def test_arbitrary_uid_serves_jupyterlab(container, port):
    """JupyterLab itself starts and turns healthy under an arbitrary UID."""
    lab = container.start(user="12345:12345", environment={"JUPYTER_TOKEN": "t" * 24},
                          ports={"8888/tcp": ("127.0.0.1", port)})
    container.wait_healthy(lab, timeout=90)


def test_keras_cache_is_writable(container):
    """Keras uses KERAS_HOME in the image, writable, for jovyan and for any UID (no /tmp/.keras fallback)."""
    code = (
        "import os, keras\n"
        "from keras.src.backend.config import keras_home\n"
        "home = keras_home()\n"
        "assert home == os.environ['KERAS_HOME'], home\n"
        "open(os.path.join(home, 'datasets', '.probe'), 'w').close()\n"
        "print('keras-home-ok', home)"
    )
    for user in ("1000:100", "12345:12345"):
        logs = container.run(["python", "-c", code], user=user, network_mode="none")
        assert "keras-home-ok /opt/dlab/keras" in logs


def test_pip_install_works_for_the_lab_user(container):
    """The lab user may add packages to the environment (gid 100 owns the venv)."""
    logs = container.run(["bash", "-c", "test -w /opt/venv/lib/python3.11/site-packages && echo writable"])
    assert "writable" in logs.splitlines()


def test_root_lab_only_when_asked(container, port):
    """As root, JupyterLab refuses to start (with a line saying how to fix it) unless DLAB_ALLOW_ROOT=1 asks for a root lab."""
    refused = container.start(user="0:0", healthcheck={"test": ["NONE"]})
    assert "set DLAB_ALLOW_ROOT=1 for a root lab" in container.finish(refused, timeout=120, expect_exit=1)
    asked = container.start(user="0:0", environment={"DLAB_ALLOW_ROOT": "1", "JUPYTER_TOKEN": "r" * 24},
                            ports={"8888/tcp": ("127.0.0.1", port)})
    container.wait_healthy(asked, timeout=120)
    assert container.exec(asked, ["id", "-u"]).output.strip() == "0"
