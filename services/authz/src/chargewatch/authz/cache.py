"""The Redis cache of resolved token decisions: what Authorize answers from in well under 2 ms.

One key per token, `cw:authz:token:{<type>:<uid>}`, holding the token's resolved state (record
plus Keycloak link) and when it was resolved. The braces are a Redis Cluster hash tag shared with
the token's sessions hash (`sessions.redis_key`): a transaction start reads the view and reserves
the session in one script. Entries older than `refresh_seconds` are still answered but trigger a
refresh; entries live `keep_seconds` so the cache outlasts a Keycloak outage. A change made
through authz overwrites the entry at once (every replica reads the same Redis); nothing here is
authoritative and everything can be rebuilt from MongoDB and Keycloak.

In front of Redis, each process keeps the views it read in the last `local_seconds` (one second
by default in the service): a card presented again within that second is answered without
reading Redis. A change made on this replica replaces its local entry at once; one made on
another replica is seen here within `local_seconds`.

With server-assisted client-side caching (`TrackedReads`, on by default in the service), a view
and sessions read by the Authorize lookup are kept for `tracked_seconds` instead: Redis tells the
process when either key changes, expires or is evicted, and the entry is dropped at once. What
could have been missed is never kept long: a read during which its token's keys were invalidated,
and every read while the invalidation connection is down (then the one-second rule applies).

The Authorize path reads the view through `SessionTracker.lookup` (with the token's sessions, in
one round trip on the pipelined connection) and keeps it here with `remember`; `get` is the same
read for other callers, through redis-py, without the Redis instrumentation's client span (the
Authorize server span already times the whole decision).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
import redis.asyncio as aioredis
from opentelemetry.instrumentation.utils import suppress_instrumentation

_PREFIX = "cw:authz:token:"


def redis_key(key: str) -> str:
    """The Redis key of a token's cached view (hash-tagged by the token key)."""
    return f"{_PREFIX}{{{key}}}"


# Resolved states beyond the record's own statuses.
INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as Authorize sees it: status active/blocked/expired/invalid, and why."""

    status: str
    reason: str
    tenant_id: str = ""
    group_id: str = ""
    expires_at: float | None = None  # epoch seconds
    resolved_at: float = 0.0

    def expiry(self) -> datetime | None:
        return datetime.fromtimestamp(self.expires_at, UTC) if self.expires_at is not None else None

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "s": self.status,
                "r": self.reason,
                "t": self.tenant_id,
                "g": self.group_id,
                "x": self.expires_at,
                "at": self.resolved_at,
            }
        )

    @classmethod
    def decode(cls, raw: bytes) -> TokenView:
        data = orjson.loads(raw)
        return cls(data["s"], data["r"], data["t"], data["g"], data["x"], data["at"])


V = TypeVar("V")


class LocalMemory(Generic[V]):
    """What this process read in the last `seconds`, for at most `capacity` keys (oldest dropped first).

    Keeps nothing when `seconds` is 0 or less. Shared by the token views here and the sessions
    (`sessions.SessionTracker`).
    """

    __slots__ = ("_entries", "capacity", "seconds")

    def __init__(self, seconds: float, capacity: int) -> None:
        self.seconds = seconds
        self.capacity = capacity
        # key -> (monotonic time it leaves, value); insertion-ordered for eviction.
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        if hit[0] > time.monotonic():
            return hit[1]
        del self._entries[key]
        return None

    def put(self, key: str, value: V, seconds: float | None = None) -> None:
        """Keep `value` for `seconds` (default: this memory's `seconds`)."""
        keep = self.seconds if seconds is None else seconds
        if keep <= 0:
            return
        entries = self._entries
        entries.pop(key, None)
        entries[key] = (time.monotonic() + keep, value)
        while len(entries) > self.capacity:
            entries.popitem(last=False)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries


# Views kept in a process at most (oldest dropped first): about 200 bytes each.
LOCAL_CAPACITY = 100_000


class TokenCache:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        keep_seconds: float,
        unknown_seconds: float,
        local_seconds: float = 0.0,
        local_capacity: int = LOCAL_CAPACITY,
    ) -> None:
        self._redis = redis
        self.keep_seconds = keep_seconds
        self.unknown_seconds = unknown_seconds
        self._local = LocalMemory[TokenView](local_seconds, local_capacity)

    def remembered(self, key: str) -> TokenView | None:
        """The view this process read or wrote in the last `local_seconds`, without asking Redis."""
        return self._local.get(key)

    def remember(self, key: str, view: TokenView, seconds: float | None = None) -> None:
        """Keep a view read from Redis by another path (the Authorize lookup); `seconds`: a tracked read's."""
        self._local.put(key, view, seconds)

    @property
    def local(self) -> LocalMemory[TokenView]:
        return self._local

    async def get(self, key: str) -> TokenView | None:
        if self._local.seconds > 0:
            hit = self._local.get(key)
            if hit is not None:
                return hit
        with suppress_instrumentation():
            raw = await self._redis.get(redis_key(key))
        view = None if raw is None else TokenView.decode(raw if isinstance(raw, bytes) else raw.encode())
        # A miss is not kept: the next Authorize resolves the token and puts it.
        if view is not None:
            self._local.put(key, view)
        return view

    async def put(self, key: str, view: TokenView) -> None:
        if view.status == INVALID and view.reason == "unknown_token":
            if self.unknown_seconds <= 0:
                self._local.drop(key)
                return
            ttl = self.unknown_seconds
        else:
            ttl = self.keep_seconds
        await self._redis.set(redis_key(key), view.encode(), px=max(1, int(ttl * 1000)))
        self._local.put(key, view)

    async def invalidate(self, key: str) -> None:
        self._local.drop(key)
        await self._redis.delete(redis_key(key))


