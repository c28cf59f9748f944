"""What the seckill service and its worker share: Redis key names, the Lua scripts and the SQL
schema. One module, so the claim script, the worker's acknowledgement and the campaign read count
the same queue."""

from __future__ import annotations

STREAM = "cc:seckill:orders"
"""The order queue: one Redis Stream for every campaign (an entry names its campaign)."""
GROUP = "writers"
"""The consumer group the workers read the stream in."""
CODES_KEY = "cc:seckill:codes"


def campaign_keys(campaign_id: str) -> list[str]:
    """KEYS of the claim script: campaign hash, key records, per-user counts, codes, stream."""
    base = f"cc:seckill:{{{campaign_id}}}"
    return [f"{base}:campaign", f"{base}:keys", f"{base}:users", CODES_KEY, STREAM]


LOAD_LUA = """
-- KEYS: campaign   ARGV: stock, per_user_limit
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'stock', ARGV[1], 'per_user_limit', ARGV[2], 'issued', 0, 'queued', 0)
return 1
"""
"""Put a campaign of the database into Redis once (at creation, or when Redis does not have it):
the stock to sell, nothing sold, nothing queued. It trusts Redis to remember what it sold
afterwards -- which is what its persistence is for (bug-seckill-no-persistence)."""

DECIDE_LUA = """
-- KEYS: campaign, keys, users, codes, stream   ARGV: user, key, code, campaign_id
local c = redis.call('HMGET', KEYS[1], 'stock', 'per_user_limit', 'issued')
if not c[1] then return {'not_loaded'} end
local prev = redis.call('HGET', KEYS[2], ARGV[2])
if prev then
  local rec = cjson.decode(prev)
  if rec[1] ~= ARGV[1] then return {'idempotency_conflict'} end
  return {'repeat', rec[2]}
end
local held = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if held >= tonumber(c[2]) then return {'limit_reached'} end
if tonumber(c[3]) >= tonumber(c[1]) then return {'sold_out'} end
if redis.call('SADD', KEYS[4], ARGV[3]) == 0 then return {'code_taken'} end
redis.call('HSET', KEYS[2], ARGV[2], cjson.encode({ARGV[1], ARGV[3]}))
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('HINCRBY', KEYS[1], 'issued', 1)
"""

ENQUEUE_LUA_PART = """
redis.call('HINCRBY', KEYS[1], 'queued', 1)
redis.call('XADD', KEYS[5], '*', 'campaign', ARGV[4], 'code', ARGV[3], 'user', ARGV[1],
           'key', ARGV[2])
"""

CLAIM_LUA = DECIDE_LUA + ENQUEUE_LUA_PART + "return {'granted', ARGV[3]}\n"
"""The reference's claim: decide (stock, limit, key) and enqueue the order in one script, so an
acknowledged order is always on the queue."""

DEDUCT_ONLY_LUA = DECIDE_LUA + "return {'granted', ARGV[3]}\n"
"""The claim of bug-seckill-ack-before-enqueue: the deduction without the enqueue."""

ENQUEUE_LUA = """
-- KEYS: campaign, stream   ARGV: campaign_id, code, user, key
redis.call('HINCRBY', KEYS[1], 'queued', 1)
redis.call('XADD', KEYS[2], '*', 'campaign', ARGV[1], 'code', ARGV[2], 'user', ARGV[3],
           'key', ARGV[4])
return 1
"""
"""The enqueue on its own (bug-seckill-ack-before-enqueue sends it after answering)."""

ACK_LUA = """
-- KEYS: stream, campaign   ARGV: group, entry id
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'queued', -1)
end
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""
"""The worker's acknowledgement of one entry, after its insert committed: XACK and the queue
count move together, once per entry however often it is redelivered and acknowledged."""

SCHEMA_LOCK = 0x7365636B  # "seck"


def schema(unique: bool) -> str:
    """The database of record. ``unique``: one row per idempotency key and per code, which makes
    the worker's insert idempotent (the reference); bug-seckill-duplicate-consumer has neither."""
    constraints = (
        ",\n  CONSTRAINT sk_orders_code_unique UNIQUE (coupon_code),\n"
        "  CONSTRAINT sk_orders_key_unique UNIQUE (campaign_id, idempotency_key)"
        if unique
        else ""
    )
    return f"""
CREATE TABLE IF NOT EXISTS sk_campaigns (
  campaign_id text PRIMARY KEY,
  stock integer NOT NULL CHECK (stock >= 0),
  per_user_limit integer NOT NULL CHECK (per_user_limit >= 1)
);
CREATE TABLE IF NOT EXISTS sk_orders (
  seq bigserial PRIMARY KEY,
  campaign_id text NOT NULL REFERENCES sk_campaigns (campaign_id),
  coupon_code text NOT NULL,
  user_id text NOT NULL,
  idempotency_key text NOT NULL{constraints}
);
CREATE INDEX IF NOT EXISTS sk_orders_by_campaign ON sk_orders (campaign_id, seq);
"""


INSERT_IDEMPOTENT = (
    "INSERT INTO sk_orders (campaign_id, coupon_code, user_id, idempotency_key) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
)
INSERT_PLAIN = (
    "INSERT INTO sk_orders (campaign_id, coupon_code, user_id, idempotency_key) "
    "VALUES ($1, $2, $3, $4)"
)
