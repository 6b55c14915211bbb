"""The CUDA flavor on a host without a GPU (like this one): it imports, says so, and is ready for one."""

LIBS = ["libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "libcudnn.so.9", "libcufft.so.11",
        "libcusparse.so.12", "libcusolver.so.11", "libcurand.so.10", "libnccl.so.2", "libnvJitLink.so.12"]


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

