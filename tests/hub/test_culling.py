"""Idle labs are stopped with their files kept, a lab in the middle of a run is not; the hub restarts
with its users, their files and their running labs."""

import time

import pytest

from tests.hub.hub_helpers import Classroom, sign_in
from tests.hub.kernels import execute, start_kernel
from tests.support.runner import docker

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(1800)]

IDLE_TIMEOUT = 20  # seconds; the culler looks every 5 s, labs report activity every 5 s


@pytest.fixture(scope="module")
def short_idle(hub_image, cpu_image, tmp_path_factory):
    room = Classroom(tmp_path_factory.mktemp("culling"), students=("ivy", "bea"), idle={"timeout": IDLE_TIMEOUT},
                     gpu={"policy": "none"}, limits={"cpus": 1}, **{"class": {"passwords": "generated"}})
    try:
        hub = room.up()
        for name in ("ivy", "bea"):
            hub.spawn(name)
        room.tokens = {name: (hub.wait_ready(name, logs=room.logs), hub.user_token(name))[1] for name in ("ivy", "bea")}
        yield room
    finally:
        room.down()


def server(room, name):
    return room.api.user(name)["servers"].get("")


def test_idle_lab_is_culled_and_busy_lab_is_not(short_idle):
    """With a 20 s timeout the idle lab stops (its files stay); the one running a silent cell keeps running."""
    room, hub = short_idle, short_idle.api
    body = {"type": "file", "format": "text", "content": "kept"}
    assert hub.lab("ivy", "api/contents/notes.txt", room.tokens["ivy"], method="PUT", json=body).status_code == 201
    headers = {"Authorization": f"token {room.tokens['bea']}"}
    base = f"{hub.url}/user/bea"
    session = hub.new_session()
    training = execute(base, start_kernel(session, base, headers), "import time; time.sleep(120)", headers)
    try:
        quiet_since = time.monotonic()  # from here on, nothing is sent to either lab
        while server(room, "ivy"):
            assert time.monotonic() - quiet_since < 120, f"ivy's idle lab was not culled:\n{room.logs()}"
            time.sleep(2)
        time.sleep(max(0.0, 3 * IDLE_TIMEOUT - (time.monotonic() - quiet_since)))
        assert server(room, "bea") and server(room, "bea")["ready"], "bea's busy lab was culled"
    finally:
        training.close()
    assert (room.student_folder("ivy") / "notes.txt").read_text() == "kept"
    assert not docker("ps", "-aq", "--filter", f"name=^{room.lab_container('ivy')}$").stdout.strip()
    assert "Culling server ivy" in docker("logs", room.container).stderr


def test_hub_restart_keeps_users_files_and_running_labs(short_idle):
    """After the hub restarts, its users, their files, and the lab that was running are all still there."""
    room, hub = short_idle, short_idle.api
    docker("restart", "--time", "20", room.container)
    hub.wait_up(logs=room.logs)
    names = {user["name"] for user in hub.api("GET", "/users")}
    assert {"ivy", "bea", "teach"} <= names
    assert (room.student_folder("ivy") / "notes.txt").read_text() == "kept"
    assert hub.lab("bea", "api/contents", room.tokens["bea"]).status_code == 200


def test_generated_passwords_are_handed_out(short_idle):
    """With generated passwords the teacher gets one per student; it signs in, a guessed one does not."""
    listing = short_idle.dlab("users", "--passwords").stdout
    passwords = dict(line.split(",") for line in listing.splitlines() if line.count(",") == 1 and "username" not in line)
    assert set(passwords) == {"teach", "ivy", "bea"} and all(len(p) == 12 for p in passwords.values())
    assert sign_in(short_idle.api.new_session(), short_idle.api.url, "ivy", passwords["ivy"]).status_code == 302
    assert sign_in(short_idle.api.new_session(), short_idle.api.url, "bea", "a-guess-of-mine").status_code == 403
