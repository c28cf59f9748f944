"""coupon-chaos: a chaos and resilience harness for coupon claim services.

The package follows Jepsen's split: ``client`` talks to a service, ``faults``/``faultproxy``
break the network, ``runtime`` runs targets, ``generator`` decides what to do, ``history``
records what happened and ``checkers`` decide whether an invariant broke.
"""

__version__ = "0.1.0"
"""The one place the version is written: pyproject.toml reads it (setuptools dynamic version),
and the CLI, scenario files and Docker image tags use it."""
