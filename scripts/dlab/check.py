"""`dlab check`: the smoke checks of lab/smoke, run with pytest inside a fresh container."""

from __future__ import annotations

REPORT = "dlab-check.xml"
SMOKE = "/opt/dlab/smoke"


def add_parser(subparsers):
    from .up import add_device_options

    parser = subparsers.add_parser("check", help="run the smoke checks inside a fresh container",
                                   description="Check the lab from the inside: imports, devices against the asked GPUs, "
                                   "a Keras fit, HDF5, OpenCV, a notebook kernel. Writes JUnit XML into the work folder.")
    add_device_options(parser)
    parser.add_argument("--require-assets", action="store_true",
                        help="fail (instead of flag) when a data set or weight file is missing from the image")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output")
    parser.set_defaults(func=run)


def results(xml_path):
    """[(check, outcome, seconds, detail)] from a JUnit XML report; outcome: pass | FAIL | flagged."""
    import xml.etree.ElementTree as ET

    rows = []
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        outcome, detail = "pass", ""
        for tag, label in (("failure", "FAIL"), ("error", "FAIL"), ("skipped", "flagged")):
            found = case.find(tag)
            if found is not None:
                outcome = label
                detail = (found.get("message") or found.text or "").strip().splitlines()[0:1]
                detail = detail[0] if detail else ""
                break
        name = case.get("name", "?").removeprefix("test_").replace("_", " ")
        rows.append((name, outcome, f"{float(case.get('time', 0)):.1f}s", detail))
    return rows


def run_streaming(argv, env, verbose):
    """Run the check container; show each check as it finishes. (exit code, all output)."""
    import re
    import subprocess

    from .act import say

    progress = re.compile(r"^\S+::test_(\w+) (PASSED|FAILED|SKIPPED|ERROR)\s+\[\s*(\d+)%\]")
    lines = []
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            lines.append(line)
            if verbose:
                print(line, end="", flush=True)
                continue
            found = progress.match(line)
            if found:
                name, outcome, percent = found.groups()
                say(f"  {name.replace('_', ' ')}: {outcome.lower()} ({percent}%)")
    return proc.returncode, "".join(lines)


def clip(text, width=110):
    return text if len(text) <= width else text[: width - 1] + "…"


def run(args):
    import os
    import secrets

    from . import act, engine
    from .errors import DlabError
    from .instances import table
    from .plan import LaunchPlan, Options, check_options, check_work, plan_devices
    from .probe import probe_host
    from .images import FLAVORS, default_image

    options = Options(flavor=args.flavor, gpus=args.gpus, work=args.work, image=args.image, browser=False)
    check_options(options)
    if options.image:  # an image on a classroom registry is pulled when missing
        from .registry import pull_missing

        pull_missing(options.image)
    refs = [options.image] if options.image else [default_image(f) for f in FLAVORS]
    facts = probe_host(image_refs=refs, work=options.work)
    create_work = check_work(facts.work)
    for _attempt in range(3):
        image, flavor, gpus, build, notes = plan_devices(facts, options)
        if build and gpus != "none":
            facts.gpu_refused = act.gpus_refused(gpus, facts.images)
            if facts.gpu_refused:
                continue
        for note in notes:
            act.say(note)
        box = LaunchPlan(name=f"dlab-check-{secrets.token_hex(4)}", image=image, flavor=flavor, gpus=gpus, port=0,
                         host_ip="", token="", work=facts.work.path, user=f"{facts.uid}:{facts.gid}" if facts.uid is not None else None,
                         create_work=create_work, build=build)
        act.prepare(box)
        create_work = False
        report = os.path.join(box.work, REPORT)
        if os.path.exists(report):
            os.remove(report)  # our own report from an earlier check
        extra = {"DLAB_EXPECT_GPUS": gpus, "DLAB_REQUIRE_ASSETS": "1" if args.require_assets else "0"}
        promised = (facts.images.get(image) or {}).get("org.dlab.tensorflow", "")
        if promised:
            extra["DLAB_EXPECT_TENSORFLOW"] = promised
        command = ["python", "-m", "pytest", SMOKE, "-p", "no:cacheprovider", "-v", "-o", "junit_family=xunit1",
                   f"--junitxml={act.WORK_TARGET}/{REPORT}"]
        argv = act.run_args(box, detach=False, remove=True, command=command, extra_env=extra,
                            labels={"org.dlab.check": "1"})
        act.say(f"checking {image} ({'no GPU' if gpus == 'none' else 'GPUs ' + gpus}) in a fresh container")
        code, output = run_streaming([engine.docker_cli() or "docker", *argv], act.run_env(box, extra), args.verbose)
        if engine.GPU_REFUSAL in output:
            facts.gpu_refused = engine.first_line(output[output.index(engine.GPU_REFUSAL):])
            continue
        break
    else:
        raise DlabError("the checks would not start", "run `dlab doctor`")
    if not os.path.exists(report):
        print(output[-4000:])
        raise engine.engine_error(output, ["run"]) if code == 125 else DlabError(
            f"the smoke checks did not run (exit {code})", "see the output above")
    rows = results(report)
    print(table([("CHECK", "RESULT", "TIME", "DETAIL"), *[(n, o, t, clip(d)) for n, o, t, d in rows]]))
    failed = sum(1 for row in rows if row[1] == "FAIL")
    flagged = sum(1 for row in rows if row[1] == "flagged")
    summary = f"{len(rows) - failed - flagged} passed, {failed} failed, {flagged} flagged; JUnit XML: {report}"
    print(summary)
    return 0 if rows and not failed and code == 0 else 1
