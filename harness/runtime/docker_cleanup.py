"""Finding and removing what Docker runs left behind — and nothing else.

Only resources labelled ``coupon-chaos.managed=1`` *and* carrying a run id are candidates (images
carry the managed label too, and so do containers made from them by docker-compose; neither has a
run id, so neither is touched). A candidate is stale when its owner process on this host is gone.
Owners on other hosts (a shared engine) are left alone unless ``include_foreign``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.runtime.docker_engine import MANAGED_LABEL, OWNER_LABEL, ROLE_LABEL, RUN_LABEL, Owner

KINDS = ("container", "network", "volume")
"""Removal order: containers hold networks and volumes."""


@dataclass(frozen=True)
class Leftover:
    """One labelled resource of some run."""

    kind: str
    id: str
    name: str
    run: str
    owner: str
    role: str
    alive: bool | None
    """Its owner's state: True running, False gone, None on another host."""

    def describe(self) -> str:
        state = {True: "owner running", False: "owner gone", None: "owner on another host"}
        return f"{self.kind} {self.name} (run {self.run}, {state[self.alive]})"


@dataclass(frozen=True)
class _Listed:
    id: str
    name: str
    labels: dict[str, str]


def _listing(client: Any, kind: str, filters: dict[str, Any]) -> list[_Listed]:
    """One list call per kind, no per-item inspect: another run may remove its resources between
    a list and an inspect, and that must not break this one."""
    if kind == "container":
        rows = client.api.containers(all=True, filters=filters)
        return [
            _Listed(r["Id"], (r.get("Names") or ["?"])[0].lstrip("/"), r.get("Labels") or {})
            for r in rows
        ]
    if kind == "network":
        rows = client.api.networks(filters=filters)
        return [_Listed(r["Id"], r.get("Name", "?"), r.get("Labels") or {}) for r in rows]
    rows = (client.api.volumes(filters=filters) or {}).get("Volumes") or []
    return [_Listed(r["Name"], r["Name"], r.get("Labels") or {}) for r in rows]


def find_leftovers(client: Any, run_id: str | None = None) -> list[Leftover]:
    """Every labelled container, network and volume (of ``run_id`` only, if given)."""
    wanted = [f"{MANAGED_LABEL}=1", f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL]
    found: list[Leftover] = []
    for kind in KINDS:
        for obj in _listing(client, kind, {"label": wanted}):
            labels = obj.labels
            owner = Owner.parse(labels.get(OWNER_LABEL))
            found.append(
                Leftover(
                    kind=kind,
                    id=obj.id,
                    name=obj.name,
                    run=labels.get(RUN_LABEL, "?"),
                    owner=labels.get(OWNER_LABEL, "?"),
                    role=labels.get(ROLE_LABEL, "?"),
                    alive=owner.is_alive() if owner is not None else False,
                )
            )
    return found


def stale(leftovers: Iterable[Leftover], include_foreign: bool = False) -> list[Leftover]:
    """Those whose owner is gone (and, with ``include_foreign``, those owned elsewhere)."""
    return [
        item
        for item in leftovers
        if item.alive is False or (include_foreign and item.alive is None)
    ]


def remove(client: Any, leftovers: Iterable[Leftover]) -> list[str]:
    """Remove ``leftovers`` (containers first); returns one line per failure, never raises for
    a resource that is already gone."""
    from docker.errors import APIError, NotFound

    items = sorted(leftovers, key=lambda item: KINDS.index(item.kind))
    failures: list[str] = []
    for item in items:
        try:
            if item.kind == "container":
                client.api.remove_container(item.id, v=True, force=True)
            elif item.kind == "network":
                attached = client.api.inspect_network(item.id).get("Containers") or {}
                for container in attached:
                    with contextlib.suppress(APIError, NotFound):
                        client.api.disconnect_container_from_network(container, item.id, force=True)
                client.api.remove_network(item.id)
            else:
                client.api.remove_volume(item.id, force=True)
        except NotFound:
            continue
        except APIError as exc:
            failures.append(f"{item.describe()}: {exc.explanation or exc}")
    return failures


def reap_stale(client: Any, include_foreign: bool = False) -> list[Leftover]:
    """Remove the leftovers of dead runs; returns what was removed (failures are skipped: the
    next reap tries again)."""
    dead = stale(find_leftovers(client), include_foreign)
    if dead:
        remove(client, dead)
    return dead
