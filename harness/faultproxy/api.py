"""Toxiproxy's HTTP API (2.x) over aiohttp: routes, status codes, headers and bodies as the Go
server sends them, so toxiproxy-python and other Toxiproxy clients work unchanged.

Observable details kept: every reply carries ``X-Toxiproxy-Request-Id``; a ``Mozilla/`` user agent
gets 403 "User agent not allowed"; a known path with the wrong method gets an empty 405; an unknown
path gets Go's "404 page not found"; errors are ``{"error": ..., "status": ...}`` sent as
text/plain with a trailing newline (Go's ``http.Error``); successes are compact JSON; creating a
toxic answers 200, creating a proxy 201, deletes and /reset 204.
"""

from __future__ import annotations

import base64
import itertools
import os
import posixpath
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from harness.faultproxy import jsonio
from harness.faultproxy.registry import ApiError, ProxyRegistry

VERSION = "2.12.0"
"""The Toxiproxy version whose API this server speaks (reported by GET /version)."""

REQUEST_ID_HEADER = "X-Toxiproxy-Request-Id"

Handler = Callable[[ProxyRegistry, web.Request, list[str]], Awaitable[web.Response]]


class _RequestIds:
    """IDs shaped like the xid values Toxiproxy's logger puts in the header (20 base32 chars)."""

    def __init__(self) -> None:
        self._prefix = os.urandom(7)
        self._counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def next(self) -> str:
        raw = self._prefix + (next(self._counter) % (1 << 40)).to_bytes(5, "big")
        return base64.b32hexencode(raw).decode("ascii").lower()[:20]


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=jsonio.encode(value), headers={"Content-Type": "application/json"}
    )


def error_response(message: str, status: int) -> web.Response:
    body = jsonio.encode({"error": message, "status": status}) + b"\n"
    return text_response(body, status)


def text_response(body: bytes, status: int) -> web.Response:
    return web.Response(
        status=status,
        body=body,
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


# -- handlers ------------------------------------------------------------------------------------


async def _reset(reg: ProxyRegistry, request: web.Request, _: list[str]) -> web.Response:
    await reg.reset()
    return no_content()


async def _proxy_index(reg: ProxyRegistry, request: web.Request, _: list[str]) -> web.Response:
    return json_response(reg.list_proxies())


async def _proxy_create(reg: ProxyRegistry, request: web.Request, _: list[str]) -> web.Response:
    return json_response(await reg.create_proxy(await request.read()), 201)


async def _populate(reg: ProxyRegistry, request: web.Request, _: list[str]) -> web.Response:
    status, value = await reg.populate(await request.read())
    return json_response(value, status)


async def _proxy_show(reg: ProxyRegistry, request: web.Request, v: list[str]) -> web.Response:
    return json_response(reg.get_proxy(v[0]))


async def _proxy_update(reg: ProxyRegistry, request: web.Request, v: list[str]) -> web.Response:
    return json_response(await reg.update_proxy(v[0], await request.read()))


async def _proxy_delete(reg: ProxyRegistry, request: web.Request, v: list[str]) -> web.Response:
    reg.delete_proxy(v[0])
    return no_content()


async def _toxic_index(reg: ProxyRegistry, request: web.Request, v: list[str]) -> web.Response:
    return json_response(reg.list_toxics(v[0]))


async def _toxic_create(reg: ProxyRegistry, request: web.Request, v: list[str]) -> web.Response:
    reg.get_proxy(v[0])  # 404 before the body is read, as Toxiproxy does
    return json_response(reg.create_toxic(v[0], await request.read()))


async def _toxic_show(reg: ProxyRegistry, request: web.Request, v: list[str]) -> web.Response:
    return json_response(reg.get_toxic(v[0], v[1]))


async def _toxic_update(reg: ProxyRegistry, request: web.Request, v: list[str]) -> web.Response:
    reg.get_toxic(v[0], v[1])
    return json_response(reg.update_toxic(v[0], v[1], await request.read()))


async def _toxic_delete(reg: ProxyRegistry, request: web.Request, v: list[str]) -> web.Response:
    reg.delete_toxic(v[0], v[1])
    return no_content()


async def _version(reg: ProxyRegistry, request: web.Request, _: list[str]) -> web.Response:
    body = jsonio.encode({"version": VERSION}).replace(b":", b": ", 1) + b"\n"
    return web.Response(body=body, headers={"Content-Type": "application/json;charset=utf-8"})


_VAR = None
ROUTES: list[tuple[tuple[str | None, ...], dict[str, Handler]]] = [
    (("reset",), {"POST": _reset}),
    (("proxies",), {"GET": _proxy_index, "POST": _proxy_create}),
    (("populate",), {"POST": _populate}),
    (
        ("proxies", _VAR),
        {
            "GET": _proxy_show,
            "POST": _proxy_update,
            "PATCH": _proxy_update,
            "DELETE": _proxy_delete,
        },
    ),
    (("proxies", _VAR, "toxics"), {"GET": _toxic_index, "POST": _toxic_create}),
    (
        ("proxies", _VAR, "toxics", _VAR),
        {
            "GET": _toxic_show,
            "POST": _toxic_update,
            "PATCH": _toxic_update,
            "DELETE": _toxic_delete,
        },
    ),
    (("version",), {"GET": _version}),
]


def match(path: str) -> tuple[dict[str, Handler], list[str]] | None:
    """The route for ``path`` (the handlers by method, and the path variables), if any."""
    if not path.startswith("/"):
        return None
    segments = path[1:].split("/")
    for pattern, handlers in ROUTES:
        if len(pattern) != len(segments):
            continue
        variables: list[str] = []
        for expected, segment in zip(pattern, segments, strict=True):
            if expected is _VAR:
                if not segment:
                    break
                variables.append(segment)
            elif expected != segment:
                break
        else:
            return handlers, variables
    return None


def clean_path(path: str) -> str:
    """Go's ServeMux/mux path cleaning: resolve ``.``/``..`` and double slashes, keep a trailing
    slash."""
    if not path:
        return "/"
    cleaned = posixpath.normpath(path if path.startswith("/") else "/" + path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def build_app(registry: ProxyRegistry) -> web.Application:
    ids = _RequestIds()

    async def dispatch(request: web.Request) -> web.StreamResponse:
        response = await _route(registry, request)
        response.headers[REQUEST_ID_HEADER] = ids.next()
        return response

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


async def _route(registry: ProxyRegistry, request: web.Request) -> web.Response:
    path = request.path
    cleaned = clean_path(path)
    if cleaned != path:
        location = cleaned + (f"?{request.query_string}" if request.query_string else "")
        return web.Response(status=301, headers={"Location": location})
    found = match(path)
    if found is None:
        return text_response(b"404 page not found\n", 404)
    handlers, variables = found
    handler = handlers.get(request.method)
    if handler is None:
        return web.Response(status=405)
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return text_response(b"User agent not allowed\n", 403)
    try:
        return await handler(registry, request, variables)
    except ApiError as exc:
        return error_response(exc.message, exc.status)
