"""Ctrl-C and SIGTERM that are never lost.

Python turns SIGINT into a KeyboardInterrupt raised wherever the main thread happens to be. When
that is a garbage-collector callback or a weakref callback (importlib's module locks, Hypothesis's
gc timer), Python prints "Exception ignored in ..." and carries on: the interrupt is swallowed and
a Ctrl-C during start-up let a whole run go on to exit 0 (seen in CI). The :class:`SignalLatch`
handler remembers every signal it turned into an exception, and :func:`raise_if_swallowed`, called
at a few safe points (after start-up, on every progress tick), raises it again if it never reached
the CLI. Swallowed interrupts are kept off stderr: the one line the CLI prints is the report.

The latch's state lives in the handler object the :mod:`signal` module holds, not in a module
global: :func:`raise_if_swallowed` finds it through :func:`signal.getsignal`.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as a KeyboardInterrupt so it takes Ctrl-C's cleanup path (finally blocks,
    teardown) while the exit code still tells the two apart: 143 rather than 130."""


class SignalLatch:
    """The SIGINT/SIGTERM handler: raise the interrupt now, and remember it in case the place it
    was raised in swallows it."""

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        raise _exception_for(signum)

    def check(self) -> None:
        """Raise the signal received, if any: only reached when its first raise was swallowed
        (a raise that propagated ends the command before any further check)."""
        if self.received is not None:
            raise _exception_for(self.received)


def _exception_for(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def install() -> SignalLatch:
    """Make SIGINT and SIGTERM raise through one latch; swallowed interrupts print nothing."""
    latch = SignalLatch()
    signal.signal(signal.SIGINT, latch)
    signal.signal(signal.SIGTERM, latch)
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return  # the latch raises it again at the next safe point
        previous(unraisable)

    sys.unraisablehook = hook
    return latch


def raise_if_swallowed() -> None:
    """At a safe point: re-raise a Ctrl-C or SIGTERM whose first raise was swallowed."""
    handler = signal.getsignal(signal.SIGINT)
    if isinstance(handler, SignalLatch):
        handler.check()
