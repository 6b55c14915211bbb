"""Tests of the build inputs: the locks, a hashed wheel for every pin on each architecture."""
