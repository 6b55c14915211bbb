"""A stand-in docker CLI that answers from a script of replies: the launcher's failure paths, fast.

FAKE_DOCKER_REPLIES names a JSON list of [pattern, reply]: the first pattern (fnmatch) that matches the
arguments joined by spaces answers with reply's returncode, stdout (or the bytes of stdout_file) and
stderr, or with the stderr a real engine gave (recorded: NAME, a file beside this script). Every call is
appended to FAKE_DOCKER_LOG; a call no pattern matches fails, so a test sees what it did not expect.
"""

import fnmatch
import json
import os
import sys
from pathlib import Path


def main():
    args = " ".join(sys.argv[1:])
    with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
        log.write(json.dumps(sys.argv[1:]) + "\n")
    if sys.argv[1:2] == ["load"]:
        sys.stdin.buffer.read()
    for pattern, reply in json.loads(Path(os.environ["FAKE_DOCKER_REPLIES"]).read_text()):
        if fnmatch.fnmatchcase(args, pattern):
            break
    else:
        sys.stderr.write(f"fake docker: no reply for `docker {args}`\n")
        return 99
    if "recorded" in reply:
        reply = {**json.loads((Path(__file__).parent / f"{reply['recorded']}.json").read_text()), **reply}
    if "stdout_file" in reply:
        sys.stdout.buffer.write(Path(reply["stdout_file"]).read_bytes())
    sys.stdout.write(reply.get("stdout", ""))
    sys.stderr.write(reply.get("stderr", ""))
    return reply.get("returncode", 0)


if __name__ == "__main__":
    sys.exit(main())
