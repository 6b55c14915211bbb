"""Tests of the whole lab in a real browser."""
