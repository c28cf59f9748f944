"""The one function surge metrics and the HTML report take fault windows from."""

from __future__ import annotations

from typing import Any

from harness.faults.windows import FaultWindow, FaultWindows, fault_windows
from harness.history import NEMESIS, Op, OpType

S = 1_000_000_000


class Nemesis:
    """Nemesis events as the nemeses record them: an invoke and its completion 1 ns later."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def __call__(self, f: str, value: dict[str, Any], t: int, type: OpType = OpType.INFO) -> None:
        n = len(self.ops)
        self.ops.append(Op(n, OpType.INVOKE, NEMESIS, f, value, t))
        self.ops.append(Op(n + 1, type, NEMESIS, f, value, t + 1, n, t))


def spans(windows: list[FaultWindow]) -> list[tuple[str, str, int, int | None]]:
    return [(w.lane, w.label, w.start // S, None if w.end is None else w.end // S) for w in windows]


def test_network_faults_close_on_the_heal_of_their_path_or_all():
    ev = Nemesis()
    ev("fault", {"kind": "latency", "path": "client"}, 1 * S)
    ev("fault", {"kind": "reset_peer", "path": "store"}, 2 * S)
    ev("heal", {"path": "client"}, 3 * S)
    ev("fault", {"kind": "down", "path": "client"}, 4 * S)
    ev("heal", {"path": "all"}, 5 * S)
    assert spans(fault_windows(ev.ops)) == [
        ("client network", "latency@client", 1, 3),
        ("store network", "reset_peer@store", 2, 5),
        ("client network", "down@client", 4, 5),
    ]


def test_a_fault_the_nemesis_could_not_apply_opens_no_window():
    ev = Nemesis()
    ev("fault", {"kind": "down", "path": "store"}, 1 * S, OpType.FAIL)
    ev("process", {"action": "kill"}, 2 * S, OpType.FAIL)
    assert fault_windows(ev.ops) == []


def test_each_lasting_action_is_closed_by_its_healer_and_instants_are_instants():
    ev = Nemesis()
    ev("process", {"action": "kill"}, 1 * S)
    ev("process", {"action": "start"}, 2 * S)
    ev("process", {"action": "crash"}, 3 * S)
    ev("process", {"action": "pause"}, 4 * S)
    ev("process", {"action": "resume"}, 5 * S)
    ev("process", {"action": "partition"}, 6 * S)
    ev("process", {"action": "stop"}, 7 * S)
    ev("process", {"action": "start"}, 8 * S)  # the partition is still in force
    ev("process", {"action": "reconnect"}, 9 * S)
    ev("process", {"action": "restart"}, 10 * S)
    windows = fault_windows(ev.ops)
    assert spans(windows) == [
        ("process", "kill", 1, 2),
        ("process", "crash", 3, 3),
        ("process", "pause", 4, 5),
        ("process", "partition", 6, 9),
        ("process", "stop", 7, 8),
        ("process", "restart", 10, 10),
    ]
    assert [w.what for w in windows if w.instant] == ["crash", "restart"]


def test_a_kill_of_a_paused_target_ends_the_pause_as_the_nemesis_thaws_it():
    ev = Nemesis()
    ev("process", {"action": "pause"}, 1 * S)
    ev("process", {"action": "kill"}, 2 * S)
    ev("process", {"action": "kill"}, 3 * S)  # killed again: still one window
    ev("process", {"action": "crash"}, 4 * S)  # a crash of a downed target starts it
    assert spans(fault_windows(ev.ops)) == [
        ("process", "pause", 1, 2),
        ("process", "kill", 2, 4),
        ("process", "crash", 4, 4),
    ]


def test_what_is_never_healed_lasts_to_the_end_given_or_the_last_event():
    ev = Nemesis()
    ev("process", {"action": "pause"}, 1 * S)
    ev("fault", {"kind": "latency", "path": "store"}, 2 * S)
    assert spans(fault_windows(ev.ops, end=7 * S)) == [
        ("process", "pause", 1, 7),
        ("store network", "latency@store", 2, 7),
    ]
    assert fault_windows(ev.ops)[0].end == 2 * S + 1  # the last completion


def test_the_fold_takes_events_one_at_a_time_as_a_streaming_reader_does():
    folded = FaultWindows()
    folded.observe("process", {"action": "kill"}, 5)
    folded.observe("process", {"action": "no-such-action"}, 6)  # ignored, not fatal
    folded.observe("heal", {"path": "all"}, 7)  # a heal does not start a process
    assert [(w.what, w.start, w.end) for w in folded.finish(9)] == [("kill", 5, 9)]


def test_a_clusters_faults_keep_the_replica_they_hit():
    ev = Nemesis()
    ev("fault", {"kind": "latency", "path": "store", "replica": 1}, 1 * S)
    ev("process", {"action": "pause", "replica": 0}, 2 * S)
    ev("process", {"action": "pause", "replica": 1}, 3 * S)  # another replica: its own window
    ev("process", {"action": "resume", "replica": 0}, 4 * S)  # ends replica 0's pause only
    ev("process", {"action": "restart", "replica": 2}, 5 * S)
    ev("heal", {"path": "store"}, 6 * S)
    ev("process", {"action": "resume"}, 7 * S)  # no replica: every replica
    assert spans(fault_windows(ev.ops)) == [
        ("store network", "latency@store r1", 1, 6),
        ("process", "pause r0", 2, 4),
        ("process", "pause r1", 3, 7),
        ("process", "restart r2", 5, 5),
    ]
