"""report.html: what a person sees after a run.

Unit tests render hand-built histories (a violation with hostile strings, no claims at all, no
history, a large surge) and read the page back as HTML; the end-to-end test runs
``coupon-chaos run --report`` against a seeded bug and opens the page in a real headless
browser (Debian's chromium), reading the DOM it built and looking at the pixels it drew.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageStat

from harness.checkers import CheckReport, Status, Verdict, check_history
from harness.engine.run import InvariantSummary, RunOutcome
from harness.history import History
from harness.invariants import ALL_INVARIANTS, Invariant
from harness.report_html import for_run, write_html_report

HOSTILE_USER = '<script>alert("pwned")</script>'
HOSTILE_KEY = 'k2"><img src=x onerror=alert(1)>'
HOSTILE_CODE = "<b>C2</b>"
MS = 1_000_000


def _line(index: int, type: str, process: str, f: str, value: dict[str, Any], t: int, **kw: Any):
    op: dict[str, Any] = {
        "index": index,
        "type": type,
        "process": process,
        "f": f,
        "value": value,
        "time": t,
    }
    op.update(kw)
    return op


class Ops:
    """Writes a history file op by op, with explicit times (ms), as History.write_jsonl does."""

    def __init__(self, campaign: dict[str, Any]) -> None:
        self.lines: list[dict[str, Any]] = []
        self.meta = {"campaign": campaign}

    def invoke(self, process: str, f: str, value: dict[str, Any], ms: float) -> int:
        self.lines.append(_line(len(self.lines), "invoke", process, f, value, int(ms * MS)))
        return len(self.lines) - 1

    def complete(
        self, invoke: int, type: str, ms: float, value: dict[str, Any] | None = None, **extra: Any
    ) -> int:
        inv = self.lines[invoke]
        merged = {**inv["value"], **(value or {})}
        op = _line(
            len(self.lines),
            type,
            inv["process"],
            inv["f"],
            merged,
            int(ms * MS),
            invoke_index=invoke,
            invoke_time=inv["time"],
        )
        if extra:
            op["extra"] = extra
        self.lines.append(op)
        return len(self.lines) - 1

    def write(self, path: Path) -> Path:
        with path.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"meta": self.meta}) + "\n")
            for op in self.lines:
                out.write(json.dumps(op) + "\n")
        return path


def violating_history(path: Path) -> tuple[Path, list[int]]:
    """Stock 1, two coupons acknowledged (one to a user id that is a script), a client fault in
    between: a no-over-issuance violation proven by the two grants."""
    campaign = {"campaign_id": "c1", "stock": 1, "per_user_limit": 1}
    h = Ops(campaign)
    h.complete(h.invoke("c0", "create", campaign, 0), "ok", 1)
    h.complete(
        h.invoke("nemesis", "fault", {"kind": "latency", "path": "client", "latency_ms": 50}, 2),
        "info",
        3,
    )
    a = h.invoke(
        "c1", "claim", {"campaign_id": "c1", "user_id": HOSTILE_USER, "idempotency_key": "k1"}, 10
    )
    b = h.invoke(
        "c2", "claim", {"campaign_id": "c1", "user_id": "u2", "idempotency_key": HOSTILE_KEY}, 11
    )
    ok1 = h.complete(a, "ok", 60, {"coupon_code": "CODE-1"}, reason="granted", status=201)
    ok2 = h.complete(b, "ok", 70, {"coupon_code": HOSTILE_CODE}, reason="granted", status=201)
    t = h.invoke("c3", "claim", {"campaign_id": "c1", "user_id": "u3", "idempotency_key": "k3"}, 75)
    h.complete(t, "info", 1075, reason="timeout")
    h.complete(h.invoke("nemesis", "heal", {"path": "all"}, 1100), "info", 1101)
    d = h.invoke(
        "c0",
        "drain",
        {"campaign_id": "c1", "user_id": "drain-u0", "idempotency_key": "drain-k0"},
        1110,
    )
    h.complete(d, "fail", 1112, reason="sold_out", status=410)
    coupons = [
        {"coupon_code": "CODE-1", "user_id": HOSTILE_USER, "idempotency_key": "k1"},
        {"coupon_code": HOSTILE_CODE, "user_id": "u2", "idempotency_key": HOSTILE_KEY},
    ]
    state = {**campaign, "issued": 2, "remaining": -1}
    r = h.invoke("c0", "read", {"campaign_id": "c1"}, 1120)
    h.complete(r, "ok", 1125, {"campaign": state, "coupons": coupons})
    return h.write(path), [ok1, ok2]


def surge_history(path: Path, claims: int, stock: int, seconds: float = 60.0) -> Path:
    """A synthetic surge: ``claims`` claims over ``seconds``, sold out after ``stock`` grants,
    with a client fault, a store outage, a kill/start and a crash along the way."""
    campaign = {"campaign_id": "s1", "stock": stock, "per_user_limit": 1}
    span = seconds * 1000
    lines = []
    index = 0

    def add(op: dict[str, Any]) -> None:
        nonlocal index
        op["index"] = index
        lines.append(json.dumps(op))
        index += 1

    add(_line(0, "invoke", "c0", "create", campaign, 0))
    add(_line(0, "ok", "c0", "create", campaign, MS, invoke_index=0, invoke_time=0))
    faults = [
        (0.2, "fault", {"kind": "latency", "path": "client", "latency_ms": 200}),
        (0.4, "heal", {"path": "client"}),
        (0.5, "fault", {"kind": "down", "path": "store"}),
        (0.6, "heal", {"path": "all"}),
        (0.7, "process", {"action": "kill"}),
        (0.75, "process", {"action": "start"}),
        (0.85, "process", {"action": "crash"}),
    ]
    reasons = ("sold_out", "timeout", "overloaded", "reset", "limit_reached", "server_error")
    granted = 0
    for i in range(claims):
        t = int((2 + i * (span - 10) / claims) * MS)
        while faults and t >= faults[0][0] * span * MS:
            _, f, value = faults.pop(0)
            at = int(t - 1)
            add(_line(0, "invoke", "nemesis", f, value, at))
            add(
                _line(
                    0, "info", "nemesis", f, value, at + 1, invoke_index=index - 1, invoke_time=at
                )
            )
        value = {"campaign_id": "s1", "user_id": f"u{i}", "idempotency_key": f"k{i}"}
        latency = (1 + (i * 7919) % 300) * MS // 10
        add(_line(0, "invoke", f"c{i % 64}", "claim", value, t))
        if granted < stock and i % 3 == 0:
            granted += 1
            done = {**value, "coupon_code": f"CODE{i}"}
            kind, extra = "ok", {"reason": "granted", "status": 201}
        else:
            done, reason = value, reasons[i % len(reasons)]
            if granted < stock and reason == "sold_out":
                reason = "limit_reached"
            kind = "info" if reason in ("timeout", "reset", "server_error") else "fail"
            extra = {"reason": reason}
        add(
            _line(
                0,
                kind,
                f"c{i % 64}",
                "claim",
                done,
                t + latency,
                invoke_index=index - 1,
                invoke_time=t,
                extra=extra,
            )
        )
    read = {"campaign_id": "s1"}
    add(_line(0, "invoke", "c0", "read", read, int(span * MS)))
    state = {
        "campaign": {**campaign, "issued": granted, "remaining": stock - granted},
        "coupons": [],
    }
    add(
        _line(
            0,
            "ok",
            "c0",
            "read",
            {**read, **state},
            int(span * MS) + MS,
            invoke_index=index - 1,
            invoke_time=int(span * MS),
        )
    )
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"meta": {"campaign": campaign}}) + "\n")
        out.write("\n".join(lines) + "\n")
    return path


class Tags(HTMLParser):
    """Every start tag with its attributes, and the page's visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def assert_self_contained(page: str) -> list[Image.Image]:
    """No network reference anywhere; every image an embedded, decodable PNG. Returns them."""
    tags = parse(page)
    images = []
    for tag, attrs in tags.tags:
        assert tag not in ("link", "iframe", "object", "embed", "base"), tag
        assert "href" not in attrs, (tag, attrs)
        if tag == "script":
            assert "src" not in attrs
        if tag == "img":
            src = attrs["src"] or ""
            assert src.startswith("data:image/png;base64,"), src[:60]
            image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
            image.load()
            assert image.width >= 400 and image.height >= 200
            images.append(image)
        for name, value in attrs.items():
            if name == "src" or name.startswith("on"):
                assert name == "src" and (value or "").startswith("data:"), (tag, name)
    assert "@import" not in page and "url(" not in page
    assert sum(1 for tag, _ in tags.tags if tag == "script") == 1
    return images


