"""Bad input gets one clear line and its documented exit code: never a traceback, never a
partial result file. Run as a user runs it: the CLI in a subprocess."""

import json
import os
import socket
from pathlib import Path

import pytest
from clirun import assert_one_line, cli


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_unknown_target(tmp_path):
    result = cli("run", "--target", "no-such-target", "--report", tmp_path / "out")
    assert_one_line(result, 2, "unknown target 'no-such-target'")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("budget", ["abc", "-5", "0"])
def test_invalid_budget(tmp_path, budget):
    result = cli("run", "--budget", budget, "--report", tmp_path / "out")
    assert_one_line(result, 2, "budget")
    assert not (tmp_path / "out").exists()


def test_unreachable_url_is_an_infrastructure_error(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    result = cli("run", "--runtime", "external", "--target", url, "--report", tmp_path / "out")
    assert_one_line(result, 3, "unreachable")
    assert not (tmp_path / "out" / "report.json").exists()


def test_unreachable_toxiproxy_is_an_infrastructure_error(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    result = cli("run", "--toxiproxy", url, "--budget", "1", "--report", tmp_path / "out")
    assert_one_line(result, 3, f"fault proxy at {url} unreachable")
    assert not (tmp_path / "out" / "report.json").exists()


def test_toxiproxy_url_comes_from_the_option_then_the_environment(tmp_path):
    """$TOXIPROXY_URL is used when --toxiproxy is not given, and --toxiproxy wins over it."""
    from_env = f"http://127.0.0.1:{closed_port()}"
    env = {**os.environ, "TOXIPROXY_URL": from_env}
    result = cli("run", "--budget", "1", env=env)
    assert_one_line(result, 3, f"fault proxy at {from_env} unreachable")
    from_option = f"http://127.0.0.1:{closed_port()}"
    result = cli("run", "--toxiproxy", from_option, "--budget", "1", env=env)
    assert_one_line(result, 3, f"fault proxy at {from_option} unreachable")


def test_url_target_needs_the_external_runtime():
    result = cli("run", "--target", "http://127.0.0.1:1")
    assert_one_line(result, 2, "--runtime external")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"format": "coupon-chaos-scenario", "version": 1, "target": "ref', "not valid JSON"),
        ('{"format": "something-else"}', "not a scenario file"),
        (
            json.dumps(
                {
                    "format": "coupon-chaos-scenario",
                    "version": 1,
                    "target": "reference-sqlite",
                    "campaign": {"stock": 1},
                    "steps": [
                        {
                            "op": "fault",
                            "fault": {"kind": "latency", "path": "moon", "latency_ms": 5},
                        }
                    ],
                }
            ),
            "path must be one of",
        ),
    ],
)
def test_malformed_scenario(tmp_path, content, needle):
    path = tmp_path / "s.json"
    path.write_text(content)
    assert_one_line(cli("replay", path), 2, needle)


def test_missing_scenario(tmp_path):
    assert_one_line(cli("replay", tmp_path / "none.json"), 2, "does not exist")


def test_scenario_with_unknown_target(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                "format": "coupon-chaos-scenario",
                "version": 1,
                "target": "bug-that-does-not-exist",
                "campaign": {"stock": 1},
                "steps": [],
            }
        )
    )
    assert_one_line(cli("replay", path), 2, "unknown target")


ROOT = Path(__file__).resolve().parents[2]
DOCKER_SCENARIO = "tests/scenarios/docker/reference-container-faults.json"


def test_a_container_scenario_on_the_local_runtime_is_a_usage_error_before_anything_runs():
    """The local runtime cannot partition a process: the scenario's first partition step is
    named, with why, and no replay run starts (nothing on stdout)."""
    result = cli("replay", DOCKER_SCENARIO, "--runtime", "local", cwd=ROOT)
    assert_one_line(
        result,
        2,
        f"{DOCKER_SCENARIO}: steps[10] (process partition) cannot be replayed here: "
        "this runtime cannot partition the target",
    )
    assert result.stdout == ""


