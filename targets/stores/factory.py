"""Which store class a configuration asks for."""

from __future__ import annotations

from targets.service.config import ServiceConfig
from targets.stores.base import Store


def make_store(config: ServiceConfig) -> Store:
    store = _store(config)
    if config.replica is not None:
        store.replica = config.replica
    return store


def _store(config: ServiceConfig) -> Store:
    if config.bug is not None:
        from targets.bugs import BUG_STORES

        cls = BUG_STORES[config.bug]
        if config.store == "seckill":
            assert config.store_url is not None and config.database_url is not None
            return cls(config.store_url, config.database_url)
        return cls(config.data_dir if config.store == "sqlite" else config.store_url)
    if config.store == "sqlite":
        from targets.stores.sqlite import SqliteStore

        return SqliteStore(config.data_dir)
    assert config.store_url is not None
    if config.store == "seckill":
        from targets.seckill.store import SeckillStore

        assert config.database_url is not None
        return SeckillStore(config.store_url, config.database_url)
    if config.store == "redis":
        from targets.stores.redis import RedisStore

        return RedisStore(config.store_url)
    from targets.stores.postgres import PostgresStore

    return PostgresStore(config.store_url)