# Tokens whose invalidation is remembered (to judge the reads in flight) before starting afresh.
_CHANGED_CAPACITY = 50_000


def token_of_redis_key(raw: bytes) -> str | None:
    """The token key in a view or sessions key's hash tag (`...{<type>:<uid>}`), else None."""
    start, end = raw.find(b"{"), raw.rfind(b"}")
    return raw[start + 1 : end].decode(errors="replace") if 0 <= start < end else None


class TrackedReads:
    """Which Authorize lookups may be kept for `tracked_seconds`: Redis tracks the keys the lookup
    connection reads (`PipelinedRedis(tracking=...)`) and tells this object when one changes.

    A read is trusted when tracking was live when it was sent and no invalidation of its token's
    keys arrived since: an invalidation can overtake the reply it concerns (it comes on another
    connection), so such a read is kept only for the short `local_seconds`.
    """

    def __init__(self, tracked_seconds: float) -> None:
        self.memories: list[LocalMemory[Any]] = []
        self.tracked_seconds = tracked_seconds
        self.live = False
        self.sequence = 0
        self._floor = 0  # reads sent before this are not trusted (tracking (re)started, or forgot)
        self._changed: dict[str, int] = {}  # token key -> sequence of its last invalidation

    def watch(self, *memories: LocalMemory[Any]) -> None:
        """The memories whose entries an invalidation drops (keyed by token key)."""
        self.memories.extend(memories)

    # -- pipelined_redis.Tracking ----------------------------------------------------------------
    def started(self) -> None:
        self._forget_all()
        self.live = True

    def lost(self) -> None:
        self.live = False
        self._forget_all()

    def invalidated(self, keys: list[bytes] | None) -> None:
        if keys is None:
            self._forget_all()
            return
        self.sequence += 1
        for raw in keys:
            token = token_of_redis_key(raw)
            if token is None:
                continue
            self._changed[token] = self.sequence
            for memory in self.memories:
                memory.drop(token)
        if len(self._changed) > _CHANGED_CAPACITY:
            self._changed.clear()
            self.sequence += 1
            self._floor = self.sequence

    # -- the lookup ------------------------------------------------------------------------------
    def mark(self) -> int:
        """Taken before the read is sent."""
        return self.sequence

    def keep_seconds(self, token: str, since: int) -> float | None:
        """How long the read sent at `since` may be kept: `tracked_seconds`, or None (the default)."""
        if self.live and since >= self._floor and self._changed.get(token, 0) <= since:
            return self.tracked_seconds
        return None

    def _forget_all(self) -> None:
        self.sequence += 1
        self._floor = self.sequence
        self._changed.clear()
        for memory in self.memories:
            memory.clear()


def now_epoch() -> float:
    return time.time()
