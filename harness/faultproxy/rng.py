"""Seeded randomness that does not depend on scheduling.

Toxiproxy draws jitter, toxicity and slice sizes from one global generator (and ignores its
``-seed`` flag since v2.9), so which connection got which delay cannot be replayed. Here every
(proxy, toxic, connection ordinal, direction, purpose) gets its own generator derived from the
server seed by hashing, so the draws a connection sees depend only on the seed and on what that
connection did, never on how tasks interleaved.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeedSource:
    """The server's seed; ``SeedSource.create(None)`` picks a random one (not replayable)."""

    seed: int
    explicit: bool

    @classmethod
    def create(cls, seed: int | None) -> SeedSource:
        if seed is None:
            return cls(secrets.randbits(63), explicit=False)
        return cls(int(seed), explicit=True)

    def rng(self, *parts: object) -> random.Random:
        """An independent generator for ``parts`` (e.g. proxy, toxic, ordinal, direction)."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(str(self.seed).encode())
        for part in parts:
            digest.update(b"\x1f")
            digest.update(str(part).encode())
        return random.Random(int.from_bytes(digest.digest(), "big"))
