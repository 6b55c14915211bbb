"""The data sets and weights the course needs, as the image build recorded them."""

import json
import os

import pytest

ASSETS_JSON = "/opt/dlab/assets.json"


def missing_assets(record):
    """Names of the missing assets, from either layout of assets.json."""
    if isinstance(record.get("missing"), list):
        return [a if isinstance(a, str) else a.get("name", "?") for a in record["missing"]]
    entries = record.get("assets", record)
    if isinstance(entries, dict):
        entries = [dict(v, name=k) if isinstance(v, dict) else {"name": k, "status": v} for k, v in entries.items()]
    return [e.get("name", "?") for e in entries
            if isinstance(e, dict) and (e.get("status") == "missing" or e.get("present") is False)]


def test_course_assets_present():
    """Every asset of course.toml is in the image; missing ones are flagged (or fail with DLAB_REQUIRE_ASSETS=1)."""
    if not os.path.exists(ASSETS_JSON):
        pytest.fail(f"{ASSETS_JSON} is missing: the image does not record its assets")
    with open(ASSETS_JSON, encoding="utf-8") as f:
        missing = missing_assets(json.load(f))
    if not missing:
        return
    message = (f"missing assets: {', '.join(missing)} (the notebooks that need them stop with AssetMissing, naming the asset); "
               "rebuild the image where the network reaches the asset URLs")
    if os.environ.get("DLAB_REQUIRE_ASSETS") == "1":
        pytest.fail(message)
    pytest.skip(message)
