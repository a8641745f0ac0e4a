"""Active charging sessions per token, in Redis, for the concurrent-session limit.

A cloned card must not charge at two stations at once. Each token has a hash
`cw:authz:sessions:{<token key>}` of "<station>/<transaction>" -> the epoch second the session
stops counting (its start plus the maximum session duration). The braces are a Redis Cluster hash
tag shared with the token's cached view (`cache.redis_key`), so one script reads the view and
reserves the session atomically on a cluster too. A set per transaction,
`cw:authz:tx-tokens:<station>/<transaction>`, names the tokens that reserved it, so the gateway's
transaction ENDED event (which names no token) ends their sessions; it lives in its own slot and
is written by its own command, in the same round trip.

Only a transaction start (Authorize with a transaction id) reserves, atomically in Redis: that is
what keeps the limit across replicas. A plain Authorize only reports the sessions it sees, which
a process may answer from what it read in the last `local_seconds` (a session started through
another replica within that time is refused at its own transaction start, not here).

Everything here can be lost and rebuilt: a lost session only means one card could briefly charge
twice. (Renamed keys, as with the hash tags, are such a loss for the sessions running at a rollout.)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from opentelemetry.instrumentation.utils import suppress_instrumentation

from chargewatch.authz.cache import LocalMemory, TrackedReads
from chargewatch.authz.cache import redis_key as view_key
from chargewatch.authz.pipelined_redis import PipelinedRedis, Script
from chargewatch.streams import Event
from chargewatch.v1 import events_pb2

_PREFIX = "cw:authz:sessions:"
_TX_PREFIX = "cw:authz:tx-tokens:"

# (station/transaction, epoch second it stops counting) of a token's sessions, as last read.
Sessions = tuple[tuple[str, int], ...]

# Lua shared by the reserving scripts. KEYS[2]: the sessions hash; field, now, until, limit.
# Drops expired sessions, then: the same transaction again -> 1 (idempotent); at the limit -> 0;
# else records it -> 1. Atomic, so two stations racing with one card cannot both get in.
_RESERVE_FUNCTION = """
local function reserve(hash, field, now, expires, limit)
  local entries = redis.call('HGETALL', hash)
  local active = 0
  local present = false
  for i = 1, #entries, 2 do
    if tonumber(entries[i + 1]) <= now then
      redis.call('HDEL', hash, entries[i])
    elseif entries[i] == field then
      present = true
    else
      active = active + 1
    end
  end
  if present then
    return 1
  end
  if active >= limit then
    return 0
  end
  redis.call('HSET', hash, field, expires)
  local ttl = math.max(1, expires - now)
  if redis.call('TTL', hash) < ttl then
    redis.call('EXPIRE', hash, ttl)
  end
  return 1
end
"""

# KEYS: the token's cached view, its sessions hash (one slot). ARGV: field, now, until, limit.
# Returns {1 or 0, the sessions after}.
RESERVE = Script(
    _RESERVE_FUNCTION
    + """
