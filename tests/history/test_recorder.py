"""The history under concurrent clients, and its JSON Lines form."""

import json
import threading

import pytest

from harness.errors import UsageError
from harness.history import History, OpType


def test_many_threads_append_consistently(tmp_path):
    history = History(tmp_path / "live.jsonl", meta={"run": "t"})
    barrier = threading.Barrier(8)

    def client(n):
        barrier.wait()
        for i in range(200):
            op = history.invoke(f"c{n}", "claim", {"idempotency_key": f"k{n}-{i}"})
            history.complete(op, OpType.OK if i % 2 else OpType.INFO, {"coupon_code": f"{n}-{i}"})

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history.close()
    ops = history.ops
    assert len(ops) == 8 * 200 * 2
    assert [op.index for op in ops] == list(range(len(ops)))
    assert all(a.time <= b.time for a, b in zip(ops, ops[1:], strict=False))
    by_index = {op.index: op for op in ops}
    for op in ops:
        if op.type is not OpType.INVOKE:
            invoke = by_index[op.invoke_index]
            assert invoke.process == op.process
            assert invoke.time == op.invoke_time <= op.time
            assert op.value["idempotency_key"] == invoke.value["idempotency_key"]
    # the streamed file holds the same history
    streamed = History.read_jsonl(tmp_path / "live.jsonl")
    assert streamed.meta == {"run": "t"}
    assert [op.to_json() for op in streamed.ops] == [op.to_json() for op in ops]


def test_write_and_read_round_trip(tmp_path):
    history = History(meta={"campaign": {"stock": 1}})
    op = history.invoke("c0", "claim", {"user_id": "u"})
    history.complete(op, OpType.FAIL, extra={"reason": "sold_out"})
    history.nemesis("fault", {"kind": "latency"})
    path = tmp_path / "h.jsonl"
    history.write_jsonl(path)
    again = History.read_jsonl(path)
    assert [o.to_json() for o in again.ops] == [o.to_json() for o in history.ops]
    assert again.ops[1].extra == {"reason": "sold_out"}


def test_completion_cannot_be_an_invoke():
    history = History()
    op = history.invoke("c0", "claim", {})
    with pytest.raises(ValueError):
        history.complete(op, OpType.INVOKE)


@pytest.mark.parametrize("content", ["{not json", '{"index": 0}', "[1, 2]", '{"index": "x"}'])
def test_malformed_lines_name_the_line(tmp_path, content):
    path = tmp_path / "bad.jsonl"
    good = json.dumps(
        {"index": 0, "type": "invoke", "process": "c", "f": "claim", "value": {}, "time": 1}
    )
    path.write_text(good + "\n" + content + "\n")
    with pytest.raises(UsageError, match=r"bad.jsonl:2"):
        History.read_jsonl(path)


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot read history"):
        History.read_jsonl(tmp_path / "nope.jsonl")
