"""One active monitor at a time: a lease in Redis.

Detection is stateful across stations (a token seen in two cities, a storm over a tenant), so one
process must see every event. Every replica serves the `Security` API; only the holder of the lease
consumes the streams, raises alerts and carries out responses. The others wait as hot standbys and take
over within one lease period when the holder dies; the consumer name is fixed, so the new holder resumes
the entries the old one left unacknowledged at once.
"""

from __future__ import annotations

import redis.asyncio as aioredis

# Extend the lease only while we still hold it (a paused holder must not revive a lease taken over).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaderLease:
    def __init__(self, redis: aioredis.Redis, key: str, holder: str, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be > 0")
        self.redis = redis
        self.key = key
        self.holder = holder
        self.ttl_ms = int(ttl_seconds * 1000)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, self.holder, nx=True, px=self.ttl_ms))

    async def renew(self) -> bool:
        return bool(await self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])

    async def holder_now(self) -> str | None:
        value = await self.redis.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)