def assert_not_blank(image: Image.Image) -> None:
    stat = ImageStat.Stat(image.convert("L"))
    assert stat.stddev[0] > 10, stat.stddev


def test_violation_page_names_the_proving_ops_and_escapes_the_history(tmp_path: Path) -> None:
    history, proving = violating_history(tmp_path / "history.jsonl")
    report = check_history(History.read_jsonl(history))
    assert not report.valid
    assert [str(v.invariant) for v in report.violations] == ["no-over-issuance"]
    path = write_html_report(
        tmp_path / "out",
        history_path=history,
        check_report=report,
        settings={"target": "bug-stock-race", "note": HOSTILE_USER},
        metrics={"goodput": 1.5, "latency": {"p50_ms": 3}},
        title=f"surge {HOSTILE_CODE}",
    )
    assert path == tmp_path / "out" / "report.html"
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temp file left
    page = path.read_text(encoding="utf-8")

    # escaped, never live: only our own one script tag, no injected img or bold
    assert HOSTILE_USER not in page and "<img src=x" not in page and HOSTILE_CODE not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "k2&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;C2&lt;/b&gt;" in page
    images = assert_self_contained(page)
    assert len(images) == 2  # timeline and latency
    for image in images:
        assert_not_blank(image)

    text = " ".join(parse(page).text)
    assert "FAIL" in text and "no-over-issuance" in text
    violation = page.split('<div class="violation">', 1)[1].split("</div>", 1)[0]
    for index in proving:
        assert f"<tr><td>{index}</td>" in violation
    assert "CODE-1" in violation and "granted 201" in violation
    assert "client network" in page and "latency" in page  # the fault window's row
    assert "goodput" in page and "latency.p50_ms" in page  # metrics, flattened


