"""The local base image: Debian bookworm from Debian's packages, for machines that cannot pull.

``docker/base/build-rootfs.sh`` debootstraps a minimal bookworm with what every image needs
(``docker/base/packages.txt``) into a temporary folder; the folder is tarred and ``docker
import``ed as ``coupon-chaos/base:bookworm-<hash of the script and the package list>``. Needs
root and debootstrap, about a minute and 270 MB.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.docker_images.recipe import DOCKER_DIR, REPOSITORY
from harness.errors import InfrastructureError
from harness.runtime.docker_engine import MANAGED_LABEL

SUITE = "bookworm"
BASE_REPOSITORY = f"{REPOSITORY}/base"
BASE_ALIAS = f"{BASE_REPOSITORY}:{SUITE}"
RECIPE_FILES = ("base/build-rootfs.sh", "base/packages.txt")


def base_digest() -> str:
    h = hashlib.sha256(f"suite {SUITE}\n".encode())
    for rel in RECIPE_FILES:
        h.update(f"file {rel}\n".encode())
        h.update((DOCKER_DIR / rel).read_bytes())
    return h.hexdigest()[:12]


def base_tag() -> str:
    return f"{BASE_REPOSITORY}:{SUITE}-{base_digest()}"


def can_build_base() -> tuple[bool, str]:
    """Whether this machine can debootstrap, and if not, why (one line)."""
    if shutil.which("debootstrap") is None:
        return False, "debootstrap is not installed (apt-get install debootstrap)"
    if os.geteuid() != 0:
        return False, "debootstrap needs root"
    return True, ""


def _unmount_below(root: Path) -> None:
    """An interrupted debootstrap can leave /proc or /sys mounted inside the root filesystem:
    unmount them before deleting anything."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return
    prefix = str(root.resolve()) + "/"
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted((p for p in points if p.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def build_base(client: Any, tag: str, log: Callable[[str], None] = print) -> str:
    """debootstrap + docker import as ``tag`` (and the alias ``coupon-chaos/base:bookworm``);
    returns the new image's id."""
    ok, why = can_build_base()
    if not ok:
        raise InfrastructureError(
            f"cannot build the local base image: {why}; or make the public images available "
            f"(docker pull python:3.11-slim redis:7 postgres:15) and use --base public"
        )
    work = Path(tempfile.mkdtemp(prefix="cc-base-"))
    rootfs = work / "rootfs"
    script = DOCKER_DIR / "base" / "build-rootfs.sh"
    mirror = os.environ.get("COUPON_CHAOS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    try:
        log(f"building {tag} with debootstrap ({SUITE}, {mirror}); about a minute")
        run = subprocess.run(
            ["sh", str(script), str(rootfs), mirror], capture_output=True, text=True
        )
        if run.returncode != 0:
            lines = (run.stdout + run.stderr).strip().splitlines()[-3:]
            raise InfrastructureError(
                f"debootstrap of the base image failed: {' | '.join(lines) or 'no output'}"
            )
        tarball = work / "rootfs.tar"
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."],
            check=True,
            capture_output=True,
        )
        shutil.rmtree(rootfs, ignore_errors=True)
        repository, _, version = tag.rpartition(":")
        changes = [
            f'LABEL {MANAGED_LABEL}="1" coupon-chaos.image="base"',
            "ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["/bin/bash"]',
        ]
        with tarball.open("rb") as data:
            client.api.import_image(src=data, repository=repository, tag=version, changes=changes)
        image = client.images.get(tag)
        image.tag(BASE_REPOSITORY, SUITE)
        return str(image.id)
    except subprocess.CalledProcessError as exc:
        raise InfrastructureError(f"packing the base image failed: {exc.stderr!r}") from None
    finally:
        _unmount_below(work)
        shutil.rmtree(work, ignore_errors=True)
