"""A notebook kernel starts and runs a cell."""


def test_kernel_runs_a_cell(tmp_path, monkeypatch):
    """The python3 kernel starts, runs a cell that imports numpy, and returns its output."""
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    outputs = []
    try:
        reply = client.execute_interactive(
            "import numpy as np\nprint(int(np.arange(10).sum()))",
            timeout=120,
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert "45" in "".join(outputs)
