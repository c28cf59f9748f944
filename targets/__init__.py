"""The coupon services the harness attacks: one real aiohttp service over sqlite, redis or
postgres (``python -m targets.service``), with seeded bugs that can be switched on one at a time.
"""
