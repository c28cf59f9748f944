"""Settings profiles for chaos runs: how long, how many steps, how reproducible.

Profiles are built as values (not registered globally with ``settings.register_profile``) so that
importing the harness never changes a user's own Hypothesis defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, Verbosity, settings


@dataclass(frozen=True)
class Profile:
    name: str
    budget: float
    """Default seconds of searching (``--budget`` overrides)."""
    steps: int
    """Maximum steps per example (Hypothesis's stateful_step_count)."""
    chunk: int
    """Examples per Hypothesis run; the budget loop runs chunks with successive seeds."""
    shrink_seconds: float
    """How long shrinking a failure may take."""
    default_seed: int | None
    """A fixed seed makes the run derandomized (the same examples every time)."""

    def hypothesis_settings(self) -> settings:
        return settings(
            max_examples=self.chunk,
            stateful_step_count=self.steps,
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate]
            + ([Phase.shrink] if self.shrink_seconds > 0 else []),
            report_multiple_bugs=False,
            print_blob=False,
            verbosity=Verbosity.quiet,
        )


PROFILES: dict[str, Profile] = {
    "dev": Profile("dev", budget=30.0, steps=12, chunk=8, shrink_seconds=10.0, default_seed=None),
    "ci": Profile("ci", budget=60.0, steps=12, chunk=8, shrink_seconds=15.0, default_seed=0),
    "nightly": Profile(
        "nightly", budget=1800.0, steps=40, chunk=25, shrink_seconds=300.0, default_seed=None
    ),
}
