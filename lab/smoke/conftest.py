"""What the smoke checks were told to expect, from the environment `dlab check` sets."""

import os

import pytest


@pytest.fixture(scope="session")
def expected_gpus():
    """'none', 'all', or a list of GPU numbers as given to `--gpus`."""
    return os.environ.get("DLAB_EXPECT_GPUS", "none").strip() or "none"


@pytest.fixture(scope="session")
def tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow

    return tensorflow
