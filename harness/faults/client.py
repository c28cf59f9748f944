"""``FaultProxy``: the harness's handle on one Toxiproxy(-compatible) server.

It speaks Toxiproxy's HTTP API through :class:`~harness.client.bounded.BoundedHttp`, as the claim
adapter speaks to targets: every call has a total deadline (``timeout``: connect, send and the
whole answer) and reads at most :data:`~harness.client.bounded.MAX_ANSWER_BYTES`, so a fault
proxy URL that drips or floods cannot hang the run. Each FaultProxy holds its own connection to
its own server, so two of them drive two servers at once.

It only ever touches proxies it created, named ``cc-<run id>-<path>``, so several runs (or tests)
can share one server; ``heal_all`` removes the toxics of those proxies and re-enables them, and
``close`` deletes them, so nothing leaks from one test into the next.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.client.bounded import Answer, BodyTooLarge, BoundedHttp
from harness.errors import InfrastructureError, UsageError
from harness.faults.model import DownFault, NetworkFault, ToxicFault


def replica_path(path: str, replica: int) -> str:
    """The name of one replica's proxy of a per-replica path: ``store-r1``, ``replica-r0``."""
    return f"{path}-r{replica}"


@dataclass(frozen=True, slots=True)
class ProxyEndpoint:
    """Where a proxy listens: connect here instead of the real upstream."""

    name: str
    """The proxy's name on the server (``cc-<run id>-<path>``)."""
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"fault proxy URL must look like http://HOST:PORT, got {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise UsageError(f"fault proxy URL has a bad port: {url!r}") from None


