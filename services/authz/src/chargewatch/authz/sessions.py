"""Active charging sessions per token, in Redis, for the concurrent-session limit.

A cloned card must not charge at two stations at once. Each token has a hash
`cw:authz:sessions:<token key>` of "<station>/<transaction>" -> the epoch second the session stops
counting (its start plus the maximum session duration); a reverse key per transaction finds the
token when the gateway's transaction ENDED event arrives without one. Everything here can be lost
and rebuilt: a lost session only means one card could briefly charge twice.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis.asyncio as aioredis
from opentelemetry.instrumentation.utils import suppress_instrumentation

from chargewatch.streams import Event
from chargewatch.v1 import events_pb2

_PREFIX = "cw:authz:sessions:"
_TX_PREFIX = "cw:authz:tx:"

# KEYS: sessions hash, reverse key. ARGV: field, now, expires_at, limit, reverse value.
# Drops expired sessions, then: the same transaction again -> 1 (idempotent); at the limit -> 0;
# else records it -> 1. Atomic, so two stations racing with one card cannot both get in.
_RESERVE = """
local now = tonumber(ARGV[2])
local entries = redis.call('HGETALL', KEYS[1])
local active = 0
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) <= now then
    redis.call('HDEL', KEYS[1], entries[i])
  elseif entries[i] ~= ARGV[1] then
    active = active + 1
  end
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 1
end
if active >= tonumber(ARGV[4]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local ttl = math.max(1, tonumber(ARGV[3]) - now)
if redis.call('TTL', KEYS[1]) < ttl then
  redis.call('EXPIRE', KEYS[1], ttl)
end
redis.call('SET', KEYS[2], ARGV[5], 'EX', ttl)
return 1
"""

# KEYS: sessions hash, reverse key. ARGV: field, now. Counts the sessions other than this one.
_COUNT_OTHERS = """
local now = tonumber(ARGV[2])
local entries = redis.call('HGETALL', KEYS[1])
local active = 0
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) > now and entries[i] ~= ARGV[1] then
    active = active + 1
  end
end
return active
"""


def _field(station_id: str, transaction_id: str) -> str:
    return f"{station_id}/{transaction_id}"


class SessionTracker:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._reserve = redis.register_script(_RESERVE)
        self._count = redis.register_script(_COUNT_OTHERS)

    async def reserve(self, key: str, station_id: str, transaction_id: str, *, limit: int, max_seconds: int) -> bool:
        """Record a starting session; False when the token already has `limit` other sessions."""
        now = int(time.time())
        field = _field(station_id, transaction_id)
        # On the Authorize path: no Redis client span (see cache.py).
        with suppress_instrumentation():
            result = await self._reserve(
                keys=[_PREFIX + key, _TX_PREFIX + field], args=[field, now, now + max_seconds, limit, key]
            )
        return bool(result)

    async def others_active(self, key: str, station_id: str) -> int:
        """Sessions of the token anywhere but a pending one at this station (for a plain Authorize)."""
        with suppress_instrumentation():
            result = await self._count(
                keys=[_PREFIX + key, _TX_PREFIX], args=[_field(station_id, ""), int(time.time())]
            )
        return int(result)

    async def end(self, station_id: str, transaction_id: str, key: str = "") -> bool:
        """The transaction ended: it stops counting. True when it was tracked."""
        field = _field(station_id, transaction_id)
        if not key:
            found = await self._redis.get(_TX_PREFIX + field)
            if found is None:
                return False
            key = found.decode() if isinstance(found, bytes) else str(found)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hdel(_PREFIX + key, field)
        pipe.delete(_TX_PREFIX + field)
        removed, _ = await pipe.execute()
        return bool(removed)

    async def active(self, key: str) -> list[str]:
        now = int(time.time())
        entries = await self._redis.hgetall(_PREFIX + key)
        return sorted(
            (f.decode() if isinstance(f, bytes) else str(f)) for f, until in entries.items() if int(until) > now
        )

    async def handle_transactions(self, events: Sequence[Event]) -> None:
        """Consumer-group handler for the transaction stream: ENDED events end sessions (idempotent)."""
        for event in events:
            if event.payload_kind != "transaction":
                continue
            tx: events_pb2.TransactionEvent = event.envelope.transaction
            if tx.kind == events_pb2.TransactionEvent.KIND_ENDED and tx.transaction_id:
                await self.end(event.envelope.station_id, tx.transaction_id)
