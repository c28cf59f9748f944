"""Merging the parts of a history recorded by several processes (harness.history.merge)."""

from __future__ import annotations

import time

from harness.checkers import check_history
from harness.history import History, OpType
from harness.history.merge import merge_ops


def test_parts_interleave_by_time_and_completions_follow_their_invokes() -> None:
    t0 = time.monotonic_ns()
    main, a, b = (History(t0_ns=t0) for _ in range(3))
    create = main.invoke("c0", "create", {"campaign_id": "x", "stock": 2, "per_user_limit": 1})
    main.complete(create, OpType.OK)
    ia = a.invoke("d0-a0", "claim", {"campaign_id": "x", "user_id": "u1", "idempotency_key": "k0"})
    ib = b.invoke("d1-a1", "claim", {"campaign_id": "x", "user_id": "u2", "idempotency_key": "k1"})
    b.complete(ib, OpType.OK, {"coupon_code": "B"}, {"reason": "granted"})
    a.complete(ia, OpType.OK, {"coupon_code": "A"}, {"reason": "granted"})
    merged = merge_ops([main.ops, a.ops, b.ops])
    assert [op.index for op in merged] == list(range(6))
    assert [op.time for op in merged] == sorted(op.time for op in merged)
    assert [(op.process, str(op.type)) for op in merged[2:]] == [
        ("d0-a0", "invoke"), ("d1-a1", "invoke"), ("d1-a1", "ok"), ("d0-a0", "ok"),
    ]  # fmt: skip
    for op in merged:
        if op.invoke_index is not None:
            invoke = merged[op.invoke_index]
            assert invoke.process == op.process and invoke.type is OpType.INVOKE
    history = History.of(merged)
    assert len(history) == 6
    assert check_history(history).summary["claims_by_type"] == {"ok": 2}


def test_a_part_kept_only_on_file_reads_back_the_same(tmp_path) -> None:
    path = tmp_path / "part.jsonl"
    part = History(path, retain=False, flush=False)
    op = part.invoke("d0-a0", "claim", {"user_id": "u"})
    part.complete(op, OpType.INFO, extra={"reason": "timeout"})
    part.close()
    assert part.ops == [] and len(part) == 2
    back = History.read_jsonl(path).ops
    assert [o.index for o in back] == [0, 1] and back[1].invoke_index == 0
