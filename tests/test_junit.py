"""JUnit XML from verdicts: the probe's liveness property is a test case beside the invariants."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.checkers.model import Status, Verdict
from harness.invariants import ALL_INVARIANTS, Invariant
from harness.junit import cases_of, junit_suite, write_junit_suite


def test_a_failed_property_beside_the_safety_invariants(tmp_path: Path) -> None:
    verdicts = [Verdict(i, Status.PASS, "held") for i in ALL_INVARIANTS]
    verdicts[7] = Verdict(Invariant.NO_STOCK_LEAK, Status.UNKNOWN, "no drain")
    verdicts.append(Verdict(Invariant.RECOVERS_AFTER_TRIGGER, Status.FAIL, "metastable: down"))
    suite = junit_suite("bug-x", cases_of(verdicts, "history: h.jsonl"), [("seed", "1")], 2.5)
    path = write_junit_suite(suite, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("11", "1", "1")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert list(cases)[-1] == "recovers-after-trigger"
    failure = cases["recovers-after-trigger"].find("failure")
    assert failure is not None and failure.get("message") == "metastable: down"
    assert failure.text == "metastable: down\nhistory: h.jsonl"
    skipped = cases["no-stock-leak"].find("skipped")
    assert skipped is not None and skipped.get("message") == "no drain"
