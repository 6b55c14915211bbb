"""`dlab check`: the smoke checks of lab/smoke, run with pytest inside a fresh container."""

from __future__ import annotations

import argparse
import re
from typing import Literal

from . import engine, ui
from .defaults import WORK_TARGET, Label
from .errors import DlabError

REPORT = "dlab-check.xml"
SMOKE = "/opt/dlab/smoke"
Outcome = Literal["pass", "FAIL", "flagged"]
PROGRESS = re.compile(r"^\S+::test_(\w+) (PASSED|FAILED|SKIPPED|ERROR)\s+\[\s*(\d+)%\]")


def add_parser(subparsers) -> None:
    from .up import add_device_options

    parser = subparsers.add_parser("check", help="run the smoke checks inside a fresh container",
                                   description="Check the lab from the inside: imports, devices against the asked GPUs, "
                                   "a Keras fit, HDF5, OpenCV, a notebook kernel. Writes JUnit XML into the work folder.")
    add_device_options(parser)
    parser.add_argument("--require-assets", action="store_true",
                        help="fail (instead of flag) when a data set or weight file is missing from the image")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output")
    parser.set_defaults(func=run)


def results(xml_path) -> list[tuple[str, Outcome, str, str]]:
    """[(check, outcome, seconds, detail)] from a JUnit XML report."""
    import xml.etree.ElementTree as ET

    rows = []
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        outcome: Outcome = "pass"
        detail = ""
        for tag, label in (("failure", "FAIL"), ("error", "FAIL"), ("skipped", "flagged")):
            found = case.find(tag)
            if found is not None:
                outcome = label  # type: ignore[assignment]
                detail = next(iter((found.get("message") or found.text or "").strip().splitlines()), "")
                break
        name = case.get("name", "?").removeprefix("test_").replace("_", " ")
        rows.append((name, outcome, f"{float(case.get('time', 0)):.1f}s", detail))
    return rows


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import os
    import secrets

    from . import session
    from .plan import LaunchPlan, Options

    def show(line: str) -> None:
        found = PROGRESS.match(line)
        if args.verbose:
            print(line, end="", flush=True)
        elif found:
            name, outcome, percent = found.groups()
            ui.say(f"  {name.replace('_', ' ')}: {outcome.lower()} ({percent}%)")

    def start(launch: LaunchPlan) -> engine.Result:
        report = os.path.join(launch.work, REPORT)
        if os.path.exists(report):
            os.remove(report)  # our own report from an earlier check
        env = {"DLAB_EXPECT_GPUS": launch.gpus, "DLAB_REQUIRE_ASSETS": "1" if args.require_assets else "0"}
        if launch.tensorflow:
            env["DLAB_EXPECT_TENSORFLOW"] = launch.tensorflow
        base = launch.spec()
        spec = dataclasses.replace(
            base, name=f"dlab-check-{secrets.token_hex(4)}", detach=False, remove=True, labels={Label.CHECK: "1"},
            env={**base.env, **env}, command=["python", "-m", "pytest", SMOKE, "-p", "no:cacheprovider", "-v",
                                              "-o", "junit_family=xunit1", f"--junitxml={WORK_TARGET}/{REPORT}"])
        ui.say(f"checking {launch.image} ({launch.devices}) in a fresh container")
        result = engine.run(spec.argv(), env=spec.env, stream=show, check=False)
        if result.returncode == 125 and engine.classify(result.stdout).kind == "gpu-refused":
            raise engine.error(result.stdout, ["run"])
        return result

    options = Options(flavor=args.flavor, gpus=args.gpus, work=args.work, image=args.image, browser=False)
    launch, result = session.launch(options, start, serve=False)
    assert result is not None  # a one-off container is never a running lab reused
    report = os.path.join(launch.work, REPORT)
    if not os.path.exists(report):
        print(result.stdout[-4000:])
        if result.returncode == 125:
            raise engine.error(result.stdout, ["run"], subject=launch.image)
        raise DlabError(f"the smoke checks did not run (exit {result.returncode})", "see the output above")
    rows = results(report)
    print(ui.table([("CHECK", "RESULT", "TIME", "DETAIL"), *[(n, o, t, ui.clip(d)) for n, o, t, d in rows]]))
    failed = sum(1 for row in rows if row[1] == "FAIL")
    flagged = sum(1 for row in rows if row[1] == "flagged")
    print(f"{len(rows) - failed - flagged} passed, {failed} failed, {flagged} flagged; JUnit XML: {report}")
    return 0 if rows and not failed and result.returncode == 0 else 1
