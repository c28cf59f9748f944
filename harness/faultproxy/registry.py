"""The proxies of one server and the operations of Toxiproxy's API on them.

Each operation takes the decoded request (or its raw body) and returns (status, JSON) or raises
:class:`ApiError`, checking things in the order Toxiproxy does so that a request with several
problems gets the same answer (e.g. a duplicate toxic name is a 409 even if its attributes are
bad). HTTP concerns (routing, headers, the error body) live in ``harness.faultproxy.api``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.faultproxy import jsonio
from harness.faultproxy.jsonio import BodyError
from harness.faultproxy.proxy import ListenError, Proxy, new_read_buffer
from harness.faultproxy.rng import SeedSource
from harness.faultproxy.stage import Toxic
from harness.faultproxy.stream import Direction
from harness.faultproxy.toxics import TOXIC_TYPES, ToxicType, freeze


class ApiError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


PROXY_NOT_FOUND = ("proxy not found", 404)
PROXY_EXISTS = ("proxy already exists", 409)
INVALID_STREAM = ("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ("invalid toxic type", 400)
TOXIC_EXISTS = ("toxic already exists", 409)
TOXIC_NOT_FOUND = ("toxic not found", 404)


def bad_body(exc: BodyError) -> ApiError:
    return ApiError(f"bad request body: {exc}", 400)


def missing_field(what: str) -> ApiError:
    return ApiError(f"missing required field: {what}", 400)


def _decode(raw: bytes) -> Any:
    try:
        return jsonio.decode_body(raw)
    except BodyError as exc:
        raise bad_body(exc) from None


def _object(value: Any, go_type: str) -> dict[str, Any]:
    """A JSON object to decode into a Go struct; ``null`` decodes to nothing."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BodyError(
            f"json: cannot unmarshal {jsonio.json_kind(value)} into Go value of type {go_type}"
        )
    return value


def _proxy_fields(value: Any, defaults: dict[str, Any], struct: str, go_type: str) -> dict:
    obj = _object(value, go_type)
    fields = dict(defaults)
    for key in ("name", "listen", "upstream"):
        found, item = jsonio.lookup(obj, key)
        if found and item is not None:
            fields[key] = jsonio.as_string(item, f"{struct}.{key}")
    found, item = jsonio.lookup(obj, "enabled")
    if found and item is not None:
        fields["enabled"] = jsonio.as_bool(item, f"{struct}.enabled")
    return fields


def _attributes(
    value: Any, toxic_type: ToxicType, base: dict[str, int | str]
) -> dict[str, int | str]:
    go_type = f"toxics.{toxic_type.name.title().replace('_', '')}Toxic"
    if value is None:
        return dict(base)
    if not isinstance(value, dict):
        raise BodyError(
            f"json: cannot unmarshal {jsonio.json_kind(value)} into Go struct field .attributes "
            f"of type {go_type}"
        )
    attributes = dict(base)
    for key, kind in toxic_type.attributes:
        found, item = jsonio.lookup(value, key)
        if found and item is not None:
            where = f".attributes.{key}"
            if kind == "string":
                attributes[key] = jsonio.as_string(item, where)
            else:
                attributes[key] = jsonio.as_int64(item, where, kind)
    return attributes


def _checked(toxic_type: ToxicType, values: dict[str, int | str]) -> dict[str, int | str]:
    """The HTTP toxics' own limits (Toxiproxy's toxics take any value, as Toxiproxy does)."""
    problem = toxic_type.validate(values) if toxic_type.validate is not None else None
    if problem is not None:
        raise ApiError(f"invalid {toxic_type.name} attributes: {problem}", 400)
    return values


