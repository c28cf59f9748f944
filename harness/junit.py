"""JUnit XML for CI dashboards: one test case per invariant (and per probe property), so a
dashboard shows which one broke. ``run`` builds its cases from the search's summaries, ``surge
--probe`` and ``capacity`` from a check report; the XML is drawn in one place.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.atomic import atomic_file
from harness.checkers.model import Status, Verdict


@dataclass(frozen=True)
class JUnitCase:
    name: str
    status: Status
    detail: str
    text: str = ""
    """The failure's body (defaults to the detail)."""
    skipped_because: str = "not decided"


def cases_of(verdicts: Sequence[Verdict], note: str = "") -> list[JUnitCase]:
    """One case per verdict; ``note`` (a history's path) is appended to every failure's body."""
    return [
        JUnitCase(
            str(v.invariant),
            v.status,
            v.detail,
            v.detail + (f"\n{note}" if note else ""),
            v.detail or "not decided",
        )
        for v in verdicts
    ]


def junit_suite(
    target: str, cases: Sequence[JUnitCase], properties: Sequence[tuple[str, str]], elapsed: float
) -> ET.Element:
    """A ``testsuite`` named coupon-chaos: failed cases carry their detail, unknown ones are
    skipped."""
    suite = ET.Element(
        "testsuite",
        {
            "name": "coupon-chaos",
            "tests": str(len(cases)),
            "failures": str(sum(1 for c in cases if c.status is Status.FAIL)),
            "skipped": str(sum(1 for c in cases if c.status is Status.UNKNOWN)),
            "errors": "0",
            "time": f"{elapsed:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in properties:
        ET.SubElement(props, "property", {"name": name, "value": value})
    for case in cases:
        element = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"coupon-chaos.{target}", "name": case.name, "time": "0"},
        )
        if case.status is Status.FAIL:
            failure = ET.SubElement(element, "failure", {"message": case.detail or "violated"})
            failure.text = case.text or case.detail
        elif case.status is Status.UNKNOWN:
            ET.SubElement(element, "skipped", {"message": case.skipped_because})
    return suite


def write_junit_suite(suite: ET.Element, path: Path) -> Path:
    """Write atomically, so a CI job never reads half a file."""
    tree = ET.ElementTree(suite)
    ET.indent(tree)
    with atomic_file(path) as out:
        tree.write(out, encoding="utf-8", xml_declaration=True)
    return path
