"""``python -m harness.surge.locust.bundled``: print the bundled locustfile's path, for the
worker command on another machine (``locust -f "$(...)" --worker --master-host HOST``)."""

from pathlib import Path

print(Path(__file__).resolve().parent / "locustfile.py")
