"""Talking to a lab in a test container: its Jupyter API on a 127.0.0.1 port, never through a proxy."""

import json
import urllib.error
import urllib.request

from tests.support.wait import DIRECT, until

TOKEN = "test-token-0123456789abcdef"


def api(port, path, token=TOKEN, method="GET", body=None, timeout=60):
    """(status, parsed JSON or None) of one request to the lab's API."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {token}"} if token else {})
    try:
        with DIRECT.open(request, timeout=timeout) as reply:
            text = reply.read()
            return reply.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        return err.code, None


def wait_for_api(port, container, timeout=90):
    """Wait until the lab answers /api on port; fail with its log when it does not (or has exited)."""
    def answers():
        container.reload()
        assert container.status != "exited", f"the lab exited:\n{container.logs().decode(errors='replace')}"
        return api(port, "/api", token=None, timeout=5)[0] == 200
    until(answers, timeout, f"a Jupyter API on port {port}", explain=lambda: container.logs().decode(errors="replace"))


def start_lab(tracked, port, environment=None, **kwargs):
    """A JupyterLab container with the test token (unless environment says otherwise), answering on port."""
    env = {"JUPYTER_TOKEN": TOKEN, **(environment or {})}
    container = tracked.start(environment=env, ports={"8888/tcp": ("127.0.0.1", port)}, **kwargs)
    wait_for_api(port, container)
    return container


def run_in_kernel(port, code, token=TOKEN, timeout=60):
    """Start a Python kernel through the lab's API, run code in it, return what it printed."""
    import asyncio
    import uuid

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    status, kernel = api(port, "/api/kernels", token=token, method="POST", body={"name": "python3"})
    assert status == 201, status

    async def execute():
        session = uuid.uuid4().hex  # as JupyterLab does; without one the server warns
        request = HTTPRequest(f"ws://127.0.0.1:{port}/api/kernels/{kernel['id']}/channels?session_id={session}",
                              headers={"Authorization": f"token {token}"})
        socket = await websocket_connect(request)
        msg_id = uuid.uuid4().hex
        await socket.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": session,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False}}))
        printed = []
        while True:
            message = json.loads(await socket.read_message())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["header"]["msg_type"]
            if kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                printed.append("\n".join(message["content"]["traceback"]))
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                socket.close()
                return "".join(printed)

    try:
        return asyncio.run(asyncio.wait_for(execute(), timeout))
    finally:
        api(port, f"/api/kernels/{kernel['id']}", token=token, method="DELETE")
