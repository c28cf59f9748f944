"""A user's adapter, as a user would write one: it counts its claims in a file."""

import os

from harness.client import HttpClaimAdapter


class CountingAdapter(HttpClaimAdapter):
    def claim(self, request):
        with open(os.environ["COUNTING_ADAPTER_FILE"], "a") as out:
            out.write(request.idempotency_key + "\n")
        return super().claim(request)


class RaisingAdapter(HttpClaimAdapter):
    """A buggy adapter: its claim raises instead of classifying the answer."""

    def claim(self, request):
        raise RuntimeError(f"adapter bug while claiming {request.idempotency_key}")
