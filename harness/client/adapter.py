"""The adapter contract: the one class a user writes when their service speaks another API.

The harness never talks HTTP itself; it calls a :class:`ClaimAdapter`. The bundled
:class:`~harness.client.http.HttpClaimAdapter` speaks claim protocol v1 (docs/protocol.md).
A service
with other paths, field names or another transport subclasses :class:`ClaimAdapter` (or the HTTP
adapter, overriding only what differs) and passes it with ``--adapter module:Class``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from harness.client.models import (
    CampaignSpec,
    CampaignState,
    ClaimOutcome,
    ClaimRequest,
    Coupon,
    OutcomeType,
    Reason,
)


class ClaimAdapter(ABC):
    """How the harness talks to one coupon service.

    ``claim`` must never raise for a network or service failure: it classifies every answer into a
    :class:`ClaimOutcome` (ok / fail / info), because the checkers depend on that honesty. The other
    calls are used for setup and for the final read, where a failure raises
    :class:`~harness.client.errors.ServiceError`.

    One adapter instance belongs to one logical client (one Jepsen process); :meth:`clone` makes an
    independent one (its own connections) for a concurrent client.
    """

    base_url: str

    @abstractmethod
    def create_campaign(self, spec: CampaignSpec) -> CampaignState: ...

    @abstractmethod
    def claim(self, request: ClaimRequest) -> ClaimOutcome: ...

    @abstractmethod
    def get_campaign(self, campaign_id: str) -> CampaignState: ...

    @abstractmethod
    def list_coupons(self, campaign_id: str) -> list[Coupon]: ...

    @abstractmethod
    def health(self) -> bool:
        """True once the service can serve claims; never raises."""

    @abstractmethod
    def clone(self) -> ClaimAdapter:
        """A new adapter to the same service with its own connections."""

    def warm(self) -> None:  # noqa: B027 - optional hook
        """Open a connection ahead of a burst so its claims leave together. Never raises."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> ClaimAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def claim_or_indeterminate(adapter: ClaimAdapter, request: ClaimRequest) -> ClaimOutcome:
    """``adapter.claim(request)``, with any exception it raises recorded as an indeterminate
    (``info``) outcome instead of ending the run.

    Why: the contract says ``claim`` never raises, but a user's adapter may (a bug, an exception
    of its own transport). Such a claim may have reached the service, so it is neither ok nor
    fail; the checkers then treat it as any unknown answer. ``run`` (through RecordedClient) and
    ``surge`` both call this, so an adapter behaves the same in either.
    """
    try:
        return adapter.claim(request)
    except Exception as exc:  # noqa: BLE001 - the contract says never raise; unknown outcome
        return ClaimOutcome(OutcomeType.INFO, Reason.RESET, detail=f"adapter raised {exc!r}"[:300])
