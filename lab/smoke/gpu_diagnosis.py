"""Why TensorFlow sees no GPU in this container: the likely cause, in one sentence."""

import ctypes
import glob
import os

CUDA_ERROR_INSUFFICIENT_DRIVER = 35
CUDA_ERROR_NO_DEVICE = 100


def cuda_version_text(number):
    """12040 -> '12.4' (the encoding cuDriverGetVersion uses)."""
    return f"{number // 1000}.{number % 1000 // 10}"


def driver_cuda():
    """(cuInit result, the CUDA version the driver supports) or None when libcuda is not there."""
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    status = libcuda.cuInit(0)
    version = ctypes.c_int(0)
    libcuda.cuDriverGetVersion(ctypes.byref(version))
    return status, version.value


def diagnose(build_cuda):
    """The likely cause, given the CUDA version TensorFlow was built for ('' when CPU-only)."""
    causes = []
    if not glob.glob("/dev/nvidia[0-9]*"):
        causes.append(
            "no NVIDIA device in the container (/dev/nvidia* absent): the engine passed no GPU "
            "(NVIDIA Container Toolkit missing, or the container started without --gpus)"
        )
    else:
        found = driver_cuda()
        if found is None:
            causes.append(
                "the driver library libcuda.so.1 is not in the container: the NVIDIA Container Toolkit "
                "did not mount it (NVIDIA_DRIVER_CAPABILITIES must include compute)"
            )
        else:
            status, version = found
            have = cuda_version_text(version) if version else "unknown"
            major = build_cuda.split(".")[0] if build_cuda else ""
            if status == CUDA_ERROR_INSUFFICIENT_DRIVER or (major and version and version // 1000 < int(major)):
                causes.append(f"the host's NVIDIA driver is too old for this image's CUDA {build_cuda}: "
                              f"it supports CUDA {have}; update the driver")
            elif status == CUDA_ERROR_NO_DEVICE:
                causes.append("the driver works but finds no CUDA device (CUDA_ERROR_NO_DEVICE)")
            elif status != 0:
                causes.append(f"cuInit failed with CUDA error {status} (driver supports CUDA {have})")
            else:
                causes.append(f"the driver works (CUDA {have}) but TensorFlow did not find its CUDA libraries "
                              "(cuDNN, cuBLAS from the nvidia-* wheels): check `ldconfig -p | grep -E 'cudnn|cublas'`")
    if os.environ.get("DLAB_FLAVOR") == "cpu" or not build_cuda:
        causes.append("this is the CPU image (TensorFlow without CUDA): use the cuda flavor")
    return "; ".join(causes)
