"""The Docker images the harness runs: the coupon service, the fault proxy, Redis, PostgreSQL,
HAProxy and the Locust worker.

``build_images(client)`` builds whatever is missing, tagged by a hash of its recipe, and returns
the :class:`ImageSet` a Docker run uses; without a registry it first makes a base image from
Debian's packages. See ``docker/`` for the Dockerfiles.
"""

from harness.docker_images.build import (
    ENV_VAR,
    MODES,
    BuildReport,
    BuildStep,
    ImageSet,
    build_images,
    ensure_images,
    resolve_mode,
)
from harness.docker_images.recipe import (
    PUBLIC_POSTGRES,
    PUBLIC_PYTHON,
    PUBLIC_REDIS,
    PUBLIC_TOXIPROXY,
)

__all__ = [
    "ENV_VAR",
    "MODES",
    "PUBLIC_POSTGRES",
    "PUBLIC_PYTHON",
    "PUBLIC_REDIS",
    "PUBLIC_TOXIPROXY",
    "BuildReport",
    "BuildStep",
    "ImageSet",
    "build_images",
    "ensure_images",
    "resolve_mode",
]
