"""``build_images``: every image the harness needs, built once per recipe and reused by tag.

Two modes:

* ``public`` -- the service, the fault proxy and the Locust worker are built on
  ``python:3.11-slim``; the stores are the public ``redis:7`` and ``postgres:15``. Missing public
  images are pulled.
* ``local`` -- nothing is pulled: a base image is made from Debian's packages
  (:mod:`harness.docker_images.base`) and every image is built on it.

``auto`` picks ``public`` when those public images are already on the machine, else ``local``
when debootstrap can run, else ``public`` (pulling). It never reaches a registry unless it has
to. Set ``COUPON_CHAOS_IMAGES`` to force a mode for every command.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.docker_images.base import BASE_ALIAS, base_tag, build_base, can_build_base
from harness.docker_images.recipe import (
    FAULTPROXY,
    HAPROXY,
    LOCUST_WORKER,
    POSTGRES,
    PROJECT_ROOT,
    PUBLIC_HAPROXY,
    PUBLIC_POSTGRES,
    PUBLIC_PYTHON,
    PUBLIC_REDIS,
    PUBLIC_TOXIPROXY,
    REDIS,
    SERVICE,
    ImageRecipe,
    digest,
    stage_context,
)
from harness.docker_images.wheels import download_wheels, pinned_requirements
from harness.errors import InfrastructureError, UsageError
from harness.runtime.docker_engine import MANAGED_LABEL

Mode = Literal["public", "local"]
MODES = ("auto", "public", "local")
ENV_VAR = "COUPON_CHAOS_IMAGES"
RECIPE_LABEL = "coupon-chaos.recipe"

Log = Callable[[str], None]


@dataclass(frozen=True)
class ImageSet:
    """The images a Docker run uses, by tag."""

    mode: Mode
    service: str
    faultproxy: str
    redis: str
    postgres: str
    base: str
    """What the Python images were built on (python:3.11-slim or the local base)."""
    haproxy: str = PUBLIC_HAPROXY
    """The load balancer of a replicated target."""
    toxiproxy: str | None = None
    """The real Toxiproxy image, when it is on the machine: the fault proxy container then runs
    it instead of the embedded proxy (set $COUPON_CHAOS_FAULTPROXY=embedded to keep ours)."""
    locust_worker: str = LOCUST_WORKER.alias
    """A Locust worker on the run's network (``surge --runtime docker --engine locust``)."""

    def as_dict(self) -> dict[str, str]:
        return {
            "service": self.service,
            "faultproxy": self.faultproxy,
            "redis": self.redis,
            "postgres": self.postgres,
            "haproxy": self.haproxy,
            "base": self.base,
            "toxiproxy": self.toxiproxy or "",
            "locust_worker": self.locust_worker,
        }


@dataclass(frozen=True)
class BuildStep:
    image: str
    action: Literal["built", "reused", "pulled", "present"]
    seconds: float


@dataclass
class BuildReport:
    images: ImageSet
    steps: list[BuildStep] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def built(self) -> list[str]:
        return [s.image for s in self.steps if s.action in ("built", "pulled")]


def _exists(client: Any, tag: str) -> Any | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(tag)
    except ImageNotFound:
        return None


def resolve_mode(client: Any, mode: str | None = None) -> Mode:
    """``public`` or ``local`` for ``mode`` (default: $COUPON_CHAOS_IMAGES, else auto)."""
    mode = mode or os.environ.get(ENV_VAR) or "auto"
    if mode not in MODES:
        raise UsageError(f"unknown image mode {mode!r}; use one of {', '.join(MODES)}")
    if mode != "auto":
        return mode  # type: ignore[return-value]
    if all(_exists(client, tag) for tag in (PUBLIC_PYTHON, PUBLIC_REDIS, PUBLIC_POSTGRES)):
        return "public"
    return "local" if can_build_base()[0] else "public"


def _pull(client: Any, tag: str, log: Log) -> None:
    from docker.errors import APIError

    log(f"pulling {tag}")
    try:
        client.images.pull(tag)
    except APIError as exc:
        raise InfrastructureError(
            f"cannot pull {tag}: {exc.explanation or exc}; without a registry, build with "
            "--base local (needs root and debootstrap)"
        ) from None