def _reason(exc: httpx.HTTPError, timeout: float) -> str:
    """The useful part of an HTTP error ("[Errno 111] Connection refused"), on one line."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no whole answer within {timeout:g} s"
    if isinstance(exc, BodyTooLarge):
        return str(exc)
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return found.group(0) if found else type(exc).__name__


_VERSION = re.compile(r"v?\d+(\.\d+)*([-+.][0-9A-Za-z.-]+)?")
"""What a Toxiproxy version looks like ("2.12.0", "v2.1.4", "2.5.0-rc1")."""


def _error_text(body: bytes) -> str:
    text = body[:300].decode("utf-8", "replace")
    try:
        return str(json.loads(text).get("error", text))
    except (ValueError, AttributeError):
        return text.strip()


HTTP_FAULT_KINDS = ("http_error", "http_drop_response", "http_delay")


def without_http_toxics(api_url: str) -> str:
    """Why a fault proxy cannot carry out the HTTP faults, to end a line with."""
    return (
        f"the fault proxy at {api_url} has no HTTP toxics ({', '.join(HTTP_FAULT_KINDS)}: an "
        "extension of the embedded proxy that a real Toxiproxy does not have)"
    )


class FaultProxy:
    """Create proxies, apply and heal faults, on one server at ``api_url``."""

    def __init__(self, api_url: str, *, run_id: str | None = None, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.run_id = run_id or secrets.token_hex(4)
        self.timeout = timeout
        """Total seconds one API call may take."""
        _check_url(self.api_url)
        self._http = BoundedHttp(self.api_url, timeout=timeout)
        self._endpoints: dict[str, ProxyEndpoint] = {}
        self._adopted: set[str] = set()
        """Paths whose proxy existed before us (docker-compose's): healed, never deleted."""
        self._lock = threading.Lock()
        self._http_toxics: bool | None = None

    # -- plumbing ---------------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, body: Any = None, *, allow: tuple[int, ...] = ()
    ) -> Answer | None:
        """One API call; None if it failed with a status in ``allow``, InfrastructureError for an
        unreachable server, one past its deadline or cap, or any other error status."""
        try:
            response = self._http.request(method, path, json=body, seconds=self.timeout)
        except httpx.HTTPError as exc:
            raise InfrastructureError(
                f"fault proxy at {self.api_url} unreachable: {_reason(exc, self.timeout)}"
            ) from None
        if response.status >= 400:
            if response.status in allow:
                return None
            raise self._refused(method, path, response.status, _error_text(response.body))
        return response

    def _refused(self, method: str, path: str, status: int, message: str) -> InfrastructureError:
        return InfrastructureError(
            f"fault proxy at {self.api_url} answered {status} to {method} {path}: {message}"
        )

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        response = self._call(method, path, body)
        assert response is not None
        return self._parse(response, f"{method} {path}")

    def _parse(self, response: Answer, what: str) -> Any:
        try:
            return json.loads(response.body)
        except ValueError:
            raise self._not_toxiproxy(f"{what} answered a body that is not JSON") from None

    def _not_toxiproxy(self, why: str) -> InfrastructureError:
        return InfrastructureError(
            f"fault proxy at {self.api_url} does not speak Toxiproxy's API: {why}"
        )

    def proxy_name(self, path_name: str) -> str:
        return f"cc-{self.run_id}-{path_name}"

    def _proxies_for(self, fault: NetworkFault) -> list[str]:
        """The proxies ``fault`` goes on: its path's, or on a cluster the named replica's proxy
        of that path (``store-r1``) or, with no replica named, every replica's."""
        if fault.replica is not None:
            found = [self._endpoints.get(replica_path(fault.path, fault.replica))]
        elif fault.path in self._endpoints:
            found = [self._endpoints[fault.path]]
        else:
            prefix = f"{fault.path}-r"
            found = [e for p, e in self._endpoints.items() if p.startswith(prefix)] or [None]
        if None in found:
            created = ", ".join(self._endpoints) or "none"
            where = fault.path if fault.replica is None else replica_path(fault.path, fault.replica)
            raise UsageError(
                f"no fault proxy on path {where!r} (proxies on: {created}); "
                f"a {fault.kind} fault needs one"
            )
        return [e.name for e in found if e is not None]

    # -- public API -------------------------------------------------------------------------------
    def version(self) -> str:
        """The server's version string (also a reachability check)."""
        response = self._call("GET", "/version")
        assert response is not None
        text = response.body.decode("utf-8", "replace").strip()
        try:
            return str(json.loads(text)["version"])
        except (ValueError, KeyError, TypeError):
            return text  # Toxiproxy before 2.7 answered bare text

    def check_api(self) -> str:
        """The server's version, once it has shown it speaks Toxiproxy's API: ``/version`` is a
        version and ``/proxies`` a JSON object of proxies. Anything else (an HTML page, garbage,
        JSON of another shape) is an InfrastructureError naming the URL, before the run starts."""
        version = self.version()
        if not _VERSION.fullmatch(version):
            shown = version[:60].replace("\n", " ")
            raise self._not_toxiproxy(f"GET /version answered {shown!r}, not a version")
        proxies = self._json("GET", "/proxies")
        if not isinstance(proxies, dict) or not all(
            isinstance(p, dict) and "listen" in p for p in proxies.values()
        ):
            raise self._not_toxiproxy("GET /proxies answered JSON that is not a set of proxies")
        return version

    @property
    def endpoints(self) -> dict[str, ProxyEndpoint]:
        return dict(self._endpoints)

    def endpoint(self, path_name: str) -> ProxyEndpoint:
        try:
            return self._endpoints[path_name]
        except KeyError:
            raise UsageError(f"no fault proxy on path {path_name!r}") from None

    def create_proxy(
        self, path_name: str, upstream: str, listen: str = "127.0.0.1:0"
    ) -> ProxyEndpoint:
        """Put a proxy in front of ``upstream`` ("host:port") for path ``path_name``."""
        if not path_name or "/" in path_name:
            raise UsageError(f"bad fault proxy path name {path_name!r}")
        name = self.proxy_name(path_name)
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": True}
        with self._lock:
            if path_name in self._endpoints:
                raise UsageError(f"a fault proxy for path {path_name!r} already exists")
            data = self._json("POST", "/proxies", body)
            try:
                host, _, port = str(data["listen"]).rpartition(":")
                endpoint = ProxyEndpoint(name=name, host=host.strip("[]"), port=int(port))
            except (KeyError, TypeError, ValueError):
                raise self._not_toxiproxy("POST /proxies answered no listen address") from None
            if endpoint.host in ("", "0.0.0.0", "::"):
                endpoint = ProxyEndpoint(name=name, host="127.0.0.1", port=endpoint.port)
            self._endpoints[path_name] = endpoint
        return endpoint

    def find_proxy(
        self, *, port: int | None = None, name: str | None = None
    ) -> dict[str, Any] | None:
        """The server's proxy named ``name``, or listening on ``port``, if there is one."""
        proxies = self._json("GET", "/proxies")
        for proxy in proxies.values() if isinstance(proxies, dict) else proxies:
            listen_port = str(proxy.get("listen", "")).rpartition(":")[2]
            if (name is not None and proxy.get("name") == name) or (
                port is not None and listen_port == str(port)
            ):
                return dict(proxy)
        return None

    def adopt_proxy(self, path_name: str, proxy_name: str, host: str, port: int) -> ProxyEndpoint:
        """Drive a proxy that someone else created (a docker-compose stack's) as ``path_name``:
        faults go on it and are healed, but :meth:`close` leaves it in place."""
        endpoint = ProxyEndpoint(name=proxy_name, host=host, port=port)
        with self._lock:
            if path_name in self._endpoints:
                raise UsageError(f"a fault proxy for path {path_name!r} already exists")
            self._endpoints[path_name] = endpoint
            self._adopted.add(path_name)
        return endpoint

    def blame(self, error: InfrastructureError, what: str) -> InfrastructureError:
        """The same error (a copy, of the same class), its one line saying what was running
        when it struck. If this fault proxy is gone (a crashed Toxiproxy, a killed embedded
        proxy), that is the cause whatever failed first -- a claim path through it, a campaign
        set up through it -- so the line leads with the proxy's own error, naming its URL."""
        said = copy.copy(error)
        said.message = f"{error.message}, during {what}"
        if self.api_url not in error.message:
            try:
                self.version()
            except InfrastructureError as gone:
                said.message = f"{gone.message}, during {what} ({error.message})"
        said.args = (said.message,)
        return said

    def http_toxics(self) -> bool:
        """Whether the server has the embedded proxy's HTTP toxics (``http_error`` and kin), an
        extension a real Toxiproxy lacks. Found by trying, not by the version (the embedded
        proxy reports Toxiproxy's): a toxic that never acts (toxicity 0) is created on one of
        our proxies and removed at once; Toxiproxy refuses its type with a 400. Asked once."""
        if self._http_toxics is None:
            endpoint = next(iter(self._endpoints.values()), None)
            if endpoint is None:
                return False  # nothing to try it on; asked again once a proxy exists
            path = f"/proxies/{endpoint.name}/toxics"
            probe = {
                "name": "cc-probe-http",
                "type": "http_delay",
                "stream": "downstream",
                "toxicity": 0,
                "attributes": {"delay": 0},
            }
            made = self._call("POST", path, probe, allow=(400, 409))  # 409: a probe left behind
            if made is None:
                listing = self._call("GET", f"{path}/cc-probe-http", allow=(404,))
                self._http_toxics = listing is not None
            else:
                self._http_toxics = True
            if self._http_toxics:
                self._call("DELETE", f"{path}/cc-probe-http", allow=(404,))
        return self._http_toxics

    def apply(self, fault: NetworkFault) -> None:
        """Put ``fault`` in place; a toxic of the same kind and stream on that path is replaced."""
        for name in self._proxies_for(fault):
            self._apply_on(name, fault)

    def _apply_on(self, name: str, fault: NetworkFault) -> None:
        if isinstance(fault, DownFault):
            self._call("POST", f"/proxies/{name}", {"enabled": False})
            return
        assert isinstance(fault, ToxicFault)
        toxic = {
            "name": fault.toxic_name,
            "type": fault.toxic_type,
            "stream": fault.stream,
            "toxicity": fault.toxicity,
            "attributes": fault.attributes(),
        }
        if self._call("POST", f"/proxies/{name}/toxics", toxic, allow=(409,)) is None:
            # 409: a toxic of this kind and stream is there already; update it in place
            update = {"attributes": toxic["attributes"], "toxicity": fault.toxicity}
            self._call("POST", f"/proxies/{name}/toxics/{fault.toxic_name}", update)

    def heal(self, fault: NetworkFault) -> None:
        """Undo ``fault`` (no-op if it is not in place)."""
        for name in self._proxies_for(fault):
            if isinstance(fault, DownFault):
                self._call("POST", f"/proxies/{name}", {"enabled": True}, allow=(404,))
            else:
                assert isinstance(fault, ToxicFault)
                self._call("DELETE", f"/proxies/{name}/toxics/{fault.toxic_name}", allow=(404,))

    def heal_all(self) -> None:
        """Remove every toxic from the proxies this object created and re-enable them."""
        for endpoint in list(self._endpoints.values()):
            listing = self._call("GET", f"/proxies/{endpoint.name}/toxics", allow=(404,))
            if listing is None:
                continue  # deleted behind our back: nothing left to heal
            for toxic in self._parse(listing, f"GET /proxies/{endpoint.name}/toxics"):
                path = f"/proxies/{endpoint.name}/toxics/{toxic['name']}"
                self._call("DELETE", path, allow=(404,))
            self._call("POST", f"/proxies/{endpoint.name}", {"enabled": True}, allow=(404,))

    def close(self) -> None:
        """Delete every proxy this object created (their toxics go with them)."""
        try:
            self.heal_all()
            with self._lock:
                owned = [e for path, e in self._endpoints.items() if path not in self._adopted]
                self._endpoints, self._adopted = {}, set()
            for endpoint in owned:
                self._call("DELETE", f"/proxies/{endpoint.name}", allow=(404,))
        finally:
            if not self._endpoints:
                self._http.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except InfrastructureError:
            if exc is None:
                raise  # only report cleanup trouble when it is the only trouble
