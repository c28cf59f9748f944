"""An embedded, Toxiproxy-compatible TCP fault proxy with seeded randomness.

It speaks Toxiproxy 2.x's HTTP API (so toxiproxy-python and other clients drive it unchanged)
and implements every Toxiproxy toxic. Unlike Toxiproxy, a seed makes jitter, toxicity and slice
sizes replayable: each connection's draws come from its own generator, derived from the seed,
the proxy, the toxic, the connection's accept ordinal and the direction.

Run it in-process (``EmbeddedFaultProxy``), on your own loop (``FaultProxyServer``), as a child
process (``FaultProxyProcess``) or standalone (``coupon-chaos proxy serve``).
"""

from harness.faultproxy.api import VERSION
from harness.faultproxy.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    EmbeddedFaultProxy,
    FaultProxyProcess,
    FaultProxyServer,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "VERSION",
    "EmbeddedFaultProxy",
    "FaultProxyProcess",
    "FaultProxyServer",
]
