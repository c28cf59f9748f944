"""Claim protocol v1 over HTTP/JSON (docs/protocol.md), classified the way the checkers need.

The classification is the contract the whole harness rests on:

* definite failures (``fail``): the service asserted nothing was issued -- 400, 404, 409, 410, 429,
  and 503 with ``{"error": "overloaded"}``; also a connection that was never established.
* indeterminate (``info``): timeouts, resets, other 5xx, a 2xx whose body is not a grant, an
  answer longer than :data:`~harness.client.bounded.MAX_ANSWER_BYTES`.

Every call has a total deadline (connect, send and the whole answer; see
:mod:`harness.client.bounded`): a claim's is the adapter's ``timeout``, a setup or read call's
``read_timeout``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import quote

import httpx

from harness.client.adapter import ClaimAdapter
from harness.client.bounded import (
    MAX_ANSWER_BYTES,
    Answer,
    BodyTooLarge,
    BoundedHttp,
    coupon_list_cap,
)
from harness.client.errors import CampaignExists, ServiceError
from harness.client.models import (
    CampaignSpec,
    CampaignState,
    ClaimOutcome,
    ClaimRequest,
    Coupon,
    OutcomeType,
    Reason,
)

READ_TIMEOUT_MIN = 5.0
"""The least total time a setup or read call (create, read, list coupons) is given: they are not
judged by their latency, and a loaded service listing thousands of coupons is not a dead one."""

_DEFINITE_BY_STATUS: dict[int, Reason] = {
    400: Reason.BAD_REQUEST,
    404: Reason.NOT_FOUND,
    409: Reason.LIMIT_REACHED,
    410: Reason.SOLD_OUT,
    429: Reason.OVERLOADED,
}


def classify_claim_response(status: int, body: bytes) -> ClaimOutcome:
    """Turn one HTTP answer to a claim into ok / fail / info. Pure: unit-testable."""
    payload = _json_or_none(body)
    error = payload.get("error") if isinstance(payload, dict) else None
    if status in (200, 201):
        code = payload.get("coupon_code") if isinstance(payload, dict) else None
        if isinstance(code, str) and code:
            return ClaimOutcome(OutcomeType.OK, Reason.GRANTED, coupon_code=code, status=status)
        return ClaimOutcome(
            OutcomeType.INFO, Reason.MALFORMED, status=status, detail=_snippet(body)
        )
    if status == 503:
        if error == "overloaded":
            return ClaimOutcome(OutcomeType.FAIL, Reason.OVERLOADED, status=status)
        return ClaimOutcome(
            OutcomeType.INFO, Reason.SERVER_ERROR, status=status, detail=_snippet(body)
        )
    if status in _DEFINITE_BY_STATUS:
        reason = _DEFINITE_BY_STATUS[status]
        if status == 409 and error not in (None, "limit_reached"):
            reason = Reason.REJECTED
        return ClaimOutcome(OutcomeType.FAIL, reason, status=status, detail=str(error or ""))
    if 400 <= status < 500:
        return ClaimOutcome(OutcomeType.FAIL, Reason.REJECTED, status=status, detail=_snippet(body))
    return ClaimOutcome(OutcomeType.INFO, Reason.SERVER_ERROR, status=status, detail=_snippet(body))


class HttpClaimAdapter(ClaimAdapter):
    """Speaks claim protocol v1. Override the ``*_path`` methods or ``claim_body`` for small API
    differences; subclass :class:`ClaimAdapter` for anything larger."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 2.0,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        """Total seconds a claim (or a health probe) may take, connect to last byte."""
        self.connect_timeout = connect_timeout if connect_timeout is not None else timeout
        self.read_timeout = (
            read_timeout if read_timeout is not None else max(timeout, READ_TIMEOUT_MIN)
        )
        """Total seconds a setup or read call may take."""
        self._http = BoundedHttp(
            self.base_url, timeout=timeout, connect_timeout=self.connect_timeout
        )
        self._stock: dict[str, int] = {}
        """Stock of the campaigns this adapter created: what sizes their coupon list's cap."""

    # -- paths and bodies: the parts a user with a slightly different API overrides
    def campaigns_path(self) -> str:
        return "/campaigns"

    def campaign_path(self, campaign_id: str) -> str:
        return f"/campaigns/{quote(campaign_id, safe='')}"

    def claims_path(self, campaign_id: str) -> str:
        return f"{self.campaign_path(campaign_id)}/claims"

    def coupons_path(self, campaign_id: str) -> str:
        return f"{self.campaign_path(campaign_id)}/coupons"

    def claim_body(self, request: ClaimRequest) -> dict[str, Any]:
        return {"user_id": request.user_id, "idempotency_key": request.idempotency_key}

    # -- the contract
    def create_campaign(self, spec: CampaignSpec) -> CampaignState:
        self._stock[spec.campaign_id] = spec.stock
        response = self._call("POST", self.campaigns_path(), json=spec.to_json())
        if response.status == 409:
            raise CampaignExists(f"campaign {spec.campaign_id!r} already exists", 409)
        if response.status not in (200, 201):
            raise ServiceError(
                f"creating campaign {spec.campaign_id!r} answered {response.status}: "
                f"{_snippet(response.body)}",
                response.status,
            )
        body = _json_or_none(response.body)
        if isinstance(body, dict) and "issued" in body:
            return _campaign_state(body)
        return CampaignState(spec.campaign_id, spec.stock, spec.per_user_limit, 0, spec.stock)

    def claim(self, request: ClaimRequest) -> ClaimOutcome:
        try:
            response = self._http.request(
                "POST",
                self.claims_path(request.campaign_id),
                json=self.claim_body(request),
                seconds=self.timeout,
            )
        except BodyTooLarge as exc:
            return ClaimOutcome(OutcomeType.INFO, Reason.MALFORMED, detail=str(exc))
        except httpx.ConnectError as exc:
            # The TCP connection was never established: the request was not sent.
            return ClaimOutcome(OutcomeType.FAIL, Reason.UNREACHABLE, detail=str(exc))
        except httpx.ConnectTimeout as exc:
            return ClaimOutcome(OutcomeType.FAIL, Reason.UNREACHABLE, detail=str(exc))
        except httpx.TimeoutException as exc:
            return ClaimOutcome(OutcomeType.INFO, Reason.TIMEOUT, detail=str(exc))
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            return ClaimOutcome(OutcomeType.INFO, Reason.RESET, detail=str(exc))
        except httpx.HTTPError as exc:
            return ClaimOutcome(OutcomeType.INFO, Reason.RESET, detail=repr(exc))
        outcome = classify_claim_response(response.status, response.body)
        if response.replica is not None:
            outcome = dataclasses.replace(outcome, replica=response.replica)
        return outcome

    def get_campaign(self, campaign_id: str) -> CampaignState:
        response = self._call("GET", self.campaign_path(campaign_id))
        body = self._expect_json(response, f"reading campaign {campaign_id!r}")
        return _campaign_state(body)

    def list_coupons(self, campaign_id: str) -> list[Coupon]:
        stock = self._stock.get(campaign_id)
        if stock is None:
            stock = self.get_campaign(campaign_id).stock
        cap = coupon_list_cap(stock)
        response = self._call("GET", self.coupons_path(campaign_id), max_bytes=cap)
        body = self._expect_json(response, f"listing coupons of {campaign_id!r}")
        try:
            return [
                Coupon(str(c["coupon_code"]), str(c["user_id"]), str(c["idempotency_key"]))
                for c in body["coupons"]
            ]
        except (KeyError, TypeError) as exc:
            raise ServiceError(f"coupon list of {campaign_id!r} is malformed: {exc}") from None

    def health(self) -> bool:
        return self._probe(self.timeout) == 200

    def warm(self) -> None:
        self._probe(min(0.25, self.timeout))

    def clone(self) -> HttpClaimAdapter:
        return type(self)(
            self.base_url,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )

    def close(self) -> None:
        self._http.close()

    # -- helpers
    def _probe(self, seconds: float) -> int | None:
        try:
            return self._http.request("GET", "/health", seconds=seconds).status
        except httpx.HTTPError:
            return None

    def _call(
        self, method: str, path: str, *, json: Any = None, max_bytes: int = MAX_ANSWER_BYTES
    ) -> Answer:
        try:
            return self._http.request(
                method, path, json=json, seconds=self.read_timeout, max_bytes=max_bytes
            )
        except httpx.TimeoutException:
            raise ServiceError(
                f"{method} {self.base_url}{path} failed: no whole answer within "
                f"{self.read_timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ServiceError(
                f"{method} {self.base_url}{path} failed: {type(exc).__name__}: {exc}"
            ) from None

    def _expect_json(self, response: Answer, what: str) -> dict[str, Any]:
        if response.status != 200:
            raise ServiceError(
                f"{what} answered {response.status}: {_snippet(response.body)}",
                response.status,
            )
        body = _json_or_none(response.body)
        if not isinstance(body, dict):
            raise ServiceError(f"{what} answered a body that is not a JSON object")
        return body


def _campaign_state(body: dict[str, Any]) -> CampaignState:
    try:
        return CampaignState(
            campaign_id=str(body["campaign_id"]),
            stock=int(body["stock"]),
            per_user_limit=int(body["per_user_limit"]),
            issued=int(body["issued"]),
            remaining=int(body["remaining"]),
            pending=_pending(body.get("pending")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ServiceError(f"campaign body is malformed: {exc!r}") from None


def _pending(value: Any) -> int | None:
    """The optional ``pending`` count: absent (or null) is None; otherwise a whole number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"pending must be a whole number >= 0, got {value!r}")
    return value


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return text + ("..." if len(body) > limit else "")
