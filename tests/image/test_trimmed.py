"""What docker/trim-packages cut must not show: compiled modules load (in each flavor: the CUDA one is cut more),
the debugger attaches."""

import pytest

pytestmark = pytest.mark.engine

# dlopen every compiled module that TensorFlow's and NVIDIA's trees do not hold (stripped or not);
# os._exit skips the interpreter's teardown, which some libraries do not survive when merely loaded.
LOAD_ALL = """
import ctypes, os, sysconfig
site = sysconfig.get_path("purelib")
failed, count = [], 0
for folder, dirs, files in os.walk(site):
    dirs[:] = [d for d in dirs if os.path.join(folder, d) not in (f"{site}/tensorflow", f"{site}/nvidia")]
    for name in files:
        if name.endswith(".so") or ".so." in name:
            count += 1
            try:
                ctypes.CDLL(os.path.join(folder, name), mode=os.RTLD_LAZY)
            except OSError as exc:
                failed.append(f"{name}: {exc}")
print("failed:", failed)
print("loaded", count - len(failed), "of", count, flush=True)
os._exit(0)
"""

# The kernel's Debug Adapter Protocol, as JupyterLab's debugger panel speaks it.
DEBUG = """
from jupyter_client.manager import start_new_kernel
manager, client = start_new_kernel(kernel_name="python3")
print("offered:", "debugger" in client.kernel_info(reply=True)["content"]["supported_features"])
def ask(seq, command, arguments):
    client.control_channel.send(client.session.msg("debug_request", {"type": "request", "seq": seq,
                                                                     "command": command, "arguments": arguments}))
    return client.control_channel.get_msg(timeout=60)["content"]
print("initialize:", ask(1, "initialize", {"clientID": "test", "adapterID": "python", "pathFormat": "path",
                                           "linesStartAt1": True, "columnsStartAt1": True})["success"])
print("attach:", ask(2, "attach", {})["success"])
print("debugInfo:", ask(3, "debugInfo", {})["success"])
client.stop_channels()
manager.shutdown_kernel(now=True)
"""


def test_compiled_modules_load(container):
    """Every compiled module outside TensorFlow (and NVIDIA's libraries) loads, the stripped ones too."""
    lines = container.run(["python", "-c", LOAD_ALL], network_mode="none").strip().splitlines()
    assert lines[-2] == "failed: []", lines[-2]
    assert int(lines[-1].split()[1]) > 300, lines[-1]


def test_debugger_attaches(cpu_container):
    """The kernel offers the debugger, and it initializes and attaches as JupyterLab's panel asks."""
    lines = cpu_container.run(["python", "-c", DEBUG], network_mode="none",
                              allowed=["Kernel is running over TCP without encryption"]).strip().splitlines()
    assert lines[-4:] == ["offered: True", "initialize: True", "attach: True", "debugInfo: True"], lines[-4:]
