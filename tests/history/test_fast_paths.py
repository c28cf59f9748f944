"""The recorder's and the reader's fast ways of making operations give ordinary operations."""

import dataclasses
import json

import pytest

from harness.history import History, Op, OpType
from harness.history.record import make_op, op_from_parsed


def test_make_op_makes_an_ordinary_frozen_op():
    op = make_op(3, OpType.OK, "c1", "claim", {"a": 1}, 7, 1, 2, {"reason": "granted"})
    assert type(op) is Op
    assert op == Op(3, OpType.OK, "c1", "claim", {"a": 1}, 7, 1, 2, {"reason": "granted"})
    assert dataclasses.replace(op, index=4).index == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.index = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "data",
    [
        {"index": 0, "type": "invoke", "process": "c", "f": "claim", "value": {}, "time": 1},
        {
            "index": 2,
            "type": "info",
            "process": "c",
            "f": "claim",
            "value": {"k": 1},
            "time": 3,
            "invoke_index": 0,
            "invoke_time": 1,
            "extra": {"reason": "timeout"},
        },
        # odd but accepted by from_json: converted the same way
        {"index": "4", "type": "ok", "process": 5, "f": "read", "time": 2.0, "value": None},
        {"index": True, "type": "fail", "process": "c", "f": "claim", "value": [], "time": 1},
    ],
)
def test_op_from_parsed_agrees_with_from_json(data):
    assert op_from_parsed(dict(data)) == Op.from_json(dict(data))


def test_reader_takes_what_the_standard_parser_takes(tmp_path):
    """Lines the fast parser refuses (NaN, huge ints) are read as the json module reads them;
    blank and whitespace-only lines are skipped."""
    history = History()
    op = history.invoke("c0", "claim", {"n": float("nan"), "big": 10**30, "s": "\u2028é"})
    history.complete(op, OpType.INFO, extra={"reason": "timeout"})
    path = tmp_path / "h.jsonl"
    history.write_jsonl(path)
    path.write_text(path.read_text() + "\n   \n\u00a0\n", encoding="utf-8")
    again = History.read_jsonl(path)
    assert json.dumps([o.to_json() for o in again.ops]) == json.dumps(
        [o.to_json() for o in history.ops]
    )
    assert again.ops[0].value["big"] == 10**30
