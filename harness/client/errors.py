"""Errors from the non-claim calls of an adapter (setup and final reads)."""

from __future__ import annotations

from harness.errors import InfrastructureError


class ServiceError(InfrastructureError):
    """The service could not be reached, or answered a setup/read call outside the protocol."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CampaignExists(ServiceError):
    """``POST /campaigns`` answered 409: a campaign with that id is already there."""
