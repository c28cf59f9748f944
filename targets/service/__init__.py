"""The coupon claim service: ``python -m targets.service --store sqlite --port 0 --data-dir D``."""

from targets.service.config import ConfigError, ServiceConfig, parse_config

__all__ = ["ConfigError", "ServiceConfig", "parse_config"]
