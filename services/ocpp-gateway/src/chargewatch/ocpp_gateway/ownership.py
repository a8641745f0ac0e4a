"""Which replica holds a station's socket: a Redis lease per connected station.

When a station's handshake is accepted, before its 101 answer, the replica writes `station ->
(instance, gRPC address, session token)` with a TTL (so a command sent through any replica the
moment the station is connected finds it), and renews it while the socket is open; when the
session ends, or its handshake does not complete, the lease is deleted, but only if it is still
that session's (compare-and-delete in Lua: a station that reconnected elsewhere meanwhile keeps
its new lease; here, a newer session's claim replaces the value held). A replica that dies
stops renewing, so its leases expire after the TTL. Redis holds nothing that cannot be rebuilt:
every open session writes its lease again at the next renewal.

Lease trouble (Redis away) never closes a station's socket; it only makes the station
unreachable from other replicas until Redis answers again.

With ten thousand stations per replica, the leases are written in bulk: the claims of stations
connecting (or leaving) at the same time share one pipeline, and renewals go in pipelines of a few
hundred (one command per key, so they still spread over a Redis Cluster). The commands are written
in RESP directly and sent together (`execute_packed`): a reconnect storm makes ten thousand of them
in seconds, and redis-py's pipeline bookkeeping would cost more than the rest of a handshake. They
run without the Redis instrumentation's spans, which would be one per station and renewal. A
scheduled renewal leaves out leases claimed less than one renewal interval before it: they still
hold more than two thirds of their TTL, and more than a third is left when the next renewal (one
interval later) writes them; in a reconnect storm that spares a second write of every new lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import orjson
import redis.asyncio as aioredis
from opentelemetry.instrumentation.utils import suppress_instrumentation
from redis.exceptions import NoScriptError, RedisError

from chargewatch.service.redis_client import PackedConnection, execute_packed, pack_words

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
# Leases renewed in one pipeline at most.
RENEWAL_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class Owner:
    """The replica holding a station's socket."""

    instance: str
    address: str


def lease_key(station_id: str) -> str:
    return f"{KEY_PREFIX}{station_id}"