class ProxyRegistry:
    """Every proxy of one server, by name. Runs on the server's event loop only."""

    def __init__(self, seeds: SeedSource, *, http_toxics: bool = True) -> None:
        self.seeds = seeds
        self.http_toxics = http_toxics
        """False: only Toxiproxy's own toxic types, as a real Toxiproxy (``--toxiproxy-only``)."""
        self.proxies: dict[str, Proxy] = {}
        self._read_buffer = new_read_buffer()

    def _new(self, name: str, listen: str, upstream: str) -> Proxy:
        return Proxy(name, listen, upstream, self.seeds, self._read_buffer)

    def _get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise ApiError(*PROXY_NOT_FOUND)
        return proxy

    def _toxic(self, proxy: Proxy, name: str) -> Toxic:
        toxic = proxy.find_toxic(name)
        if toxic is None:
            raise ApiError(*TOXIC_NOT_FOUND)
        return toxic

    async def _start(self, proxy: Proxy) -> None:
        try:
            await proxy.start()
        except ListenError as exc:
            raise ApiError(str(exc), 500) from None

    # -- proxies ----------------------------------------------------------------------------------
    def list_proxies(self) -> dict[str, Any]:
        return {name: self.proxies[name].to_json() for name in sorted(self.proxies)}

    async def create_proxy(self, raw: bytes) -> dict[str, Any]:
        defaults = {"name": "", "listen": "", "upstream": "", "enabled": True}
        try:
            fields = _proxy_fields(_decode(raw), defaults, "Proxy", "toxiproxy.Proxy")
        except BodyError as exc:
            raise bad_body(exc) from None
        if not fields["name"]:
            raise missing_field("name")
        if not fields["upstream"]:
            raise missing_field("upstream")
        if fields["name"] in self.proxies:
            raise ApiError(*PROXY_EXISTS)
        proxy = self._new(fields["name"], fields["listen"], fields["upstream"])
        if fields["enabled"]:
            await self._start(proxy)
        self.proxies[proxy.name] = proxy
        return proxy.to_json()

    async def populate(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Create or replace many proxies; validated first, applied in order. The reply lists the
        proxies made, and carries Toxiproxy's error fields when something failed."""
        made: list[Proxy] = []
        try:
            made = await self._populate(raw, made)
        except ApiError as exc:
            return exc.status, {
                "error": exc.message,
                "status": exc.status,
                "proxies": [p.to_json() for p in made] or None,
            }
        return 201, {"proxies": [p.to_json() for p in made] or None}

    async def _populate(self, raw: bytes, made: list[Proxy]) -> list[Proxy]:
        go_type = "[]struct { toxiproxy.Proxy; Enabled *bool }"
        try:
            value = _decode(raw)
            if value is not None and not isinstance(value, list):
                raise BodyError(
                    f"json: cannot unmarshal {jsonio.json_kind(value)} into Go value of type "
                    f"{go_type}"
                )
            defaults = {"name": "", "listen": "", "upstream": "", "enabled": None}
            entries = [_proxy_fields(v, defaults, "", go_type[2:]) for v in value or []]
        except BodyError as exc:
            raise bad_body(exc) from None
        for index, entry in enumerate(entries, start=1):
            if not entry["name"]:
                raise missing_field(f"name at proxy {index}")
            if not entry["upstream"]:
                raise missing_field(f"upstream at proxy {index}")
        for entry in entries:
            existing = self.proxies.get(entry["name"])
            if existing is not None:
                try:
                    changed = await existing.differs(entry["listen"], entry["upstream"])
                except ListenError as exc:  # before the existing proxy is stopped
                    raise ApiError(str(exc), 500) from None
                if not changed:  # an equivalent listen (2.12): kept with its toxics
                    made.append(existing)
                    continue
                existing.stop()
            proxy = self._new(entry["name"], entry["listen"], entry["upstream"])
            if entry["enabled"] is not False:
                await self._start(proxy)
            self.proxies[proxy.name] = proxy
            made.append(proxy)
        return made

    def get_proxy(self, name: str) -> dict[str, Any]:
        return self._get(name).to_json()

    async def update_proxy(self, name: str, raw: bytes) -> dict[str, Any]:
        proxy = self._get(name)
        defaults = {
            "name": proxy.name,
            "listen": proxy.listen,
            "upstream": proxy.upstream,
            "enabled": proxy.enabled,
        }
        try:
            fields = _proxy_fields(_decode(raw), defaults, "Proxy", "toxiproxy.Proxy")
        except BodyError as exc:
            raise bad_body(exc) from None
        try:
            await proxy.update(fields["listen"], fields["upstream"], fields["enabled"])
        except ListenError as exc:
            raise ApiError(str(exc), 500) from None
        return proxy.to_json()

    def delete_proxy(self, name: str) -> None:
        proxy = self._get(name)
        proxy.stop()
        del self.proxies[name]

    async def reset(self) -> None:
        """Re-enable every proxy and remove every toxic; proxies and connections are kept."""
        for proxy in list(self.proxies.values()):
            await self._start(proxy)
            proxy.remove_all_toxics()

    def shutdown(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
        self.proxies.clear()

    # -- toxics -----------------------------------------------------------------------------------
    def list_toxics(self, name: str) -> list[dict[str, Any]]:
        return [toxic.to_json() for toxic in self._get(name).toxics()]

    def create_toxic(self, name: str, raw: bytes) -> dict[str, Any]:
        proxy = self._get(name)
        struct = "ToxicWrapper"
        try:
            body = _object(_decode(raw), "toxics.ToxicWrapper")
            fields: dict[str, Any] = {"name": "", "type": "", "stream": "downstream"}
            for key in fields:
                found, item = jsonio.lookup(body, key)
                if found and item is not None:
                    fields[key] = jsonio.as_string(item, f"{struct}.{key}")
            toxicity = 1.0
            found, item = jsonio.lookup(body, "toxicity")
            if found and item is not None:
                toxicity = jsonio.as_float32(item, f"{struct}.toxicity")
            found, attributes = jsonio.lookup(body, "attributes")
            if attributes is not None and not isinstance(attributes, dict):
                raise BodyError(
                    f"json: cannot unmarshal {jsonio.json_kind(attributes)} into Go struct field "
                    f"{struct}.attributes of type toxics.NoopToxic"
                )
        except BodyError as exc:
            raise bad_body(exc) from None
        try:
            direction = Direction(fields["stream"].lower())
        except ValueError:
            raise ApiError(*INVALID_STREAM) from None
        toxic_name = fields["name"] or f"{fields['type']}_{fields['stream']}"
        toxic_type = TOXIC_TYPES.get(fields["type"])
        if toxic_type is None or (toxic_type.http and not self.http_toxics):
            raise ApiError(*INVALID_TOXIC_TYPE)
        if proxy.find_toxic(toxic_name) is not None:
            raise ApiError(*TOXIC_EXISTS)
        try:
            values = _attributes(attributes, toxic_type, toxic_type.defaults())
        except BodyError as exc:
            raise bad_body(exc) from None
        _checked(toxic_type, values)
        toxic = Toxic(
            name=toxic_name,
            type=toxic_type.name,
            stream=fields["stream"],
            direction=direction,
            toxicity=toxicity,
            attributes=freeze(values),
        )
        proxy.add_toxic(toxic)
        return toxic.to_json()

    def get_toxic(self, name: str, toxic_name: str) -> dict[str, Any]:
        return self._toxic(self._get(name), toxic_name).to_json()

    def update_toxic(self, name: str, toxic_name: str, raw: bytes) -> dict[str, Any]:
        proxy = self._get(name)
        toxic = self._toxic(proxy, toxic_name)
        try:
            body = _object(_decode(raw), "struct { Attributes interface {}; Toxicity float32 }")
            found, attributes = jsonio.lookup(body, "attributes")
            values = _attributes(attributes, TOXIC_TYPES[toxic.type], dict(toxic.attributes))
            toxicity = toxic.toxicity
            found, item = jsonio.lookup(body, "toxicity")
            if found and item is not None:
                toxicity = jsonio.as_float32(item, ".toxicity")
        except BodyError as exc:
            raise bad_body(exc) from None
        _checked(TOXIC_TYPES[toxic.type], values)
        updated = dataclasses.replace(toxic, attributes=freeze(values), toxicity=toxicity)
        proxy.update_toxic(updated)
        return updated.to_json()

    def delete_toxic(self, name: str, toxic_name: str) -> None:
        proxy = self._get(name)
        proxy.remove_toxic(self._toxic(proxy, toxic_name))
