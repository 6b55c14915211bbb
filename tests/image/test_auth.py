"""Token authentication: no empty token, file, flag or config switches it off, and kernels never see the token."""

import re

import pytest

from tests.support.jupyter import TOKEN, api, run_in_kernel, start_lab, wait_for_api
from tests.support.logs import REFUSED

pytestmark = pytest.mark.engine

NO_TOKEN_CONFIG = 'c.IdentityProvider.token = ""\n'
GENERATED_TOKEN = re.compile(r"token=([0-9a-f]{48})")
EMPTY_TOKEN_NOTE = (r"empty token would switch authentication off", r"JUPYTER_TOKEN_FILE .* holds no token")
# What Jupyter says of the old option names these tests pass on purpose.
OLD_OPTIONS = (r"ServerApp\.token config is deprecated", r"'token' has moved from NotebookApp to ServerApp")


@pytest.mark.parametrize("environment, command", [
    ({"JUPYTER_TOKEN": ""}, None),
    ({"JUPYTER_TOKEN": "  "}, None),
    ({"JUPYTER_TOKEN_FILE": "/dev/null"}, None),
    ({"JUPYTER_TOKEN_FILE": "/config/empty-token"}, None),
    ({}, ["jupyter", "lab", "--IdentityProvider.token="]),
    ({}, ["jupyter", "lab", "--ServerApp.token="]),
    ({}, ["jupyter", "lab", "--NotebookApp.token="]),
    ({"JUPYTER_CONFIG_DIR": "/config"}, None),
], ids=["empty-JUPYTER_TOKEN", "blank-JUPYTER_TOKEN", "token-file-dev-null", "token-file-empty",
        "flag-IdentityProvider.token", "flag-ServerApp.token", "flag-NotebookApp.token", "config-without-token"])
def test_auth_cannot_be_switched_off(container, port, tmp_path, environment, command):
    """An empty token from the environment, a file, a flag or a config file gives a generated token, never an open lab."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "empty-token").write_text("\n")
    (config / "jupyter_server_config.py").write_text(NO_TOKEN_CONFIG)
    config.chmod(0o755)
    lab = container.start(environment=environment, command=command, healthcheck={"test": []},
                          volumes={str(config): {"bind": "/config", "mode": "ro"}},
                          ports={"8888/tcp": ("127.0.0.1", port)}, allowed=REFUSED + EMPTY_TOKEN_NOTE + OLD_OPTIONS)
    wait_for_api(port, lab)
    assert api(port, "/api/contents", token=None)[0] == 403
    assert api(port, "/api/contents", token="")[0] == 403
    logs = lab.logs().decode()
    assert "authentication is disabled" not in logs and "not using authentication" not in logs, logs
    generated = GENERATED_TOKEN.search(logs)
    assert generated, logs
    assert api(port, "/api/contents", token=generated[1])[0] == 200


def test_token_file_is_read(container, port, tmp_path):
    """JUPYTER_TOKEN_FILE names a file whose token (trailing newline ignored) opens the lab, and only it."""
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "token").chmod(0o644)
    tmp_path.chmod(0o755)
    start_lab(container, port, environment={"JUPYTER_TOKEN": None, "JUPYTER_TOKEN_FILE": "/secret/token"},
              volumes={str(tmp_path): {"bind": "/secret", "mode": "ro"}}, allowed=REFUSED)
    assert api(port, "/api/contents")[0] == 200
    assert api(port, "/api/contents", token=None)[0] == 403


def test_kernels_see_no_token(container, port):
    """A kernel's os.environ and `!env` hold neither the token nor the names in JUPYTER_ENV_VARS_TO_UNSET."""
    secret = "do-not-print-this-secret"
    start_lab(container, port, environment={"COURSE_SECRET": secret, "JUPYTER_ENV_VARS_TO_UNSET": "COURSE_SECRET"})
    printed = run_in_kernel(port, "import os\nprint(sorted(os.environ.items()))\n!env")
    assert "HOME=/home/jovyan" in printed and "('HOME', '/home/jovyan')" in printed, printed
    for leak in (TOKEN, "JUPYTER_TOKEN", secret, "COURSE_SECRET", "JUPYTER_ENV_VARS_TO_UNSET"):
        assert leak not in printed, f"{leak} reached the kernel:\n{printed}"
