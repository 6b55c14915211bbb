"""Tests of the course room."""
