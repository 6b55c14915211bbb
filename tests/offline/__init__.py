"""Tests of the offline room: bundles, loading, a classroom registry, Apptainer."""

SMALL_PINS = ("six", "idna")  # two small pure-Python wheels of the lock, for a quick wheelhouse
