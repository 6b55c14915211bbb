"""The devices TensorFlow sees, against the GPUs the container was given."""

import pytest

from gpu_diagnosis import diagnose


def test_tensorflow_sees_the_asked_gpus(tf, expected_gpus, record_property):
    """GPUs asked: TensorFlow sees that many and runs a matmul there; none asked: none leak in."""
    seen = tf.config.list_physical_devices("GPU")
    record_property("gpus_seen", len(seen))
    assert tf.config.list_physical_devices("CPU"), "TensorFlow sees no CPU device"
    if expected_gpus == "none":
        assert not seen, (f"{len(seen)} GPU(s) visible though none was asked: the engine hands GPUs to every "
                          "container (nvidia as default runtime?); start with --gpus to pick them")
        return
    if not seen:
        build = tf.sysconfig.get_build_info().get("cuda_version", "") if tf.test.is_built_with_cuda() else ""
        pytest.fail(f"GPU {expected_gpus} asked, TensorFlow sees none. Likely cause: {diagnose(build)}")
    if expected_gpus != "all":
        wanted = len(expected_gpus.split(","))
        assert len(seen) == wanted, f"GPU {expected_gpus} asked ({wanted}), TensorFlow sees {len(seen)}"
    with tf.device("/GPU:0"):
        x = tf.random.normal((512, 512))
        y = tf.linalg.matmul(x, x)
    assert y.device.endswith("GPU:0"), f"the matmul ran on {y.device}"