def _build_one(
    client: Any,
    recipe: ImageRecipe,
    tag: str,
    base: str,
    requirements: str | None,
    nocache: bool,
    log: Log,
    verbose: bool,
) -> None:
    from docker.errors import APIError, BuildError

    wheels = download_wheels(requirements, log) if recipe.python and requirements else None
    with tempfile.TemporaryDirectory(prefix=f"cc-build-{recipe.name}-") as ctx:
        stage_context(recipe, Path(ctx), requirements, wheels)
        log(f"building {tag} on {base}")
        lines: list[str] = []
        try:
            stream = client.api.build(
                path=ctx,
                dockerfile=recipe.dockerfile,
                tag=tag,
                buildargs={"BASE": base},
                labels={MANAGED_LABEL: "1", RECIPE_LABEL: tag},
                rm=True,
                forcerm=True,
                pull=False,
                nocache=nocache,
                decode=True,
            )
            for chunk in stream:
                text = str(chunk.get("stream") or chunk.get("status") or "").rstrip()
                if text:
                    lines.append(text)
                    if verbose:
                        log(f"  {text}")
                if "error" in chunk:
                    raise BuildError(chunk["error"], lines)
        except BuildError as exc:
            tail = " | ".join(line.strip() for line in lines[-4:] if line.strip())
            raise InfrastructureError(f"building {tag} failed: {exc.msg} ({tail})") from None
        except APIError as exc:
            raise InfrastructureError(f"building {tag} failed: {exc.explanation or exc}") from None
    image = client.images.get(tag)
    repository, _, _ = tag.rpartition(":")
    image.tag(repository, recipe.alias.rpartition(":")[2])


def build_images(
    client: Any,
    mode: str | None = None,
    *,
    force: bool = False,
    log: Log | None = None,
    verbose: bool = False,
) -> BuildReport:
    """Build (or find) every image a Docker run needs. With ``force``, rebuild all of them
    without Docker's layer cache (and remake the local base)."""
    say: Log = log or (lambda _line: None)
    started = time.monotonic()
    resolved = resolve_mode(client, mode)
    steps: list[BuildStep] = []

    def timed(image: str, action: str, since: float) -> None:
        steps.append(BuildStep(image, action, round(time.monotonic() - since, 2)))  # type: ignore[arg-type]

    if resolved == "public":
        for tag in (PUBLIC_PYTHON, PUBLIC_REDIS, PUBLIC_POSTGRES, PUBLIC_HAPROXY):
            t0 = time.monotonic()
            if _exists(client, tag) is None:
                _pull(client, tag, say)
                timed(tag, "pulled", t0)
            else:
                timed(tag, "present", t0)
        base = PUBLIC_PYTHON
    else:
        base = base_tag()
        t0 = time.monotonic()
        if force or _exists(client, base) is None:
            build_base(client, base, say)
            timed(base, "built", t0)
        else:
            client.images.get(base).tag(*BASE_ALIAS.split(":"))
            timed(base, "reused", t0)
    base_id = str(client.images.get(base).id)

    local = [REDIS, POSTGRES, HAPROXY] if resolved == "local" else []
    recipes = [SERVICE, FAULTPROXY, LOCUST_WORKER, *local]
    tags: dict[str, str] = {}
    for recipe in recipes:
        requirements = pinned_requirements(PROJECT_ROOT / recipe.requirements)
        tag = recipe.tag(digest(recipe, base_id, requirements))
        tags[recipe.name] = tag
        t0 = time.monotonic()
        existing = _exists(client, tag)
        if existing is not None and not force:
            existing.tag(*recipe.alias.rsplit(":", 1))
            timed(tag, "reused", t0)
            continue
        _build_one(client, recipe, tag, base, requirements, force, say, verbose)
        timed(tag, "built", t0)
    images = ImageSet(
        mode=resolved,
        service=tags["service"],
        faultproxy=tags["faultproxy"],
        redis=tags.get("redis", PUBLIC_REDIS),
        postgres=tags.get("postgres", PUBLIC_POSTGRES),
        haproxy=tags.get("haproxy", PUBLIC_HAPROXY),
        locust_worker=tags["locust-worker"],
        base=base,
        toxiproxy=_real_toxiproxy(client),
    )
    return BuildReport(images, steps, round(time.monotonic() - started, 2))


def _real_toxiproxy(client: Any) -> str | None:
    """The public Toxiproxy image if it is already here (never pulled for a run)."""
    if os.environ.get("COUPON_CHAOS_FAULTPROXY", "") == "embedded":
        return None
    return PUBLIC_TOXIPROXY if _exists(client, PUBLIC_TOXIPROXY) is not None else None


def ensure_images(client: Any, mode: str | None = None, log: Log | None = None) -> ImageSet:
    """The images for a run, building only what is missing (a few hundred ms when all exist)."""
    return build_images(client, mode, log=log).images
