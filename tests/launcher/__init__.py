"""Tests of the launcher room."""
