"""The flash-sale ("seckill") architecture (issue 16): stock pre-deducted in Redis by one Lua
script that also appends the order to a Redis Stream, a worker that moves the orders into
PostgreSQL, the database of record. docs/seckill.md describes it and its seeded bugs.

* :mod:`targets.seckill.scripts` -- the Lua scripts, the key names and the SQL schema, shared by
  both sides so that they cannot disagree;
* :mod:`targets.seckill.store` -- the service's side (a :class:`targets.stores.base.Store`);
* :mod:`targets.seckill.worker` -- the worker (``python -m targets.seckill``).
"""
