"""A Locust worker's part of the history (harness.surge.locust.recorder): numbered within the
part, completions naming their invoke, monotonic and wall-clock times, handed out in batches
that merge_ops turns into one history with the harness's own ops."""

from __future__ import annotations

import itertools

from harness.history import History, Op, OpType
from harness.history.merge import merge_ops
from harness.surge.locust.protocol import LocustJob, WorkerFinal
from harness.surge.locust.recorder import PartRecorder


def test_batches_number_within_the_part_and_carry_both_clocks() -> None:
    ticks = itertools.count(1000, 10)
    recorder = PartRecorder(1000, clock=lambda: next(ticks), wall=lambda: 7)
    a = recorder.invoke("w1-c0", "claim", {"user_id": "u1"})
    b = recorder.invoke("w1-c1", "claim", {"user_id": "u2"})
    recorder.complete(b, OpType.OK, {"coupon_code": "X"}, {"reason": "ok"})
    first = recorder.take()
    assert [op["index"] for op in first] == [0, 1, 2] and recorder.pending == 0
    assert first[2]["invoke_index"] == 1 and first[2]["value"] == {
        "user_id": "u2",
        "coupon_code": "X",
    }
    assert [op["time"] for op in first] == [0, 10, 20]
    assert all(op["extra"]["wall_ns"] == 7 for op in first)
    recorder.complete(a, OpType.INFO, {}, {"reason": "timeout"})
    second = recorder.take()
    assert second[0]["index"] == 3 and second[0]["invoke_index"] == 0
    assert recorder.recorded == 4


def test_two_workers_parts_merge_with_the_harness_ops() -> None:
    main = History(t0_ns=0)
    parts = []
    for w, times in ((1, [5, 30]), (2, [10, 20])):
        clock = iter(times)
        recorder = PartRecorder(0, clock=lambda clock=clock: next(clock))
        invoke = recorder.invoke(f"w{w}-c0", "claim", {})
        recorder.complete(invoke, OpType.OK, {}, {})
        parts.append([Op.from_json(op) for op in recorder.take()])
    merged = merge_ops([main.ops, *parts])
    assert [(op.process, op.time) for op in merged] == [
        ("w1-c0", 5), ("w2-c0", 10), ("w2-c0", 20), ("w1-c0", 30),
    ]  # fmt: skip
    assert merged[3].invoke_index == 0 and merged[2].invoke_index == 1


def test_job_and_final_round_trip() -> None:
    job = LocustJob(
        campaign_id="c", url="http://127.0.0.1:1", clients=4, users=10, per_user_limit=1,
        ramp=0.0, retry_policy="none", max_retries=4, backoff=0.05, backoff_cap=1.0, seed=1,
        client_timeout=2.0, t0_ns=5, workers=2,
    )  # fmt: skip
    assert LocustJob.from_json(job.for_worker(2).to_json()) == job.for_worker(2)
    final = WorkerFinal(worker=1, ops=4, attempted=2, indeterminate=0, stops={"sold_out": 2})
    assert WorkerFinal.from_json(final.to_json()) == final
