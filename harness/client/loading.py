"""Loading a user's adapter class from ``--adapter module:Class``.

Why so careful: the module is the user's code, imported into the harness before anything
starts. Whatever goes wrong there (a file path instead of a module name, a syntax error, an
exception at import time, a constructor that cannot take the harness's arguments) is a usage
error of one line naming the module and the error, not a traceback from importlib.
"""

from __future__ import annotations

import importlib
import inspect

from harness.client.adapter import ClaimAdapter
from harness.errors import UsageError


def load_adapter(spec: str) -> type[ClaimAdapter]:
    """``package.module:ClassName`` -> the class, which must subclass :class:`ClaimAdapter` and
    take ``(base_url, *, timeout)`` like :class:`HttpClaimAdapter`."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise UsageError(f"--adapter {spec!r}: expected module:Class")
    if module_name.startswith(".") or "/" in module_name or module_name.endswith(".py"):
        raise UsageError(
            f"--adapter {spec!r}: {module_name} is a path or a relative module; give the module's "
            "dotted name as Python imports it (a folder on PYTHONPATH), e.g. my_adapters.shop:Shop"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--adapter {spec!r}: cannot import {module_name}: {exc}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's module, any error
        raise UsageError(
            f"--adapter {spec!r}: importing {module_name} failed: {_one_line(exc)}"
        ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, ClaimAdapter):
        raise UsageError(f"--adapter {spec!r}: {class_name} is not a ClaimAdapter subclass")
    _check_constructor(spec, cls)
    return cls


def _check_constructor(spec: str, cls: type[ClaimAdapter]) -> None:
    """The harness makes every client as ``cls(base_url, timeout=seconds)``: a constructor that
    cannot be called so is found now, not in the middle of a run."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return  # no signature to read (a C extension): found out when it is called
    try:
        signature.bind("http://127.0.0.1:1", timeout=1.0)
    except TypeError as exc:
        raise UsageError(
            f"--adapter {spec!r}: {cls.__name__}{signature} cannot be called as "
            f"{cls.__name__}(base_url, timeout=SECONDS): {exc}"
        ) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
