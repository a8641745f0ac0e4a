"""Which replica holds a station's socket: a Redis lease per connected station.

When a session is added the replica writes `station -> (instance, gRPC address, session token)`
with a TTL and renews it while the socket is open; when the session ends the lease is deleted,
but only if it is still that session's (compare-and-delete in Lua: a station that reconnected
elsewhere meanwhile keeps its new lease). A replica that dies stops renewing, so its leases
expire after the TTL. Redis holds nothing that cannot be rebuilt: every open session writes its
lease again at the next renewal.

Lease trouble (Redis away) never closes a station's socket; it only makes the station
unreachable from other replicas until Redis answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Final

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX: Final = "cw:gateway:owner:"

# Delete the lease only when it still holds this session's value.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# Renew this session's lease, or write it again when it expired (Redis restarted, a long pause);
# never take over a lease another session (a newer connection of the station) holds.
_RENEW: Final = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


LostHandler = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Owner:
    """The replica holding a station's socket."""

    instance: str
    address: str


def lease_key(station_id: str) -> str:
    return f"{KEY_PREFIX}{station_id}"


class StationOwnership:
    def __init__(self, redis: aioredis.Redis, *, instance: str, address: str, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self.redis = redis
        self.instance = instance
        self.address = address
        self.ttl_ms = max(int(ttl_seconds * 1000), 1)
        # station id -> the lease value this replica wrote for its current session.
        self._held: dict[str, bytes] = {}
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)

    @property
    def renew_interval_seconds(self) -> float:
        return self.ttl_ms / 3000

    def held(self) -> list[str]:
        return list(self._held)

    async def claim(self, station_id: str) -> bool:
        """Make this replica the station's owner (the newest connection wins); False when Redis refused."""
        value = orjson.dumps({"instance": self.instance, "address": self.address, "session": uuid.uuid4().hex})
        self._held[station_id] = value
        try:
            await self.redis.set(lease_key(station_id), value, px=self.ttl_ms)
        except RedisError as error:
            log.warning("could not write station lease", extra={"station_id": station_id, "error": str(error)})
            return False
        return True

    async def release(self, station_id: str) -> bool:
        """Delete the station's lease if it is still ours; True when it was deleted."""
        value = self._held.pop(station_id, None)
        if value is None:
            return False
        try:
            return bool(await self._release(keys=[lease_key(station_id)], args=[value]))
        except RedisError as error:
            log.warning("could not release station lease", extra={"station_id": station_id, "error": str(error)})
            return False

    async def release_all(self) -> None:
        await asyncio.gather(*(self.release(s) for s in self.held()))

    async def renew(self, station_ids: Iterable[str] | None = None) -> list[str]:
        """Renew the leases of the given (default: all held) stations; returns those another session now holds."""
        lost: list[str] = []
        for station_id in list(station_ids if station_ids is not None else self._held):
            value = self._held.get(station_id)
            if value is None:
                continue
            try:
                if not await self._renew(keys=[lease_key(station_id)], args=[value, self.ttl_ms]):
                    log.info("station lease taken by a newer connection", extra={"station_id": station_id})
                    lost.append(station_id)
            except RedisError as error:
                log.warning("could not renew station lease", extra={"station_id": station_id, "error": str(error)})
        return lost

    async def run_renewals(self, stop: asyncio.Event, on_lost: LostHandler | None = None) -> None:
        """Renew every held lease at a third of the TTL until `stop` is set.

        `on_lost` hears of each station whose lease a newer connection (on another replica) took:
        OCPP allows one connection per station, so the older one should close.
        """
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.renew_interval_seconds)
            if stop.is_set():
                break
            for station_id in await self.renew():
                if on_lost is not None:
                    try:
                        await on_lost(station_id)
                    except Exception:
                        log.exception("could not close a session replaced elsewhere", extra={"station_id": station_id})

    async def owner(self, station_id: str) -> Owner | None:
        """The replica holding the station's socket, or None when no replica does (or Redis cannot say)."""
        try:
            raw = await self.redis.get(lease_key(station_id))
        except RedisError as error:
            log.warning("could not read station lease", extra={"station_id": station_id, "error": str(error)})
            return None
        if raw is None:
            return None
        try:
            value = orjson.loads(raw)
            return Owner(str(value["instance"]), str(value["address"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("unreadable station lease", extra={"station_id": station_id})
            return None
