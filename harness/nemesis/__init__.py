"""The nemeses: they apply and heal faults and record each one in the history. One job each —
network faults through the fault proxy (:class:`NetworkNemesis`), process faults through a
runtime's target handle (:class:`ProcessNemesis`), partitions of a container
(:class:`PartitionNemesis`) — composed Jepsen-style into one (:func:`compose`)."""

from harness.nemesis.base import FaultDriver, FaultStep, Nemesis, PartitionDriver, ProcessDriver
from harness.nemesis.compose import ComposedNemesis, check_steps, compose, describe, why_unhandled
from harness.nemesis.network import NetworkNemesis
from harness.nemesis.partition import PARTITION_ACTIONS, PartitionNemesis, can_partition
from harness.nemesis.process import PROCESS_ACTIONS, ProcessNemesis

__all__ = [
    "PARTITION_ACTIONS",
    "PROCESS_ACTIONS",
    "ComposedNemesis",
    "FaultDriver",
    "FaultStep",
    "Nemesis",
    "NetworkNemesis",
    "PartitionDriver",
    "PartitionNemesis",
    "ProcessDriver",
    "ProcessNemesis",
    "can_partition",
    "check_steps",
    "compose",
    "describe",
    "why_unhandled",
]