def test_a_fault_on_a_path_without_a_proxy_is_a_usage_error(tmp_path):
    """reference-sqlite has no store, so no store path to put a fault on."""
    path = tmp_path / "store-fault.json"
    path.write_text(
        json.dumps(
            {
                "format": "coupon-chaos-scenario",
                "version": 1,
                "target": "reference-sqlite",
                "campaign": {"stock": 1},
                "steps": [
                    {"op": "claim", "user": "u", "key": "k"},
                    {"op": "fault", "fault": {"kind": "down", "path": "store"}},
                ],
            }
        )
    )
    result = cli("replay", path)
    assert_one_line(result, 2, "steps[1] (fault down@store) cannot be replayed here: this")
    assert "no fault proxy on the store path" in result.stderr and result.stdout == ""


def write_history(path, coupons, acked):
    from harness.history import History, OpType

    h = History()
    create = h.invoke("c0", "create", {"campaign_id": "c", "stock": 2, "per_user_limit": 1})
    h.complete(create, OpType.OK)
    for code, user, key in acked:
        op = h.invoke("c0", "claim", {"campaign_id": "c", "user_id": user, "idempotency_key": key})
        h.complete(op, OpType.OK, {"coupon_code": code}, {"reason": "granted"})
    read = h.invoke("c0", "read", {"campaign_id": "c"})
    state = {
        "campaign_id": "c",
        "stock": 2,
        "per_user_limit": 1,
        "issued": len(coupons),
        "remaining": 2 - len(coupons),
    }
    coupon_json = [{"coupon_code": c, "user_id": u, "idempotency_key": k} for c, u, k in coupons]
    h.complete(read, OpType.OK, {"campaign": state, "coupons": coupon_json})
    h.write_jsonl(path)