def test_a_history_with_no_claims_renders_empty_charts(tmp_path: Path) -> None:
    campaign = {"campaign_id": "c1", "stock": 3, "per_user_limit": 1}
    h = Ops(campaign)
    h.complete(h.invoke("c0", "create", campaign, 0), "ok", 1)
    state = {"campaign": {**campaign, "issued": 0, "remaining": 3}, "coupons": []}
    h.complete(h.invoke("c0", "read", {"campaign_id": "c1"}, 5), "ok", 6, state)
    history = h.write(tmp_path / "h.jsonl")
    report = check_history(History.read_jsonl(history))
    path = write_html_report(
        tmp_path, history_path=history, check_report=report, settings={}, title="empty"
    )
    page = path.read_text()
    assert "PASS" in page and "The history holds no claims" in page
    assert len(assert_self_contained(page)) == 2


def test_a_malformed_history_still_renders_what_survived(tmp_path: Path) -> None:
    history, _ = violating_history(tmp_path / "h.jsonl")
    report = check_history(History.read_jsonl(history))
    with history.open("ab") as out:
        out.write(b"not json\n\xff\xfe{\n[1, 2]\n")
        bogus = {"campaign_id": "c1", "user_id": "u9", "idempotency_key": "k9"}
        line = _line(99, "ok", "c9", "claim", bogus, -5 * MS, invoke_index=98, invoke_time=-9)
        out.write((json.dumps(line) + "\n").encode())
    path = write_html_report(
        tmp_path, history_path=history, check_report=report, settings={}, title="t"
    )
    page = path.read_text()
    assert "3 malformed line(s) of the history were skipped" in page
    assert len(assert_self_contained(page)) == 2


def test_without_a_history_the_page_says_so_and_plots_the_counters(tmp_path: Path) -> None:
    report = CheckReport([Verdict(i, Status.PASS, "held") for i in ALL_INVARIANTS])
    path = write_html_report(
        tmp_path,
        history_path=None,
        check_report=report,
        settings={"target": "reference-sqlite"},
        metrics={"claims_by_reason": {"granted": 40, "sold_out": 12, "timeout": 3}},
        title="run",
    )
    page = path.read_text()
    assert "No operation history was kept" in page
    images = assert_self_contained(page)
    assert len(images) == 1
    assert_not_blank(images[0])


def test_a_large_history_is_bucketed_not_plotted_op_by_op(tmp_path: Path) -> None:
    small = surge_history(tmp_path / "small.jsonl", claims=500, stock=100)
    large = surge_history(tmp_path / "large.jsonl", claims=100_000, stock=20_000)
    sizes = {}
    for name, history in (("small", small), ("large", large)):
        report = CheckReport([Verdict(Invariant.NO_OVER_ISSUANCE, Status.PASS, "held")])
        started = time.monotonic()
        path = write_html_report(
            tmp_path / name, history_path=history, check_report=report, settings={}, title=name
        )
        elapsed = time.monotonic() - started
        page = path.read_text()
        sizes[name] = len(page)
        assert len(assert_self_contained(page)) == 2
        assert elapsed < 60, elapsed
    # the page grows with the picture's detail, not with the number of operations
    assert sizes["large"] < 600_000 and sizes["large"] < 3 * sizes["small"], sizes
    page = (tmp_path / "large" / "report.html").read_text()
    for lane in ("client network", "store network", "process"):
        assert lane in page


def _outcome(verdict: str = "pass") -> RunOutcome:
    return RunOutcome(
        verdict=verdict,
        target="reference-sqlite",
        runtime="local",
        profile="dev",
        seed=1,
        budget=5.0,
        elapsed=5.2,
        invariants=[InvariantSummary(str(i), "pass", "", {"pass": 4}) for i in ALL_INVARIANTS],
        stats={"examples": 4, "claims_by_reason": {"granted": 9, "sold_out": 2}},
    )


