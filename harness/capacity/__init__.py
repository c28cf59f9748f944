"""``coupon-chaos capacity``: the highest open-loop rate at which a service still meets an SLO,
found by doubling then bisecting short steps, each step's history checked like any surge's."""
