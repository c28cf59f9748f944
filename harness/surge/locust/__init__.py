"""The surge on Locust's distributed runner (``coupon-chaos surge --engine locust``).

Modules, one job each; only ``user``, ``master`` and ``bundled.locustfile`` import Locust (and
run in Locust's own processes, which gevent monkey-patches), so importing this package or
:mod:`harness.surge.locust.driver` never needs Locust:

* ``protocol``: the job the master hands every worker and the messages they exchange.
* ``recorder``: a worker's part of the history, shipped in batches.
* ``user``: :class:`~harness.surge.locust.user.ClaimUser`, the closed-loop claimer as a Locust
  user class, and the worker side of the messages.
* ``bundled/locustfile.py``: what ``locust -f`` loads on a worker.
* ``master``: the Locust master process: starts the users, collects every op batch into one
  part file per worker, ends the surge.
* ``driver``: in the harness process: the campaign, the master and workers, the faults, then
  the heal, drain, final read and merge of :class:`harness.surge.driver.SurgeDriver`.
"""
