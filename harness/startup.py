"""What a Ctrl-C during start-up does: one line and exit code 130, like an interrupted run.

Why ``os._exit``: start-up imports matplotlib, hypothesis and C extensions, and a SIGINT that
lands while some C code runs Python (``PyRun_String``) marks the interpreter as killed by
SIGINT even though the KeyboardInterrupt is caught here; a normal exit would then end the
process by SIGINT (-2) instead of 130. Nothing has been started yet, so there is nothing for
a normal exit to clean up; the streams are flushed first.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

INTERRUPTED = 130
"""The exit code of a command interrupted by Ctrl-C (128 + SIGINT), as shells report it."""


def exit_interrupted_at_startup() -> NoReturn:
    """Print the one line and end the process with :data:`INTERRUPTED`."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    try:
        sys.stderr.write("coupon-chaos: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(INTERRUPTED)
