"""The recorder's and the reader's fast ways of making operations give ordinary operations."""

import json
import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.history import History, Op, OpType
from harness.history.record import op_from_parsed
from harness.history.recorder import read_lines, read_well_formed


def test_an_op_made_by_position_is_an_ordinary_frozen_op():
    """The recorder and the line reader build ops positionally, the fastest way."""
    op = Op(3, OpType.OK, "c1", "claim", {"a": 1}, 7, 1, 2, {"reason": "granted"})
    assert type(op) is Op
    assert op == Op(
        index=3,
        type=OpType.OK,
        process="c1",
        f="claim",
        value={"a": 1},
        time=7,
        invoke_index=1,
        invoke_time=2,
        extra={"reason": "granted"},
    )
    assert msgspec.structs.replace(op, index=4).index == 4
    with pytest.raises(AttributeError):
        op.index = 5  # type: ignore[misc]


def test_each_op_gets_its_own_extra():
    a = Op(0, OpType.INVOKE, "c", "claim", {}, 1)
    b = Op(1, OpType.INVOKE, "c", "claim", {}, 2)
    a.extra["x"] = 1
    assert b.extra == {}


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


def _mixed_history(seed: int, n: int) -> History:
    rng = random.Random(seed)
    history = History(meta={"target": "t", "seed": seed})
    open_ops = []
    for i in range(n):
        if open_ops and rng.random() < 0.5:
            op = open_ops.pop(rng.randrange(len(open_ops)))
            kind = rng.choice([OpType.OK, OpType.FAIL, OpType.INFO])
            value = dict(op.value, coupon_code=f"C{i}") if kind is OpType.OK else None
            extra = {"reason": rng.choice(["granted", "sold_out", "timeout"])}
            history.complete(op, kind, value=value, extra=extra if rng.random() < 0.7 else None)
        else:
            process = rng.choice(["c0", "c1", "nemesis"])
            f = "fault" if process == "nemesis" else "claim"
            value = {"user_id": f"u{rng.randrange(9)}", "n": rng.random(), "s": 'é\u2028"'}
            open_ops.append(history.invoke(process, f, value))
    return history


@pytest.mark.parametrize("seed", range(5))
def test_whole_file_reader_equals_line_reader(tmp_path, seed):
    history = _mixed_history(seed, 400)
    path = tmp_path / "h.jsonl"
    history.write_jsonl(path)
    content = path.read_bytes()
    fast = read_well_formed(content)
    assert fast is not None  # the file the recorder writes takes the fast path
    slow = read_lines(content, path)
    assert fast == slow
    assert fast[1] == History.read_jsonl(path).ops == history.ops
    assert fast[0] == [history.meta]


@pytest.mark.parametrize(
    "tail",
    [
        '{"meta": {"late": true}}\n',  # a meta line after the ops
        '{"index": "9", "type": "ok", "process": "c", "f": "claim", "value": {}, "time": 1}\n',
        '{"index": 9, "type": "ok", "process": "c", "f": "claim", "value": null, "time": 1}\n',
        '{"index": 9, "type": "ok", "process": "c", "f": "claim", "value": {}, "time": 1.5}\n',
        '{"index": 9, "type": "ok", "process": "c", "f": "claim", "value": {"x": NaN}, '
        '"time": 1}\n',
    ],
)
def test_looser_files_fall_back_to_the_line_reader(tmp_path, tail):
    history = _mixed_history(7, 50)
    path = tmp_path / "h.jsonl"
    history.write_jsonl(path)
    path.write_text(path.read_text() + tail, encoding="utf-8")
    content = path.read_bytes()
    assert read_well_formed(content) is None
    assert History.read_jsonl(path).ops == read_lines(content, path)[1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "index": st.integers(min_value=0, max_value=2**40),
                "type": st.sampled_from([t.value for t in OpType]),
                "process": st.text(max_size=5),
                "f": st.sampled_from(["claim", "read", "fault"]),
                "value": st.dictionaries(
                    st.text(max_size=4), st.integers() | st.text(max_size=4) | st.none()
                ),
                "time": st.integers(min_value=0, max_value=2**62),
            },
            optional={
                "invoke_index": st.none() | st.integers(min_value=0, max_value=99),
                "invoke_time": st.none() | st.integers(min_value=0, max_value=99),
                "extra": st.dictionaries(st.text(max_size=4), st.text(max_size=4)),
            },
        ),
        max_size=20,
    )
)
def test_whole_file_reader_agrees_on_any_op_lines(entries):
    """Well-typed lines take the fast path and decode to exactly what the line reader makes."""
    content = "".join(json.dumps(e) + "\n" for e in entries).encode()
    fast = read_well_formed(content)
    expected = [op_from_parsed(json.loads(json.dumps(e))) for e in entries]
    assert fast is not None
    assert fast[1] == expected
