"""A real fault proxy (the embedded one) with a client-path proxy, for the nemesis tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.faultproxy import EmbeddedFaultProxy
from harness.faults import FaultProxy


@pytest.fixture
def faults() -> Iterator[FaultProxy]:
    """A FaultProxy with a ``client`` proxy in front of a port nothing needs to listen on:
    toxics are put in place and removed without any connection through them."""
    with EmbeddedFaultProxy(seed=1) as api, FaultProxy(api) as proxy:
        proxy.create_proxy("client", upstream="127.0.0.1:9")
        yield proxy
