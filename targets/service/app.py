"""The HTTP side of the coupon service (claim protocol v1, docs/protocol.md) on aiohttp.

Why the answers are what they are: a 4xx, a 429 and a 503 with ``{"error": "overloaded"}`` promise
that nothing was issued; any other 5xx promises nothing. So a store error or timeout is answered
503 *without* ``overloaded`` -- the write may still land -- and admission control refuses before it
touches the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from targets.service.config import ServiceConfig
from targets.stores.base import ClaimStatus, Store

log = logging.getLogger("coupon-service")

MAX_ID_LENGTH = 200
MAX_STOCK = 1_000_000_000
RECONNECT_SECONDS = 0.5


@dataclass
class ServiceState:
    """Everything one service process shares between requests (on the app, never global)."""

    config: ServiceConfig
    store: Store
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0


STATE = web.AppKey("state", ServiceState)


def _answer(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)


def _error(status: int, error: str, detail: str = "") -> web.Response:
    body = {"error": error}
    if detail:
        body["detail"] = detail
    return _answer(status, body)


UNAVAILABLE = "store_unavailable"


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        raw = await request.read()
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _id(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and "/" not in value:
        return value
    return None


def _int(value: Any, low: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_STOCK:
        return value
    return None


async def _store_call(state: ServiceState, coro: Any) -> Any:
    """Run one store call under the store timeout; the caller maps failures to 503."""
    return await asyncio.wait_for(coro, state.config.store_timeout)


async def create_campaign(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _body(request)
    if body is None:
        return _error(400, "bad_request", "body must be a JSON object")
    campaign_id = _id(body.get("campaign_id"))
    stock = _int(body.get("stock"), 0)
    limit = _int(body.get("per_user_limit"), 1)
    if campaign_id is None or stock is None or limit is None:
        return _error(
            400,
            "bad_request",
            "need campaign_id (non-empty string without '/'), stock (int >= 0) and "
            "per_user_limit (int >= 1)",
        )
    if not state.ready.is_set():
        return _error(503, UNAVAILABLE)
    try:
        created = await _store_call(state, state.store.create_campaign(campaign_id, stock, limit))
        campaign = await _store_call(state, state.store.get_campaign(campaign_id))
    except Exception as exc:  # noqa: BLE001 - any store failure is an indeterminate 503
        log.warning("create %s failed: %r", campaign_id, exc)
        return _error(503, UNAVAILABLE)
    if not created:
        return _error(409, "campaign_exists")
    assert campaign is not None
    return _answer(201, campaign.to_json())


async def get_campaign(request: web.Request) -> web.Response:
    state = request.app[STATE]
    campaign_id = request.match_info["campaign_id"]
    if not state.ready.is_set():
        return _error(503, UNAVAILABLE)
    try:
        campaign = await _store_call(state, state.store.get_campaign(campaign_id))
    except Exception as exc:  # noqa: BLE001
        log.warning("read %s failed: %r", campaign_id, exc)
        return _error(503, UNAVAILABLE)
    if campaign is None:
        return _error(404, "not_found")
    return _answer(200, campaign.to_json())


async def list_coupons(request: web.Request) -> web.Response:
    state = request.app[STATE]
    campaign_id = request.match_info["campaign_id"]
    if not state.ready.is_set():
        return _error(503, UNAVAILABLE)
    try:
        coupons = await _store_call(state, state.store.list_coupons(campaign_id))
    except Exception as exc:  # noqa: BLE001
        log.warning("list %s failed: %r", campaign_id, exc)
        return _error(503, UNAVAILABLE)
    if coupons is None:
        return _error(404, "not_found")
    return _answer(200, {"coupons": [c.to_json() for c in coupons]})


async def claim(request: web.Request) -> web.Response:
    state = request.app[STATE]
    campaign_id = request.match_info["campaign_id"]
    body = await _body(request)
    if body is None:
        return _error(400, "bad_request", "body must be a JSON object")
    user_id = _id(body.get("user_id"))
    key = _id(body.get("idempotency_key"))
    if user_id is None or key is None:
        return _error(400, "bad_request", "need user_id and idempotency_key (non-empty strings)")
    if not state.ready.is_set():
        # The store was never reached by this process: nothing can have been issued.
        return _error(503, "overloaded", "store not connected yet")
    limit = state.config.admission_limit
    if limit is not None and state.in_flight >= limit:
        return _error(429, "overloaded")
    state.in_flight += 1
    try:
        result = await _store_call(
            state, state.store.claim(campaign_id, user_id, key, _risk_check(state))
        )
    except Exception as exc:  # noqa: BLE001 - unknown outcome: never say "not issued"
        log.warning("claim %s/%s failed: %r", campaign_id, key, exc)
        return _error(503, UNAVAILABLE)
    finally:
        state.in_flight -= 1
    status = result.status
    if status is ClaimStatus.GRANTED:
        assert result.coupon is not None
        return _answer(201, result.coupon.to_json())
    if status is ClaimStatus.REPEAT:
        assert result.coupon is not None
        return _answer(200, result.coupon.to_json())
    if status is ClaimStatus.LIMIT_REACHED:
        return _error(409, "limit_reached")
    if status is ClaimStatus.CONFLICT:
        return _error(409, "idempotency_conflict")
    if status is ClaimStatus.SOLD_OUT:
        return _error(410, "sold_out")
    return _error(404, "not_found")


def _risk_check(state: ServiceState) -> Any:
    delay = state.config.risk_check_ms / 1000

    async def check() -> None:
        # Models the external risk/fraud RPC a real claim makes: a short wait with no lock held.
        await asyncio.sleep(delay)

    return check


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not state.ready.is_set():
        return _error(503, UNAVAILABLE, "store not connected yet")
    try:
        await _store_call(state, state.store.ping())
    except Exception as exc:  # noqa: BLE001
        return _error(503, UNAVAILABLE, repr(exc)[:200])
    return _answer(200, {"status": "ok", "store": state.config.store, "bug": state.config.bug})


async def connect_store(state: ServiceState) -> None:
    """Open the store, retrying until it answers: /health stays 503 meanwhile."""
    while True:
        try:
            await asyncio.wait_for(state.store.open(), max(state.config.store_timeout, 5.0))
        except Exception as exc:  # noqa: BLE001
            log.warning("store not ready: %r; retrying", exc)
            with _suppress_close():
                await state.store.close()
            await asyncio.sleep(RECONNECT_SECONDS)
            continue
        state.ready.set()
        log.info("store %s ready", state.config.store)
        return


class _suppress_close:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


REPLICA_HEADER = "X-Replica"


def build_app(state: ServiceState) -> web.Application:
    middlewares = []
    if state.config.replica is not None:
        replica = state.config.replica

        @web.middleware
        async def name_the_replica(request: web.Request, handler: Any) -> web.StreamResponse:
            # Protocol v1's optional header: which replica answered, as evidence for a history
            response = await handler(request)
            response.headers[REPLICA_HEADER] = replica
            return response

        middlewares.append(name_the_replica)
    app = web.Application(client_max_size=64 * 1024, middlewares=middlewares)
    app[STATE] = state
    app.router.add_get("/health", health)
    app.router.add_post("/campaigns", create_campaign)
    app.router.add_get("/campaigns/{campaign_id}", get_campaign)
    app.router.add_post("/campaigns/{campaign_id}/claims", claim)
    app.router.add_get("/campaigns/{campaign_id}/coupons", list_coupons)
    return app
