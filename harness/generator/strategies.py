"""Hypothesis strategies for campaigns, claims, bursts and faults.

Values are kept small on purpose: small stock and few users make sold-out, per-user limits and
races common, which is where coupon services break; faults are short enough that an example stays
around a second, so a budget of seconds explores dozens of examples.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness.faults.model import NetworkFault, fault_from_json
from harness.faults.process import ProcessAction

USERS = tuple(f"u{i}" for i in range(8))

stocks = st.one_of(st.integers(0, 3), st.integers(1, 12))
per_user_limits = st.sampled_from([1, 1, 1, 2, 3])
users = st.sampled_from(USERS)
burst_sizes = st.one_of(st.integers(2, 6), st.integers(2, 24))
waits_ms = st.sampled_from([50, 200, 700])

PROCESS_DRAWS: tuple[ProcessAction, ...] = (
    ProcessAction.CRASH,
    ProcessAction.CRASH,
    ProcessAction.KILL,
    ProcessAction.START,
    ProcessAction.RESTART,
    ProcessAction.PAUSE,
    ProcessAction.RESUME,
)
"""What the process-fault rule samples from, in this order (a crash twice as likely as each of
the others): the actions that need no container."""
CONTAINER_DRAWS: tuple[ProcessAction, ...] = (
    ProcessAction.PARTITION,
    ProcessAction.RECONNECT,
    ProcessAction.STOP,
)
"""Sampled only where the target runs in a container (``ProcessAction.needs_container``): a
partition and its undoing, and a graceful stop (``docker stop``: TERM, then KILL after the grace
period). The order and the weights are the generator's; what each action does is the
vocabulary's."""


def network_faults(paths: list[str], *, http: bool = False) -> st.SearchStrategy[NetworkFault]:
    """A network fault on one of ``paths``. Drawn as the JSON ``harness.faults`` reads, then
    parsed, so what is drawn (and how it shrinks) is what it always was. ``http``: the fault
    proxy has the embedded proxy's HTTP toxics, so they are drawn too (on the client path)."""
    return network_fault_json(paths, http=http).map(fault_from_json)


HTTP_ERROR_ANSWERS: tuple[tuple[int, str], ...] = (
    (503, ""),
    (503, ""),
    (429, '{"error": "overloaded"}'),
    (503, '{"error": "overloaded"}'),
)
"""What http_error answers with: mostly a bare 503 (indeterminate to the checkers: a load
balancer that gave up), sometimes a definite refusal (a rate limiter's 429 or 503 overloaded,
true since the proxy never forwarded the claim)."""


def http_fault_json() -> list[st.SearchStrategy[dict[str, Any]]]:
    """The HTTP faults on the client path (the only path that speaks HTTP), as JSON, one
    strategy per kind. Each is one a coupon service must survive: a refused claim, a lost
    acknowledgement (the retry with the same key must not issue twice), a claim answered late."""
    stream = st.sampled_from(["downstream", "upstream"])
    toxicity = st.sampled_from([1.0, 0.5, 0.5])
    base = {"path": st.just("client"), "stream": stream, "toxicity": toxicity}
    return [
        st.fixed_dictionaries(
            {"kind": st.just("http_error"), **base, "answer": st.sampled_from(HTTP_ERROR_ANSWERS)}
        ).map(_answer_fields),
        st.fixed_dictionaries(
            {"kind": st.just("http_drop_response"), **base, "status": st.sampled_from([0, 0, 502])}
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("http_delay"),
                **base,
                "delay_ms": st.sampled_from([100, 400, 1500]),  # 1500 > client timeout
            }
        ),
    ]


def _answer_fields(fault: dict[str, Any]) -> dict[str, Any]:
    status, body = fault.pop("answer")
    return {**fault, "status": status, "body": body}


def network_fault_json(
    paths: list[str], *, http: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """A network fault as the JSON harness.faults reads (``fault_from_json``), every kind as
    likely as another; the HTTP kinds only with ``http`` and a client path (without them the
    strategy is exactly what it was before they existed, so seeded runs draw what they drew)."""
    path = st.sampled_from(sorted(paths))
    stream = st.sampled_from(["downstream", "upstream"])
    toxicity = st.sampled_from([1.0, 1.0, 1.0, 0.5])

    def toxic(kind: str, **attrs: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(
            {
                "kind": st.just(kind),
                "path": path,
                "stream": stream,
                "toxicity": toxicity,
                **attrs,
            }
        )

    return st.one_of(
        toxic(
            "latency",
            latency_ms=st.sampled_from([20, 100, 300, 800, 1500]),  # 1500 > client timeout
            jitter_ms=st.sampled_from([0, 0, 50]),
        ).map(_jitter_within_latency),
        toxic("timeout", timeout_ms=st.sampled_from([0, 200, 1000])),
        toxic("reset_peer", timeout_ms=st.sampled_from([0, 50, 300])),
        toxic(
            "slicer",
            average_size=st.sampled_from([1, 8, 64]),
            size_variation=st.sampled_from([0, 4]),
            delay_us=st.sampled_from([0, 500, 5000]),
        ).map(_variation_within_average),
        toxic("bandwidth", rate_kbps=st.sampled_from([1, 8, 100])),
        toxic("limit_data", bytes=st.sampled_from([0, 64, 300])),
        toxic("slow_close", delay_ms=st.sampled_from([100, 1000])),
        st.fixed_dictionaries({"kind": st.just("down"), "path": path}),
        *(http_fault_json() if http and "client" in paths else []),
    )


STORE_TROUBLE_ARRIVALS = st.integers(2, 5)
"""How many users arrive, one after another, while the store is in trouble."""


def store_trouble() -> st.SearchStrategy[NetworkFault]:
    """The store slow past any sane deadline, silent, or gone: the trouble a service's degrade
    path (a circuit breaker's fallback, a default answer on timeout) exists for."""
    stream = st.sampled_from(["downstream", "upstream"])
    base = {"path": st.just("store"), "stream": stream}
    return st.one_of(
        st.fixed_dictionaries(
            {"kind": st.just("latency"), **base, "latency_ms": st.sampled_from([300, 800, 1500])}
        ),
        st.fixed_dictionaries(
            {"kind": st.just("timeout"), **base, "timeout_ms": st.sampled_from([0, 1000])}
        ),
        st.fixed_dictionaries({"kind": st.just("down"), "path": st.just("store")}),
    ).map(fault_from_json)


def _jitter_within_latency(fault: dict[str, Any]) -> dict[str, Any]:
    """A jitter above the latency draws negative delays in Toxiproxy (harness.faults.constraints):
    cap it at the latency, so 20 ms +- 50 becomes 20 ms +- 20."""
    return {**fault, "jitter_ms": min(fault["jitter_ms"], fault["latency_ms"])}


def _variation_within_average(fault: dict[str, Any]) -> dict[str, Any]:
    """Toxiproxy's slicer panics when size_variation exceeds average_size: cap it there, so a
    one-byte slicer varies by at most one byte."""
    return {**fault, "size_variation": min(fault["size_variation"], fault["average_size"])}
