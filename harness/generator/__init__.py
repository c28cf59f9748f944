"""What to do next: Hypothesis strategies, the chaos state machine and its settings profiles."""

from harness.generator.profiles import PROFILES, Profile

__all__ = ["PROFILES", "Profile"]
