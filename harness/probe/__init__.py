"""The metastability probe (``coupon-chaos surge --probe metastable``): steady open-loop load,
a trigger, the trigger removed, an observation window; then the ``recovers-after-trigger``
verdict over the per-second goodput."""
