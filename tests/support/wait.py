"""Polling with a deadline, and HTTP to the labs on 127.0.0.1 (never through a proxy)."""

import collections
import time
import urllib.error
import urllib.request

Reply = collections.namedtuple("Reply", "status headers text")
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def until(check, timeout, what, interval=0.3, explain=None):
    """check()'s first truthy value within timeout seconds; OSError counts as not yet.

    Fails naming what, followed by what explain() returns (a log, say).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
            if found:
                return found
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s" + (f"\n{explain()}" if explain else ""))
        time.sleep(interval)


def http_status(url, timeout=5):
    """The status a GET of url answers with (4xx and 5xx included); OSError when nothing answers."""
    try:
        with DIRECT.open(url, timeout=timeout) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def wait_for_http(url, timeout=60):
    """The first status url answers with, waiting for the server to come up."""
    return until(lambda: http_status(url), timeout, f"an answer from {url}")


def http_get(url, timeout=10, **request):
    """(status, headers, text) of a request of url (urllib.request.Request keywords: method, headers)."""
    with DIRECT.open(urllib.request.Request(url, **request), timeout=timeout) as reply:
        return Reply(reply.status, reply.headers, reply.read().decode())