def test_a_passing_run_gets_a_page_from_its_counters(tmp_path: Path) -> None:
    json_path = for_run.write_run_reports(_outcome(), tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert json.loads(json_path.read_text())["verdict"] == "pass"
    assert "PASS" in page and "a passing run keeps no history" in page
    assert "examples: pass 4" in page


def test_a_rendering_failure_keeps_report_json_and_costs_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(outcome: RunOutcome, directory: Path) -> Path:
        raise RuntimeError("no fonts\nat all")

    (tmp_path / "report.html").write_text("stale page of an earlier run")
    monkeypatch.setattr(for_run, "write_run_html", broken)
    json_path = for_run.write_run_reports(_outcome(), tmp_path)
    assert json.loads(json_path.read_text())["verdict"] == "pass"
    assert not (tmp_path / "report.html").exists()
    err = capsys.readouterr().err
    assert err == "coupon-chaos: report.html not written: no fonts at all\n"


# -- end to end, in a real browser


def chromium() -> str:
    """The browser; tests that call this are marked ``requires("chromium")``."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found is not None, "marked requires('chromium') but none found"
    return found


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    browser = chromium()
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.mark.slow
@pytest.mark.requires("chromium")
def test_run_report_html_renders_in_a_headless_browser(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # the search stops at the first failure (seed 3 finds the race in a few seconds:
    # benchmarks/results/bench_detect-5seeds.log), so the budget only matters on a slow machine;
    # the report is what is tested here, one confirming replay is enough
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--target", "bug-stock-race", "--shrink", "0"]
        + ["--budget", "60", "--seed", "3", "--confirm", "1", "--report", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "report.html not written" not in result.stderr
    report = json.loads((out / "report.json").read_text())
    violated = [v["invariant"] for v in report["violations"]]
    assert report["verdict"] == "fail" and "no-over-issuance" in violated
    page = out / "report.html"
    assert f"report: {page}" in result.stdout
    assert len(assert_self_contained(page.read_text())) == 2

    dom = browse(page, tmp_path / "profile", "--dump-dom").stdout
    assert 'data-images="2/2"' in dom, "the charts did not decode in the browser"
    verdict = dom.split('<div class="verdict fail">', 1)[1].split("</div>", 1)[0]
    assert verdict.startswith("FAIL")
    for name in violated:
        assert name in verdict
        assert f'<div class="violation"><h3><code>{name}</code></h3>' in dom
    assert '<td class="status fail">fail</td>' in dom
    assert "The operations that prove it" in dom

    shot = tmp_path / "report.png"
    browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2400")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    assert_not_blank(image)
    # the red FAIL banner is on screen: many pixels of its colour near the top
    top = np.asarray(image.crop((0, 0, 1280, 300)), dtype=np.int32)
    red = int(np.count_nonzero((top[..., 0] > 180) & (top[..., 1] < 70) & (top[..., 2] < 70)))
    assert red > 20_000, red


@pytest.mark.slow
@pytest.mark.requires("chromium")
def test_an_open_loop_surge_page_draws_the_crowd_in_a_headless_browser(tmp_path: Path) -> None:
    # the crowd's numbers as surge.json's open_loop holds them: a spike, late arrivals while the
    # driver fell behind, latency rising under the fault and falling after it
    seconds = [
        {
            "second": s, "offered": offered, "sent": offered + 10 * s, "answered": offered,
            "granted": max(0, 100 - 10 * s), "late": 5 if s == 3 else 0,
            "p50_ms": 5.0 + s, "p99_ms": None if s == 0 else 20.0 * s,
        }
        for s, offered in enumerate((50, 50, 275, 500, 500, 50))
    ]  # fmt: skip
    open_loop = {
        "arrivals": 1425, "late": 5, "seconds": seconds,
        "latency_intended": {"p50_ms": 7.0, "p99_ms": 95.0, "max_ms": 120.0},
        "latency_sent": {"p50_ms": 6.0, "p99_ms": 80.0, "max_ms": 110.0},
    }  # fmt: skip
    history = surge_history(tmp_path / "surge.jsonl", claims=1425, stock=300, seconds=6.0)
    page = write_html_report(
        tmp_path / "out",
        history_path=history,
        check_report=check_history(History.read_jsonl(history)),
        settings={"mode": "surge", "arrivals": "spike:50:500:2:2"},
        title="open-loop surge",
        open_loop=open_loop,
        fault_windows=[{"fault": "latency", "start_s": 1.0, "end_s": 3.0}],
    )
    html = page.read_text()
    assert len(assert_self_contained(html)) == 3
    assert "<h3>Open-loop crowd</h3>" in html and "late arrivals (&gt; 10 ms)" in html
    dom = browse(page, tmp_path / "profile", "--dump-dom").stdout
    assert 'data-images="3/3"' in dom, "the charts did not decode in the browser"
