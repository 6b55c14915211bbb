"""The suite's own rules: flavors not under test are deselected with the reason, and tests carry their markers."""

import os
import subprocess
import sys

from tests.support.paths import ROOT


def collect(path, flavors=None):
    """`pytest --collect-only` of path in this checkout, with DLAB_TEST_FLAVORS=flavors (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "DLAB_TEST_FLAVORS"}
    if flavors is not None:
        env["DLAB_TEST_FLAVORS"] = flavors
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", path],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_untested_flavor_is_deselected_with_its_reason():
    """DLAB_TEST_FLAVORS=cpu keeps the cpu cases of the server tests and deselects the cuda ones, saying why."""
    result = collect("tests/image/test_server.py", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_tini_is_pid_1[cpu]" in result.stdout and "[cuda]" not in result.stdout
    assert "tests of the cuda flavor deselected: DLAB_TEST_FLAVORS='cpu' does not name it" in result.stdout


def test_every_flavor_is_collected_by_default():
    """Without DLAB_TEST_FLAVORS the server tests run on every flavor."""
    result = collect("tests/image/test_server.py")
    assert "test_tini_is_pid_1[cpu]" in result.stdout and "test_tini_is_pid_1[cuda]" in result.stdout
    assert "deselected" not in result.stdout


def test_unknown_flavor_is_a_usage_error():
    """DLAB_TEST_FLAVORS naming no flavor stops the run before any test, naming the flavors there are."""
    result = collect("tests/image/test_server.py", "gpu")
    assert result.returncode == 4
    assert "DLAB_TEST_FLAVORS names gpu; the flavors are cpu, cuda" in result.stderr


def test_test_without_its_marker_is_refused(pytester, monkeypatch):
    """A test that uses the engine but is not marked engine stops the collection, naming the test."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(str(ROOT / p) for p in (".", "scripts", "lab")))
    pytester.makeconftest("import pytest\npytest_plugins = ['tests.support.plugin']\n\n"
                          "@pytest.fixture\ndef docker_client():\n    return None\n")
    pytester.makepyfile(test_rooms="import pytest\n\n"
                                   "def test_unmarked(docker_client):\n    pass\n\n"
                                   "@pytest.mark.engine\ndef test_marked(docker_client):\n    pass\n")
    result = pytester.runpytest_subprocess("--collect-only", "-p", "no:cacheprovider")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*test_rooms.py::test_unmarked uses docker_client but is not marked engine*"])
    assert "test_marked" not in result.stderr.str()


def test_request_through_a_proxy_fails_the_run(pytester, monkeypatch):
    """A test whose request goes through the proxy variables passes itself, yet the run fails naming that request."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(str(ROOT / p) for p in (".", "scripts", "lab")))
    pytester.makeconftest("pytest_plugins = ['tests.support.plugin']\n")
    pytester.makepyfile(test_proxied="import urllib.request\n\n"
                                     "def test_proxied():\n"
                                     "    try:\n"
                                     "        urllib.request.urlopen('http://192.0.2.7:81/data.zip', timeout=10)\n"
                                     "    except OSError:\n"
                                     "        pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 1
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 requests went through the proxy*the first: 'GET http://192.0.2.7:81/data.zip HTTP/1.1'*"])


def test_network_env_has_the_machines_own_proxies():
    """Steps that need the real network get the machine's proxy variables back, not the tripwire's."""
    from tests.support.proxy import NAMES, machine_proxies, network_env

    assert "127.0.0.1" in os.environ["http_proxy"] and os.environ["no_proxy"] == ""
    env = network_env()
    assert {name: env[name] for name in NAMES if name in env} == machine_proxies
