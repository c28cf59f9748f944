"""Imported first in a Locust process (gevent-patched): hides trio from httpcore.

Why: httpx, which harness.client imports, loads httpcore, which imports trio when it is
installed; gevent's monkey-patching removes ``select.epoll``, and trio's import then fails. A
Locust process never runs trio, so it is marked absent there (``import trio`` raises
ImportError, which httpcore expects when trio is not installed). Never imported by the harness's
own process."""

from __future__ import annotations

import sys

if "trio" not in sys.modules:
    sys.modules["trio"] = None  # type: ignore[assignment]
