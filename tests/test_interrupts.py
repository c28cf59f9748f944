"""A Ctrl-C or SIGTERM that Python swallows (raised inside a weakref or gc callback, where Python
only prints "Exception ignored") is raised again at the next safe point, silently: in CI such a
Ctrl-C during start-up once let a whole run go on and exit 0."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from clirun import cli_env

SWALLOWED = textwrap.dedent(
    """
    import os, signal, sys, time, weakref
    from harness.interrupts import Terminated, install, raise_if_swallowed

    install()

    class Thing:
        pass

    def callback(_ref):
        os.kill(os.getpid(), signal.{name})
        time.sleep(0.2)  # the handler runs in here: its exception cannot leave a callback

    thing = Thing()
    ref = weakref.ref(thing, callback)
    del thing  # the callback runs now and swallows the interrupt
    print("carried on", flush=True)
    try:
        raise_if_swallowed()
    except Terminated:
        sys.exit(143)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
    """
)


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_swallowed_signal_is_raised_again_without_noise(name: str, code: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SWALLOWED.format(name=name)],
        capture_output=True,
        text=True,
        timeout=30,
        env=cli_env(),
    )
    assert result.stdout == "carried on\n", (result.stdout, result.stderr)
    assert result.returncode == code, result.stderr
    assert result.stderr == ""  # no "Exception ignored ... KeyboardInterrupt" traceback


def test_nothing_received_nothing_raised() -> None:
    script = "from harness.interrupts import install, raise_if_swallowed\ninstall()\nraise_if_swallowed()"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=cli_env()
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
