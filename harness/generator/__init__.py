"""What to draw: Hypothesis strategies and settings profiles (the chaos state machine that
executes them is engine code: harness.engine.machine)."""

from harness.generator.profiles import PROFILES, Profile

__all__ = ["PROFILES", "Profile"]
