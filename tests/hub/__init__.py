"""Tests of the classroom hub: its image, its settings, and the lab image spawned by a real JupyterHub."""
