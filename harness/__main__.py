"""``python -m harness``: the CLI; a Ctrl-C while it is still being imported is one line too."""

import sys

from harness.startup import exit_interrupted_at_startup

try:
    from harness.interrupts import install

    install()  # first: a Ctrl-C that an import swallows is raised again once start-up is done
    from harness.cli import main
except KeyboardInterrupt:
    exit_interrupted_at_startup()

sys.exit(main())
