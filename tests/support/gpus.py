"""Stand-in NVIDIA tools: on their PATH, the host looks as if it had two GPUs (the engine still has none)."""

import os

STAND_IN_NVIDIA_SMI = """#!/bin/sh
# Stand-in nvidia-smi: answers dlab's GPU query as a host with two RTX A5000 on driver 580.82.07 would.
case "$*" in
  *--query-gpu=*)
    echo "0, NVIDIA RTX A5000, GPU-11111111-2222-3333-4444-555555555555, 24564, 580.82.07"
    echo "1, NVIDIA RTX A5000, GPU-66666666-7777-8888-9999-000000000000, 24564, 580.82.07" ;;
  -L)
    echo "GPU 0: NVIDIA RTX A5000 (UUID: GPU-11111111-2222-3333-4444-555555555555)"
    echo "GPU 1: NVIDIA RTX A5000 (UUID: GPU-66666666-7777-8888-9999-000000000000)" ;;
  *) echo "NVIDIA-SMI 580.82.07    Driver Version: 580.82.07    CUDA Version: 13.0" ;;
esac
"""


def stand_in_gpu_path(folder, toolkit=False):
    """Write the stand-in tools into folder (with toolkit: the NVIDIA Container Toolkit's hook too); the env to use."""
    folder.mkdir(exist_ok=True)
    tools = {"nvidia-smi": STAND_IN_NVIDIA_SMI}
    if toolkit:
        tools["nvidia-container-runtime-hook"] = "#!/bin/sh\nexit 0\n"
    for name, text in tools.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}
