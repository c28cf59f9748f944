"""Network faults for the harness: fault records and one API to apply them on any
Toxiproxy-compatible server (the embedded one by default).

    with open_fault_proxy(None, seed=7) as faults:
        store = faults.create_proxy("store", upstream="127.0.0.1:6379")
        faults.apply(LatencyFault(path="store", latency_ms=100))
        ...
        faults.heal_all()
"""

from harness.faults.client import FaultProxy, ProxyEndpoint
from harness.faults.model import (
    FAULT_KINDS,
    BandwidthFault,
    DownFault,
    HttpDelayFault,
    HttpDropResponseFault,
    HttpErrorFault,
    LatencyFault,
    LimitDataFault,
    NetworkFault,
    ResetPeerFault,
    SlicerFault,
    SlowCloseFault,
    TimeoutFault,
    ToxicFault,
    fault_from_json,
)
from harness.faults.session import ENV_VAR, open_fault_proxy, resolve_fault_proxy_url

__all__ = [
    "ENV_VAR",
    "FAULT_KINDS",
    "BandwidthFault",
    "DownFault",
    "FaultProxy",
    "HttpDelayFault",
    "HttpDropResponseFault",
    "HttpErrorFault",
    "LatencyFault",
    "LimitDataFault",
    "NetworkFault",
    "ProxyEndpoint",
    "ResetPeerFault",
    "SlicerFault",
    "SlowCloseFault",
    "TimeoutFault",
    "ToxicFault",
    "fault_from_json",
    "open_fault_proxy",
    "resolve_fault_proxy_url",
]
