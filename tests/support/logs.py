"""Which WARNING and ERROR lines a healthy container may log; everything else fails the test."""

import re

KNOWN_NOISE = [
    # TensorFlow at import, and the CUDA flavor on a host without a GPU
    r"WARNING: All log messages before absl::InitializeLog",
    r"oneDNN custom operations are on",
    r"Could not find cuda drivers",
    r"cuda_(executor|diagnostics|driver|dnn|blas|fft)",
    r"failed call to cuInit",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"TF-TRT Warning",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    # JupyterLab asks whether it needs a rebuild; the image has no nodejs, on purpose
    r"LabApp\] Could not determine jupyterlab build status without nodejs",
    # ipykernel on every kernel start; the kernel's ports never leave the container
    r"\[IPKernelApp\] WARNING \| Kernel is running over TCP without encryption",
    # jupyter_server's default ping timeout (90 s) is longer than its interval (30 s); tornado 6.5 clamps it
    r"ServerApp\] The websocket_ping_timeout \(\d+\) cannot be longer than the websocket_ping_interval",
    # jupyter_client interrupts (SIGINT) every kernel before it shuts it down; a busy kernel says so
    r"\[IPKernelApp\] ERROR \| KeyboardInterrupt caught in kernel\.$",
]
# Lines a test may expect, when it does what they report: requests refused for want of the token, and
# course notebooks opened (copied in unsigned, so JupyterLab opens them untrusted).
REFUSED = (r"ServerApp\] wrote error: 'Forbidden'", r"ServerApp\] 403 (GET|POST|PUT|DELETE) ")
UNTRUSTED = (r"ServerApp\] Notebook course/\S+\.ipynb is not trusted",)
FLAGGED = re.compile(r"\b(WARNING|ERROR)\b|\[(W|E) ")


def unexpected_lines(logs, allowed=()):
    """The lines of logs that say WARNING or ERROR (Jupyter: `[W `, `[E `) and match no known noise."""
    patterns = [re.compile(p) for p in (*KNOWN_NOISE, *allowed)]
    return [line for line in logs.splitlines()
            if FLAGGED.search(line) and not any(p.search(line) for p in patterns)]


def assert_clean(logs, allowed=(), what="the log"):
    bad = unexpected_lines(logs, allowed)
    assert not bad, f"unexpected lines in {what}:\n" + "\n".join(bad)