def _no_script(reply: Any) -> bool:
    # redis-py's parser gives NoScriptError for a NOSCRIPT reply.
    return isinstance(reply, NoScriptError) or (isinstance(reply, Exception) and str(reply).startswith("NOSCRIPT"))


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
        # station id -> monotonic time of its claim, until a scheduled renewal has covered it.
        self._claimed_at: dict[str, float] = {}
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)
        # Claims waiting for the next pipeline, and the task sending them.
        self._claims: list[tuple[str, bytes, asyncio.Future[bool]]] = []
        self._claimer: asyncio.Task[None] | None = None
        # The claims' pipelines (one in flight at a time) on a connection of their own.
        self._packed = PackedConnection(redis)
        self._releases: list[tuple[str, bytes, asyncio.Future[bool]]] = []
        self._releaser: asyncio.Task[None] | None = None

    async def aclose(self) -> None:
        """Close the claims' connection (the Redis client is the caller's to close)."""
        await self._packed.aclose()

    @property
    def renew_interval_seconds(self) -> float:
        return self.ttl_ms / 3000

    def held(self) -> list[str]:
        return list(self._held)

    def lease_of(self, station_id: str) -> bytes | None:
        """The lease value this replica holds for the station (its latest claim), if any."""
        return self._held.get(station_id)

    @property
    def address(self) -> str:
        """The gRPC address other replicas forward this replica's stations' commands to."""
        return self._address

    @address.setter
    def address(self, address: str) -> None:
        # Settable: a replica knows its address once its gRPC server has bound its port.
        self._address = address
        self._value_head = orjson.dumps({"instance": self.instance, "address": address, "session": ""})[: -len(b'"}')]

    def new_lease(self) -> bytes:
        """This replica's lease for a new session: instance, address and a session token of its own."""
        # The same JSON as orjson.dumps({"instance": ..., "address": ..., "session": ...}), the
        # fixed part written once.
        return self._value_head + os.urandom(16).hex().encode() + b'"}'

    async def claim(self, station_id: str, lease: bytes | None = None) -> bool:
        """Make this replica the station's owner (the newest connection wins); False when Redis refused.

        A new lease value unless `lease` is given (a session's own lease, written again). Either way
        the lease is held, and renewed, even when Redis refused it now.
        """
        value = lease or self.new_lease()
        self._held[station_id] = value
        self._claimed_at[station_id] = time.monotonic()
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._claims.append((station_id, value, done))
        if self._claimer is None:
            self._claimer = asyncio.create_task(self._write_claims(), name="ownership-claims")
        return await done

    async def _write_claims(self) -> None:
        """Write every queued claim, one pipeline at a time (claims queued meanwhile go in the next)."""
        try:
            while self._claims:
                # One more turn of the event loop first: in a storm, the claims its handshakes
                # make join this pipeline (a pipeline costs far more than a command in it).
                await asyncio.sleep(0)
                batch, self._claims = self._claims, []
                commands = b"".join(
                    pack_words(b"SET", lease_key(station_id), value, b"PX", self.ttl_ms)
                    for station_id, value, _ in batch
                )
                try:
                    with suppress_instrumentation():
                        results = await self._packed.execute(commands, len(batch))
                except RedisError as error:
                    results = [error] * len(batch)
                for (station_id, _, done), result in zip(batch, results, strict=True):
                    if isinstance(result, Exception):
                        log.warning(
                            "could not write station lease", extra={"station_id": station_id, "error": str(result)}
                        )
                    if not done.done():
                        done.set_result(not isinstance(result, Exception))
        finally:
            self._claimer = None
            for _, _, done in self._claims:  # only when cancelled: nobody writes these
                if not done.done():
                    done.set_result(False)

    async def release(self, station_id: str, lease: bytes | None = None) -> bool:
        """Delete the station's lease if it is still ours; True when it was deleted.

        With `lease` (a session's own), only while this replica's latest claim for the station is
        that one: a newer session's lease, claimed meanwhile, stays.
        """
        value = self._held.get(station_id)
        if value is None or (lease is not None and value != lease):
            return False
        del self._held[station_id]
        self._claimed_at.pop(station_id, None)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._releases.append((station_id, value, done))
        if self._releaser is None:
            self._releaser = asyncio.create_task(self._write_releases(), name="ownership-releases")
        return await done

    async def _write_releases(self) -> None:
        """Compare-and-delete every queued lease, one pipeline at a time (as claims are written)."""
        try:
            while self._releases:
                await asyncio.sleep(0)  # as claims: more of a storm's releases in one pipeline
                batch, self._releases = self._releases, []
                try:
                    results = await self._evalsha_each(
                        self._release, _RELEASE, [(lease_key(station_id), (value,)) for station_id, value, _ in batch]
                    )
                except RedisError as error:
                    results = [error] * len(batch)
                for (station_id, _, done), result in zip(batch, results, strict=True):
                    if isinstance(result, Exception):
                        log.warning(
                            "could not release station lease", extra={"station_id": station_id, "error": str(result)}
                        )
                    if not done.done():
                        done.set_result(bool(result) and not isinstance(result, Exception))
        finally:
            self._releaser = None
            for _, _, done in self._releases:  # only when cancelled
                if not done.done():
                    done.set_result(False)

    async def _evalsha_each(self, script: Any, source: str, calls: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """One EVALSHA per key in one pipeline; the script is loaded again if Redis lost it (a restart)."""
        for attempt in range(2):
            sha = script.sha
            commands = b"".join(pack_words(b"EVALSHA", sha, 1, key, *args) for key, args in calls)
            with suppress_instrumentation():
                results: list[Any] = await execute_packed(self.redis, commands, len(calls))
            if attempt == 0 and any(_no_script(r) for r in results):
                script.sha = await self.redis.script_load(source)
                continue
            return results
        return results

    async def release_all(self) -> None:
        await asyncio.gather(*(self.release(s) for s in self.held()))

    async def renew(
        self, station_ids: Iterable[str] | None = None, *, claimed_before: float | None = None
    ) -> list[str]:
        """Renew the leases of the given (default: all held) stations; returns those another session now holds.

        With `claimed_before` (a `time.monotonic()` value), a lease claimed after it is left as
        it is (written moments ago, its TTL is still nearly whole).
        """
        wanted = list(station_ids if station_ids is not None else self._held)
        if claimed_before is not None and self._claimed_at:
            fresh = self._fresh_claims(claimed_before)
            wanted = [station_id for station_id in wanted if station_id not in fresh]
        held = [(station_id, value) for station_id in wanted if (value := self._held.get(station_id))]
        lost: list[str] = []
        for start in range(0, len(held), RENEWAL_CHUNK):
            chunk = held[start : start + RENEWAL_CHUNK]
            try:
                results = await self._renew_chunk(chunk)
            except RedisError as error:
                log.warning("could not renew station leases", extra={"stations": len(chunk), "error": str(error)})
                continue
            for (station_id, _), result in zip(chunk, results, strict=True):
                if isinstance(result, Exception):
                    log.warning("could not renew station lease", extra={"station_id": station_id, "error": str(result)})
                elif not result:
                    log.info("station lease taken by a newer connection", extra={"station_id": station_id})
                    lost.append(station_id)
        return lost

    def _fresh_claims(self, claimed_before: float) -> set[str]:
        """Stations claimed after `claimed_before`; older claims are forgotten (renewed from now on)."""
        claimed_at = self._claimed_at
        fresh = {station_id for station_id, at in claimed_at.items() if at > claimed_before}
        self._claimed_at = {station_id: claimed_at[station_id] for station_id in fresh}
        return fresh

    async def _renew_chunk(self, chunk: list[tuple[str, bytes]]) -> list[Any]:
        return await self._evalsha_each(
            self._renew, _RENEW, [(lease_key(station_id), (value, self.ttl_ms)) for station_id, value in chunk]
        )

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
            # A lease claimed within the last interval still has over a third of its TTL at the next renewal.
            claimed_before = time.monotonic() - self.renew_interval_seconds
            for station_id in await self.renew(claimed_before=claimed_before):
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
