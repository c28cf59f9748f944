"""Loading a user's adapter class from ``--adapter module:Class``."""

from __future__ import annotations

import importlib

from harness.client.adapter import ClaimAdapter
from harness.errors import UsageError


def load_adapter(spec: str) -> type[ClaimAdapter]:
    """``package.module:ClassName`` -> the class, which must subclass :class:`ClaimAdapter` and
    take ``(base_url, *, timeout)`` like :class:`HttpClaimAdapter`."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise UsageError(f"--adapter {spec!r}: expected module:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--adapter {spec!r}: cannot import {module_name}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, ClaimAdapter):
        raise UsageError(f"--adapter {spec!r}: {class_name} is not a ClaimAdapter subclass")
    return cls
