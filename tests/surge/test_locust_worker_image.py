"""The locust-worker image's recipe agrees with what the Docker workers run (no Docker needed):
the bundled locustfile is where the worker command looks for it inside the image, and the staged
build context holds the worker's own pinned requirements at the path its Dockerfile copies."""

from __future__ import annotations

from pathlib import Path

from harness.docker_images.recipe import LOCUST_WORKER, PROJECT_ROOT, stage_context
from harness.surge.locust.fleet import CONTAINER_LOCUSTFILE, bundled_locustfile


def test_the_container_locustfile_is_the_bundled_one_under_app() -> None:
    # docker/locust-worker/Dockerfile: COPY harness/ /app/harness/
    inside = bundled_locustfile().relative_to(PROJECT_ROOT)
    assert f"/app/{inside.as_posix()}" == CONTAINER_LOCUSTFILE
    dockerfile = (PROJECT_ROOT / LOCUST_WORKER.dockerfile).read_text()
    assert "COPY harness/ /app/harness/" in dockerfile
    assert f"COPY {LOCUST_WORKER.requirements} " in dockerfile


def test_the_staged_context_has_the_workers_requirements_and_the_locustfile(
    tmp_path: Path,
) -> None:
    stage_context(LOCUST_WORKER, tmp_path, "locust==2.47.0\n", None)
    assert (tmp_path / LOCUST_WORKER.requirements).read_text() == "locust==2.47.0\n"
    assert (tmp_path / LOCUST_WORKER.dockerfile).is_file()
    assert (tmp_path / CONTAINER_LOCUSTFILE.removeprefix("/app/")).is_file()
    assert (tmp_path / "docker" / "wheels").is_dir()
    requirements = (PROJECT_ROOT / LOCUST_WORKER.requirements).read_text()
    assert "locust" in requirements and "httpx" in requirements
