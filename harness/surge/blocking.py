"""Blocking calls from the surge's event loop, on threads that never hold up the exit.

Why not ``asyncio.to_thread``: its threads belong to the loop's default executor, and
``asyncio.run`` joins them on the way out. A Ctrl-C or SIGTERM during a blocking call (a final
read from a target that drips its answer, a restart waiting for a port) would then wait for that
call to finish. Here each call runs on a daemon thread whose result, if the loop is still there
to take it, settles an asyncio future: cancelling the await lets the surge's teardown run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on a daemon thread, awaited; cancellable at any moment (the call itself then
    runs to its own end, bounded by its own deadline, unobserved)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (fn(*args), None)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(
        target=work, name=f"surge-{getattr(fn, '__name__', 'call')}", daemon=True
    ).start()
    return await future
