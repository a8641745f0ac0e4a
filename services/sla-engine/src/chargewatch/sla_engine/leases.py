"""Which replica consumes which stream partition: leases in Redis with fencing generations.

A station's availability needs all of its events in one place, in memory, so exactly one replica
consumes a partition at a time. Each replica keeps a membership entry alive; it claims free
partitions up to its fair share (partitions / live replicas, rounded up) and gives back what it
holds beyond it, so partitions spread as replicas come and go. A lease carries a generation (a
counter increased on every acquisition): the owner stamps its writes with it, and a store write
from an older generation is refused (see store.fence), so a replica that lost its lease while
paused cannot overwrite the new owner's state.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass
from typing import Final

import redis.asyncio as aioredis

# KEYS: lease. ARGV: holder value, ttl ms. Extend only our own lease.
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: lease. ARGV: holder value. Delete only our own lease.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Lease:
    partition: int
    gen: int
    value: str


class PartitionLeases:
    def __init__(
        self, redis: aioredis.Redis, *, partitions: int, instance: str, ttl_ms: int, prefix: str = "cw:sla"
    ) -> None:
        if partitions < 1 or ttl_ms < 1000:
            raise ValueError("partitions must be >= 1 and the lease ttl at least 1000 ms")
        self.redis = redis
        self.partitions = partitions
        self.instance = instance
        self.ttl_ms = ttl_ms
        self.prefix = prefix
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def _key(self, partition: int) -> str:
        return f"{self.prefix}:lease:{{{partition}}}"

    @property
    def _members(self) -> str:
        return f"{self.prefix}:members"

    async def heartbeat(self) -> int:
        """Keep this replica's membership alive; returns the live replicas (this one included)."""
        now = int(time.time() * 1000)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self._members, {self.instance: now + self.ttl_ms})
        pipe.zremrangebyscore(self._members, "-inf", now)
        pipe.zcard(self._members)
        _, _, count = await pipe.execute()
        return max(1, int(count))

    async def leave(self) -> None:
        await self.redis.zrem(self._members, self.instance)

    def fair_share(self, members: int) -> int:
        return math.ceil(self.partitions / max(1, members))

    def preferred_order(self) -> list[int]:
        """Partitions in an order that differs per replica, so two replicas rarely race for one."""
        start = zlib.crc32(self.instance.encode()) % self.partitions
        return [(start + i) % self.partitions for i in range(self.partitions)]

    async def acquire(self, partition: int) -> Lease | None:
        key = self._key(partition)
        if await self.redis.exists(key):
            return None
        gen = int(await self.redis.incr(f"{self.prefix}:lease-gen:{{{partition}}}"))
        value = f"{self.instance}#{gen}"
        if await self.redis.set(key, value, nx=True, px=self.ttl_ms):
            return Lease(partition, gen, value)
        return None

    async def renew(self, lease: Lease) -> bool:
        return bool(await self._renew(keys=[self._key(lease.partition)], args=[lease.value, self.ttl_ms]))

    async def release(self, lease: Lease) -> None:
        await self._release(keys=[self._key(lease.partition)], args=[lease.value])
