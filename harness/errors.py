"""Errors the harness reports to a user as one line with a documented exit code.

Anything raised as a :class:`HarnessError` is caught by the CLI (and the pytest plugin) and shown as
``coupon-chaos: <message>`` with its exit code, never as a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of every ``coupon-chaos`` command (documented in README and --help)."""

    OK = 0
    """Every invariant held (or the command did what it was asked)."""
    VIOLATION = 1
    """An invariant was violated (a scenario file was saved), the metastability probe's
    ``recovers-after-trigger`` failed, or capacity found no rate meeting its SLO."""
    USAGE = 2
    """Bad usage or configuration: unknown target, malformed scenario, invalid option value."""
    INFRASTRUCTURE = 3
    """The target, the fault proxy or the runtime could not be reached or started."""


class HarnessError(Exception):
    """A failure that ends a command with one clear line."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(HarnessError):
    """The user asked for something that cannot be: bad option, unknown target, bad file."""

    exit_code = ExitCode.USAGE


class InfrastructureError(HarnessError):
    """Something the harness depends on is unavailable: a target, a store, the proxy, Docker."""

    exit_code = ExitCode.INFRASTRUCTURE
