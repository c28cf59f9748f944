"""``python -m harness``: the CLI; a Ctrl-C while it is still being imported is one line too."""

import sys

from harness.startup import exit_interrupted_at_startup

try:
    from harness.cli import main
except KeyboardInterrupt:
    exit_interrupted_at_startup()

sys.exit(main())
