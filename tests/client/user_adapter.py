"""A user's adapter, as a user would write one: it counts its claims in a file."""

import os

from harness.client import HttpClaimAdapter


class CountingAdapter(HttpClaimAdapter):
    def claim(self, request):
        with open(os.environ["COUNTING_ADAPTER_FILE"], "a") as out:
            out.write(request.idempotency_key + "\n")
        return super().claim(request)
