"""Scenario files: the durable, replayable record of a failing (or interesting) chaos example.

Hypothesis's own replay blobs are tied to its version; a scenario lists explicit steps instead, so
it replays across versions and can be read, edited and kept in a regression folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from harness import __version__
from harness.atomic import write_atomic
from harness.errors import UsageError
from harness.faults.model import MAX_REPLICAS
from harness.scenario.steps import Step, step_from_json
from harness.strict_json import loads_strict

FORMAT = "coupon-chaos-scenario"
VERSION = 1
MAX_BYTES = 16 * 1024 * 1024
"""The largest scenario file read (16 MiB; a saved one is a few KiB, docs/scenarios.md)."""
MAX_DEPTH = 32
"""The deepest nesting of arrays and objects in a scenario file (a saved one has 5 levels)."""


@dataclass
class Scenario:
    target: str
    """A bundled target name, or a base URL (external runtime)."""
    stock: int
    per_user_limit: int
    steps: list[Step]
    seed: int | None = None
    client_timeout: float = 1.0
    expect: list[str] = field(default_factory=list)
    """Invariants this scenario is known to violate (empty: it must pass)."""
    violation: dict[str, Any] | None = None
    """What the run that saved it found: invariants, details, evidence."""
    notes: str = ""
    replicas: int = 1
    """Replicas of the target behind a load balancer when it was saved: a replay builds the
    same topology (steps may name a replica)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "harness_version": __version__,
            "target": self.target,
            "campaign": {"stock": self.stock, "per_user_limit": self.per_user_limit},
            "client_timeout": self.client_timeout,
            "replicas": self.replicas,
            "seed": self.seed,
            "expect": list(self.expect),
            "steps": [s.to_json() for s in self.steps],
        }
        if self.violation is not None:
            out["violation"] = self.violation
        if self.notes:
            out["notes"] = self.notes
        return out

    @classmethod
    def from_json(cls, data: Any, source: str = "scenario") -> Scenario:
        if not isinstance(data, dict):
            raise UsageError(f"{source}: not a scenario (expected a JSON object)")
        if data.get("format") != FORMAT:
            raise UsageError(f"{source}: not a scenario file (format is not {FORMAT!r})")
        version = data.get("version")
        if version != VERSION:
            raise UsageError(
                f"{source}: scenario format version {version!r} is not supported (this "
                f"coupon-chaos reads version {VERSION})"
            )
        target = data.get("target")
        if not isinstance(target, str) or not target:
            raise UsageError(f"{source}: 'target' must be a target name or URL")
        campaign = data.get("campaign")
        if not isinstance(campaign, dict):
            raise UsageError(f"{source}: 'campaign' must be an object with stock, per_user_limit")
        stock = campaign.get("stock")
        limit = campaign.get("per_user_limit", 1)
        if not _nonneg_int(stock):
            raise UsageError(f"{source}: campaign.stock must be a non-negative integer")
        if not _nonneg_int(limit) or limit < 1:
            raise UsageError(f"{source}: campaign.per_user_limit must be an integer >= 1")
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list):
            raise UsageError(f"{source}: 'steps' must be a list")
        steps = [step_from_json(s, f"{source}: steps[{i}]") for i, s in enumerate(raw_steps)]
        timeout = data.get("client_timeout", 1.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise UsageError(f"{source}: client_timeout must be a positive number")
        seed = data.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise UsageError(f"{source}: seed must be an integer or null")
        replicas = data.get("replicas", 1)
        if not _nonneg_int(replicas) or not 1 <= replicas <= MAX_REPLICAS:
            raise UsageError(f"{source}: replicas must be a whole number from 1 to {MAX_REPLICAS}")
        expect = data.get("expect", [])
        if not isinstance(expect, list) or not all(isinstance(e, str) for e in expect):
            raise UsageError(f"{source}: 'expect' must be a list of invariant names")
        return cls(
            target=target,
            stock=stock,
            per_user_limit=limit,
            steps=steps,
            seed=seed,
            client_timeout=float(timeout),
            expect=list(expect),
            violation=data.get("violation"),
            notes=str(data.get("notes", "")),
            replicas=replicas,
        )


def _nonneg_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; every problem is one :class:`UsageError` line.

    The size is checked before the file is read (a scenario is small; a huge file is a mistake,
    not something to load into memory), then the bytes must be UTF-8 and the JSON strict: no
    NaN/Infinity and at most :data:`MAX_DEPTH` levels of nesting."""
    try:
        size = path.stat().st_size
        if size <= MAX_BYTES:
            with path.open("rb") as source:
                raw = source.read(MAX_BYTES + 1)  # a file that grows meanwhile stays bounded
            size = len(raw)
    except FileNotFoundError:
        raise UsageError(f"scenario file {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read scenario {path}: {exc.strerror or exc}") from None
    if size > MAX_BYTES:
        raise UsageError(
            f"{path}: {size} bytes is more than a scenario file may have ({MAX_BYTES} bytes)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not UTF-8 text (byte {exc.start} is {raw[exc.start : exc.start + 1]!r}); "
            "save it as UTF-8"
        ) from None
    try:
        data = loads_strict(text, MAX_DEPTH)
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    return Scenario.from_json(data, str(path))


def save_scenario(scenario: Scenario, path: Path) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a scenario."""
    write_atomic(path, json.dumps(scenario.to_json(), indent=2) + "\n")
    return path
