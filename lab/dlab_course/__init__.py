"""Helpers for the dlab course notebooks: offline data loading, rendering, running.

`SMOKE` is true when the notebook runs in smoke mode (tiny data, few epochs);
the course runner sets DLAB_SMOKE=1 for such runs.
"""

import os

__all__ = ["SMOKE"]

SMOKE = os.environ.get("DLAB_SMOKE", "") == "1"
