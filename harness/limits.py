"""The ranges of the numeric settings a user gives (CLI options, the pytest plugin, RunOptions).

Why one module: the argparse types (harness.commands.values), the library's own validation
(harness.engine.run.RunOptions.validate) and the help texts must state the same limits, and the
pytest plugin needs them without importing the engine.
"""

from __future__ import annotations

MAX_BUDGET = 7 * 24 * 3600.0
"""The longest --budget: a week."""
MAX_SHRINK = 24 * 3600.0
"""The longest --minimize, --shrink, and a surge's --duration and --ramp: a day."""
MAX_CLIENT_TIMEOUT = 600.0
"""The longest --client-timeout: ten minutes."""
MAX_ADMISSION_LIMIT = 1_000_000
"""The largest --admission-limit (claims in flight before a bundled target answers 429)."""
MAX_CLOCK_MARGIN_MS = 3_600_000.0
"""The widest ``check --clock-margin``: an hour. Clocks further apart than that are not kept in
sync at all, and a margin that wide excuses nearly every refusal in a history."""
