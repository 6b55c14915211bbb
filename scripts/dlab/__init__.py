"""dlab: the host-side launcher of the deep-learning lab (standard library only)."""