def test_check_good_and_violating_histories(tmp_path):
    good = tmp_path / "good.jsonl"
    write_history(good, [("A", "u1", "k1")], [("A", "u1", "k1")])
    result = cli("check", good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no-lost-ack" in result.stdout
    strict = cli("check", "--strict", good)  # no drain: no-stock-leak is unknown
    assert strict.returncode == 1
    bad = tmp_path / "bad.jsonl"
    write_history(bad, [], [("A", "u1", "k1")])
    result = cli("check", "--json", bad)
    assert result.returncode == 1
    verdicts = {v["invariant"]: v["status"] for v in json.loads(result.stdout)["verdicts"]}
    assert verdicts["no-lost-ack"] == "fail"


def test_check_malformed_and_missing_history(tmp_path):
    good = tmp_path / "h.jsonl"
    write_history(good, [("A", "u1", "k1")], [("A", "u1", "k1")])
    truncated = tmp_path / "t.jsonl"
    text = good.read_text()
    truncated.write_text(text[: len(text) - 40])
    assert_one_line(cli("check", truncated), 2, "not a history entry")
    assert_one_line(cli("check", tmp_path / "missing.jsonl"), 2, "cannot read history")


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
@pytest.mark.parametrize(
    ("command", "option", "limit"),
    [
        ("run", "--client-timeout", "a positive number of seconds, at most 600"),
        ("run", "--budget", "a positive number of seconds, at most 604800"),
        ("surge", "--client-timeout", "a positive number of seconds, at most 600"),
        ("surge", "--duration", "a positive number of seconds, at most 86400"),
    ],
)
def test_float_options_are_finite_and_positive(command, option, limit, value, tmp_path):
    result = cli(command, f"{option}={value}", "--report", tmp_path / "out")
    assert_one_line(result, 2, f"argument {option}: must be {limit}, got {value!r}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["nan", "1e9"])
@pytest.mark.parametrize(
    ("command", "option"),
    [("run", "--minimize"), ("run", "--shrink"), ("surge", "--ramp")],
)
def test_zero_or_more_seconds_options(command, option, value):
    result = cli(command, f"{option}={value}")
    assert_one_line(result, 2, f"argument {option}: must be a number of seconds from 0 to 86400")


def test_run_admission_limit_must_be_positive():
    result = cli("run", "--admission-limit", "-1", "--budget", 1)
    assert_one_line(result, 2, "argument --admission-limit: must be a whole number from 1 to")
    assert "attacking" not in result.stderr


@pytest.mark.parametrize(("command", "port"), [("run", "99999"), ("run", "0"), ("surge", "99999")])
def test_target_url_port_out_of_range(command, port):
    result = cli(command, "--runtime", "external", "--target", f"http://127.0.0.1:{port}")
    assert_one_line(result, 2, "the port must be a number from 1 to 65535")


GOOD_SCENARIO = {
    "format": "coupon-chaos-scenario",
    "version": 1,
    "target": "reference-sqlite",
    "campaign": {"stock": 1, "per_user_limit": 1},
    "client_timeout": 1.0,
    "steps": [{"op": "claim", "user": "u1", "key": "k1"}],
}


def _nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\x00\x01\xfe\xff binary", "not UTF-8 text (byte 2"),
        (json.dumps(GOOD_SCENARIO).encode("utf-16"), "not UTF-8 text (byte 0"),
        (
            json.dumps({**GOOD_SCENARIO, "notes": "caf\u00e9"}, ensure_ascii=False).encode(
                "latin-1"
            ),
            "not UTF-8 text",
        ),
        (
            json.dumps({**GOOD_SCENARIO, "client_timeout": float("nan")}).encode(),
            "NaN is not a JSON number",
        ),
        (
            json.dumps({**GOOD_SCENARIO, "campaign": {"stock": float("inf")}}).encode(),
            "Infinity is not a JSON number",
        ),
        (
            json.dumps({**GOOD_SCENARIO, "seed": float("-inf")}).encode(),
            "-Infinity is not a JSON number",
        ),
        (
            json.dumps(GOOD_SCENARIO).replace('"steps"', f'"x": {_nested(40)}, "steps"').encode(),
            "nested deeper than 32 levels",
        ),
        (
            json.dumps(GOOD_SCENARIO)
            .replace('"steps"', f'"x": {_nested(200_000)}, "steps"')
            .encode(),
            "nested deeper than 32 levels",
        ),
    ],
    ids=["binary", "utf-16", "latin-1", "nan", "infinity", "-infinity", "deep", "very-deep"],
)
def test_scenario_bytes_that_are_not_a_scenario(tmp_path, content, needle):
    path = tmp_path / "s.json"
    path.write_bytes(content)
    assert_one_line(cli("replay", path), 2, needle)


def test_huge_scenario_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as out:
        out.truncate(64 * 1024 * 1024 * 1024)  # sparse: 64 GiB that take no disk
    result = cli("replay", path, timeout=30)
    assert_one_line(result, 2, "more than a scenario file may have (16777216 bytes)")


def _final_read(path):
    """The lines of a good history, and the index of its final read's completion."""
    lines = path.read_text().splitlines()
    read = next(i for i, line in enumerate(lines) if '"read"' in line and '"ok"' in line)
    return lines, read


@pytest.mark.parametrize(
    ("campaign", "coupons", "needle"),
    [
        ("x", [], "the final read's 'campaign' is a string, not an object"),
        ([1], [], "the final read's 'campaign' is an array, not an object"),
        (None, "abc", "the final read's 'coupons' must be a list of objects, got a string"),
        (None, {"a": 1}, "'coupons' must be a list of objects, got an object"),
        (None, [1, 2], "'coupons' must be a list of objects, got a list holding other values"),
    ],
)
def test_check_wrong_typed_final_read(tmp_path, campaign, coupons, needle):
    path = tmp_path / "h.jsonl"
    write_history(path, [("A", "u1", "k1")], [("A", "u1", "k1")])
    lines, read = _final_read(path)
    entry = json.loads(lines[read])
    if campaign is not None:
        entry["value"]["campaign"] = campaign
    entry["value"]["coupons"] = coupons
    lines[read] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    assert_one_line(cli("check", path), 2, needle)


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('"time": ', '"time": NaN, "was": ', "cannot convert float NaN to integer"),
        ('"time": ', '"time": Infinity, "was": ', "cannot convert float infinity to integer"),
        ('"time": ', '"time": -Infinity, "was": ', "cannot convert float infinity to integer"),
        ('"time": ', '"time": 1e400, "was": ', "cannot convert float infinity to integer"),
        ('"value": {', '"value": {"deep": ' + "[" * 100_000 + "]" * 100_000 + ", ", "nested"),
    ],
    ids=["nan-time", "inf-time", "-inf-time", "overflow-time", "deep"],
)
def test_check_history_with_non_numbers_or_deep_nesting(tmp_path, old, new, needle):
    """Times must be numbers; a NaN inside a value is read as the json module reads it
    (tests/history/test_fast_paths.py), the checkers never compute with one."""
    path = tmp_path / "h.jsonl"
    write_history(path, [("A", "u1", "k1")], [("A", "u1", "k1")])
    lines = path.read_text().splitlines()
    assert old in lines[0]
    lines[0] = lines[0].replace(old, new, 1)
    path.write_text("\n".join(lines) + "\n")
    result = cli("check", path)
    assert_one_line(result, 2, f"{path}:1: not a history entry")
    assert needle in result.stderr


