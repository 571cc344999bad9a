"""A library run as JUnit XML, which CI systems show as tests: one test suite per spec,
one test case per contract (and witness), failed when its verdict is not the one the
spec expects, with the narrated trace; specs a run did not reach are skipped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kmodel.jobs.run import JobResult, Verdict
from kmodel.render.formats import render
from kmodel.report.artifacts import context
from kmodel.report.facts import explored_text
from kmodel.report.runner import LibraryRun


def junit_xml(run: LibraryRun) -> str:
    """The JUnit XML document of `run`."""
    root = ET.Element("testsuites", name="kmodel verify")
    for outcome in run.outcomes:
        root.append(_suite(outcome))
    for job in run.not_run:
        suite = ET.SubElement(root, "testsuite", name=job.name, file=str(job.path))
        suite.set("tests", "1")
        suite.set("skipped", "1")
        case = ET.SubElement(suite, "testcase", name="(not run)", classname=job.name)
        ET.SubElement(case, "skipped", message=run.stopped_text())
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for suite in root:
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(outcome: JobResult) -> ET.Element:
    job, result = outcome.job, outcome.result
    failures = [v for v in outcome.verdicts if not v.met]
    suite = ET.Element(
        "testsuite",
        name=job.name,
        file=str(job.path),
        tests=str(len(outcome.verdicts)),
        failures=str(len(failures)),
        skipped="0",
        time=f"{result.stats.seconds:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("title", job.title),
        ("states", str(result.stats.states)),
        ("coverage", result.coverage),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for verdict in outcome.verdicts:
        case = ET.SubElement(suite, "testcase", name=verdict.name, classname=job.name)
        if not verdict.met:
            failure = ET.SubElement(case, "failure", message=_expected(verdict))
            failure.text = _evidence(outcome, verdict)
    return suite


def _expected(verdict: Verdict) -> str:
    found = verdict.status.value
    if verdict.trace is not None:
        found += f" in {len(verdict.trace)} steps"
    if verdict.expected is None:
        return f"{verdict.name}: {found} (the search stopped before a verdict)"
    want = verdict.expected.status.value
    if verdict.expected.steps is not None:
        want += f" in {verdict.expected.steps} steps"
    return f"{verdict.name}: expected {want}, found {found}"


def _evidence(outcome: JobResult, verdict: Verdict) -> str:
    """The narrated trace of the verdict, or what the search covered without one."""
    if verdict.trace is None:
        return f"No trace; explored {explored_text(outcome)}."
    return str(render(verdict.trace, "text", **context(outcome, verdict)))
