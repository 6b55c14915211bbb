"""GPU allocation as a pure function over recorded hosts (`nvidia-smi -L`): no engine, milliseconds."""

from pathlib import Path

import pytest

from dlab_hub.gpus import NoGpuFree, allocate, free_units, offers_gpu, parse_listing

HOSTS = Path(__file__).parent / "hosts"


def units(host):
    return parse_listing((HOSTS / f"{host}.txt").read_text())


def spawn_all(host, students, policy="exclusive"):
    """Each student in turn asks for a GPU lab: {student: device ids, or None when none was free}."""
    held, got = {}, {}
    for student in students:
        try:
            got[student] = held[student] = allocate(units(host), {i for ids in held.values() for i in ids}, policy)
        except NoGpuFree:
            got[student] = None
    return got


def test_two_gpus_four_students_exclusive():
    """Two GPUs, four students: the first two get one GPU each, different ones; the others get none."""
    got = spawn_all("two-t4", ["ann", "ben", "cy", "dee"])
    assert got["ann"] != got["ben"] and len(got["ann"]) == len(got["ben"]) == 1
    assert {got["ann"][0], got["ben"][0]} == {u.id for u in units("two-t4")}
    assert got["cy"] is None and got["dee"] is None


def test_two_gpus_four_students_shared():
    """Shared: all four students see both GPUs."""
    got = spawn_all("two-t4", ["ann", "ben", "cy", "dee"], policy="shared")
    assert all(ids == tuple(u.id for u in units("two-t4")) for ids in got.values())


def test_mig_slices_are_the_units():
    """A GPU split into MIG slices gives its slices (never itself); a whole GPU beside it counts as one."""
    found = units("a100-mig")
    assert [u.id[:4] for u in found] == ["MIG-", "MIG-", "MIG-", "GPU-"]
    assert "GPU-5fd4a6d6-8a45-1c52-3d1e-6f0a2b9c7e11" not in {u.id for u in found}
    assert found[0].label == "GPU 0 slice 3g.20gb #0"
    got = spawn_all("a100-mig", [f"s{i}" for i in range(5)])
    handed = [ids[0] for ids in got.values() if ids]
    assert len(handed) == 4 == len(set(handed)) and got["s4"] is None


def test_older_driver_mig_listing():
    """The MIG-GPU-<uuid>/<gi>/<ci> names of older drivers are units too."""
    assert [u.id for u in units("a100-mig-r470")] == ["MIG-GPU-5fd4a6d6-8a45-1c52-3d1e-6f0a2b9c7e11/7/0",
                                                      "MIG-GPU-5fd4a6d6-8a45-1c52-3d1e-6f0a2b9c7e11/8/0"]


@pytest.mark.parametrize("host", ["none", "no-driver"])
def test_host_without_gpus_offers_none(host):
    """No GPUs (or a broken driver): no GPU choice, and a GPU request is refused, for every policy."""
    assert units(host) == ()
    for policy in ("exclusive", "shared", "none"):
        assert not offers_gpu(units(host), policy)
        with pytest.raises(NoGpuFree):
            allocate(units(host), set(), policy)


def test_policy_none_offers_no_gpu_on_a_gpu_host():
    """Policy none: no GPU choice even where GPUs exist."""
    assert not offers_gpu(units("two-t4"), "none")
    with pytest.raises(NoGpuFree):
        allocate(units("two-t4"), set(), "none")


def test_release_then_reuse():
    """A released GPU goes to the next student; the one still held is never handed out twice."""
    first, second = units("two-t4")
    held = {"ann": allocate([first, second], set(), "exclusive")}
    held["ben"] = allocate([first, second], set(held["ann"]), "exclusive")
    with pytest.raises(NoGpuFree, match="all 2 GPUs"):
        allocate([first, second], {*held["ann"], *held["ben"]}, "exclusive")
    released = held.pop("ann")
    held["cy"] = allocate([first, second], set(held["ben"]), "exclusive")
    assert held["cy"] == released and held["cy"] != held["ben"]
    assert free_units([first, second], {*held["ben"], *held["cy"]}) == ()
