"""The CUDA flavor on a host without a GPU (like this one): it imports, says so, and is ready for one."""

import pytest

pytestmark = pytest.mark.engine

# What TensorFlow dlopens when it sets up a GPU (dlopen_checker), and what those libraries load in turn.
LIBS = ["libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "libcudnn.so.9", "libcufft.so.11",
        "libcusparse.so.12", "libcusolver.so.11", "libnvJitLink.so.12", "libnvrtc.so.12", "libcupti.so.12"]
# Left out (docker/trim-packages): NCCL (multi-GPU collectives only) and cuRAND (nothing loads it).
LEFT_OUT = {"libnccl.so.2": "nvidia-nccl-cu12", "libcurand.so.10": "nvidia-curand-cu12"}


def test_cuda_tensorflow_imports_without_a_gpu(cuda_container):
    """TensorFlow imports, sees no GPU without crashing, and its build info says CUDA."""
    code = (
        "import tensorflow as tf\n"
        "info = tf.sysconfig.get_build_info()\n"
        "assert tf.test.is_built_with_cuda() and info['is_cuda_build']\n"
        "print('gpus', len(tf.config.list_physical_devices('GPU')), 'cuda', info['cuda_version'], 'cudnn', info['cudnn_version'])"
    )
    logs = cuda_container.run(["python", "-c", code], network_mode="none")
    last = logs.strip().splitlines()[-1].split()
    assert last[:2] == ["gpus", "0"] and last[2] == "cuda" and last[3].startswith("12"), last


def test_nvidia_libraries_resolve(cuda_container):
    """NVIDIA's pip-installed CUDA libraries load by soname with no user setup."""
    code = "import ctypes, sys\nfor lib in sys.argv[1:]:\n    ctypes.CDLL(lib)\nprint('loaded', len(sys.argv) - 1)"
    logs = cuda_container.run(["python", "-c", code, *LIBS], network_mode="none")
    assert logs.strip().endswith(f"loaded {len(LIBS)}")


def test_cuda_environment(cuda_container):
    """NVIDIA_VISIBLE_DEVICES, NVIDIA_DRIVER_CAPABILITIES and TF_FORCE_GPU_ALLOW_GROWTH are set."""
    logs = cuda_container.run(["bash", "-c", "echo $NVIDIA_VISIBLE_DEVICES/$NVIDIA_DRIVER_CAPABILITIES/$TF_FORCE_GPU_ALLOW_GROWTH"])
    assert logs.strip().endswith("all/compute,utility/true")



def test_nccl_left_out_and_pip_can_bring_it_back(cuda_container):
    """NCCL and cuRAND are not in the image, and pip knows it (`pip install nvidia-nccl-cu12` would install it)."""
    code = (
        "import ctypes, importlib.metadata as md, sys\n"
        "for lib, dist in zip(sys.argv[1::2], sys.argv[2::2]):\n"
        "    try:\n"
        "        ctypes.CDLL(lib); print(lib, 'loads')\n"
        "    except OSError:\n"
        "        print(lib, 'absent')\n"
        "    try:\n"
        "        md.version(dist); print(dist, 'installed')\n"
        "    except md.PackageNotFoundError:\n"
        "        print(dist, 'not installed')\n"
    )
    pairs = [arg for item in LEFT_OUT.items() for arg in item]
    logs = cuda_container.run(["python", "-c", code, *pairs], network_mode="none")
    expected = [line for lib, dist in LEFT_OUT.items() for line in (f"{lib} absent", f"{dist} not installed")]
    assert logs.strip().splitlines()[-4:] == expected