ADAPTER_MODULES = {
    "broken_syntax": "def claim(:\n",
    "raises_on_import": 'raise RuntimeError("ADAPTER_CONFIG is not set")\n',
    "exits_on_import": "import sys\nsys.exit(3)\n",
    "odd_constructor": (
        "from harness.client import HttpClaimAdapter\n\n\n"
        "class Shop(HttpClaimAdapter):\n"
        "    def __init__(self, base_url, token):\n"
        "        super().__init__(base_url)\n"
    ),
}


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("./adapters/shop.py:Shop", "./adapters/shop.py is a path or a relative module"),
        (".shop:Shop", ".shop is a path or a relative module"),
        ("broken_syntax:Shop", "importing broken_syntax failed: SyntaxError: invalid syntax"),
        (
            "raises_on_import:Shop",
            "importing raises_on_import failed: RuntimeError: ADAPTER_CONFIG is not set",
        ),
        ("exits_on_import:Shop", "importing exits_on_import failed: SystemExit: 3"),
        (
            "odd_constructor:Shop",
            "Shop(base_url, token) cannot be called as Shop(base_url, timeout=SECONDS)",
        ),
    ],
)
def test_bad_adapter_is_one_line(tmp_path, spec, needle):
    for name, source in ADAPTER_MODULES.items():
        (tmp_path / f"{name}.py").write_text(source)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = cli("run", "--adapter", spec, "--budget", 1, "--report", tmp_path / "out", env=env)
    assert_one_line(result, 2, needle)
    assert f"--adapter {spec!r}" in result.stderr
    assert not (tmp_path / "out").exists()


def test_scenario_number_out_of_range(tmp_path):
    """1e400 parses to infinity in Python's json: refused like Infinity."""
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(GOOD_SCENARIO).replace('"client_timeout": 1.0', '"client_timeout": 1e400')
    )
    assert_one_line(cli("replay", path), 2, "1e400 is out of the range of a number")


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("-1", "must be a number of milliseconds from 0 to 3600000, got '-1'"),
        ("abc", "expected a number of milliseconds from 0 to 3600000, got 'abc'"),
        ("nan", "must be a number of milliseconds from 0 to 3600000, got 'nan'"),
        ("1e9", "must be a number of milliseconds from 0 to 3600000, got '1e9'"),
    ],
)
def test_check_clock_margin_is_a_non_negative_number(tmp_path, value, needle):
    good = tmp_path / "h.jsonl"
    write_history(good, [("A", "u1", "k1")], [("A", "u1", "k1")])
    result = cli("check", f"--clock-margin={value}", good)
    assert_one_line(result, 2, f"argument --clock-margin: {needle}")