local reserved = reserve(KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
return {reserved, redis.call('HGETALL', KEYS[2])}
"""
)

# KEYS: the token's cached view, its sessions hash (one slot). ARGV: field, now, until, limit,
# the station's tenant, then "*" (any group) or "=" followed by the groups the policies allow.
# Reserves only when the cached view would be accepted at this station (active, same tenant, an
# allowed group): what `Authorizer._decide` then decides from the same view. Returns
# {view or nil, 1 reserved / 0 at the limit / -1 not tried, the sessions after}.
LOOKUP_AND_RESERVE = Script(
    _RESERVE_FUNCTION
    + """
local view = redis.call('GET', KEYS[1])
local reserved = -1
if view then
  local ok, decoded = pcall(cjson.decode, view)
  if ok and decoded['s'] == 'active' and decoded['t'] == ARGV[5] then
    local allowed = ARGV[6] == '*'
    if not allowed then
      for i = 7, #ARGV do
        if decoded['g'] == ARGV[i] then
          allowed = true
          break
        end
      end
    end
    if allowed then
      reserved = reserve(KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
    end
  end
end
return {view, reserved, redis.call('HGETALL', KEYS[2])}
"""
)

# KEYS: the transaction's token set. ARGV: token key, seconds to keep it (extended, never shortened).
TRACK = Script(
    """
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('TTL', KEYS[1]) < ttl then
  redis.call('EXPIRE', KEYS[1], ttl)
end
return 1
"""
)


def redis_key(key: str) -> str:
    """The Redis hash of a token's sessions (hash-tagged like its cached view)."""
    return f"{_PREFIX}{{{key}}}"


def transaction_key(station_id: str, transaction_id: str) -> str:
    return f"{_TX_PREFIX}{station_id}/{transaction_id}"


def session_field(station_id: str, transaction_id: str) -> str:
    return f"{station_id}/{transaction_id}"


def parse_sessions(flat: Sequence[Any], now: float) -> Sessions:
    """HGETALL's flat reply as the sessions still counting at `now`."""
    sessions = []
    for i in range(0, len(flat) - 1, 2):
        until = int(flat[i + 1])
        if until > now:
            name = flat[i]
            sessions.append((name.decode() if isinstance(name, bytes) else str(name), until))
    return tuple(sessions)


def others(sessions: Sessions, field: str, now: float) -> int:
    """Sessions counting at `now`, other than `field`."""
    return sum(1 for name, until in sessions if until > now and name != field)


@dataclass(frozen=True, slots=True)
class Lookup:
    """A token's cached view (raw, None when not cached) and its sessions, read in one round trip."""

    view: bytes | None
    sessions: Sessions
    # Transaction starts only: True reserved, False refused at the limit, None not tried.
    reserved: bool | None = None
    # A tracked read's keeping time (cache.TrackedReads), None: the default local one.
    keep_seconds: float | None = None


# Tokens whose sessions a process remembers at most (oldest dropped first).
LOCAL_CAPACITY = 100_000


class SessionTracker:
    def __init__(
        self,
        redis: aioredis.Redis,
        hot: PipelinedRedis,
        *,
        local_seconds: float = 0.0,
        local_capacity: int = LOCAL_CAPACITY,
        tracked: TrackedReads | None = None,
    ) -> None:
        self._redis = redis
        self._hot = hot
        self._local = LocalMemory[Sessions](local_seconds, local_capacity)
        # When `hot` is tracked by Redis (server-assisted client-side caching): lookups kept longer.
        self.tracked = tracked
        if tracked is not None:
            tracked.watch(self._local)

    # -- the process's own memory ---------------------------------------------------------------
    def remembered(self, key: str) -> Sessions | None:
        """The token's sessions as read in the last `local_seconds`, or None."""
        return self._local.get(key)

    def forget(self, key: str) -> None:
        self._local.drop(key)

    @property
    def local(self) -> LocalMemory[Sessions]:
        return self._local

    # -- the Authorize path (one round trip each) ------------------------------------------------
    async def lookup(self, key: str) -> Lookup:
        """The token's cached view and its sessions (a plain Authorize)."""
        tracked = self.tracked
        since = tracked.mark() if tracked is not None else 0
        raw, flat = await self._hot.execute_many([("GET", view_key(key)), ("HGETALL", redis_key(key))])
        sessions = parse_sessions(flat, time.time())
        keep = tracked.keep_seconds(key, since) if tracked is not None else None
        self._local.put(key, sessions, keep)
        return Lookup(raw, sessions, keep_seconds=keep)

    async def lookup_and_reserve(
        self,
        key: str,
        station_id: str,
        transaction_id: str,
        *,
        tenant_id: str,
        groups: frozenset[str] | None,
        limit: int,
        max_seconds: int,
    ) -> Lookup:
        """The token's cached view, and its session reserved when that view is accepted here."""
        now = int(time.time())
        field = session_field(station_id, transaction_id)
        allowed = ("*",) if groups is None else ("=", *sorted(groups))
        reply, _ = await self._hot.eval_many(
            [
                (
                    LOOKUP_AND_RESERVE,
                    [view_key(key), redis_key(key)],
                    [field, now, now + max_seconds, limit, tenant_id, *allowed],
                ),
                self._track(key, station_id, transaction_id, max_seconds),
            ]
        )
        raw, reserved, flat = reply
        sessions = parse_sessions(flat, now)
        self._local.put(key, sessions)
        return Lookup(raw, sessions, None if reserved == -1 else bool(reserved))

    async def reserve(self, key: str, station_id: str, transaction_id: str, *, limit: int, max_seconds: int) -> bool:
        """Record a starting session; False when the token already has `limit` other sessions."""
        now = int(time.time())
        field = session_field(station_id, transaction_id)
        reply, _ = await self._hot.eval_many(
            [
                (RESERVE, [view_key(key), redis_key(key)], [field, now, now + max_seconds, limit]),
                self._track(key, station_id, transaction_id, max_seconds),
            ]
        )
        reserved, flat = reply
        self._local.put(key, parse_sessions(flat, now))
        return bool(reserved)

    @staticmethod
    def _track(key: str, station_id: str, transaction_id: str, max_seconds: int) -> tuple[Script, list[str], list[Any]]:
        # Sent whether or not the reservation succeeds (same round trip, its own slot): ending a
        # transaction a token did not reserve removes nothing.
        return TRACK, [transaction_key(station_id, transaction_id)], [key, max(1, max_seconds)]

    # -- ending sessions -------------------------------------------------------------------------
    async def end(self, station_id: str, transaction_id: str, key: str = "") -> bool:
        """The transaction ended: it stops counting. True when it was tracked."""
        field = session_field(station_id, transaction_id)
        if key:
            keys = [key]
        else:
            members = await self._redis.smembers(transaction_key(station_id, transaction_id))
            keys = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
            if not keys:
                return False
        pipe = self._redis.pipeline(transaction=False)
        for token in keys:
            pipe.hdel(redis_key(token), field)
        if not key:
            pipe.delete(transaction_key(station_id, transaction_id))
        removed = await pipe.execute()
        for token in keys:
            self.forget(token)
        return any(removed[: len(keys)])

    async def active(self, key: str) -> list[str]:
        with suppress_instrumentation():
            entries = await self._redis.hgetall(redis_key(key))
        now = int(time.time())
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
