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
        self.local_seconds = local_seconds
        self.local_capacity = local_capacity
        # key -> (monotonic time it leaves, view); insertion-ordered for eviction.
        self._local: OrderedDict[str, tuple[float, TokenView]] = OrderedDict()

    def remembered(self, key: str) -> TokenView | None:
        """The view this process read or wrote in the last `local_seconds`, without asking Redis."""
        hit = self._local.get(key)
        if hit is None:
            return None
        if hit[0] > time.monotonic():
            return hit[1]
        del self._local[key]
        return None

    def remember(self, key: str, view: TokenView) -> None:
        """Keep a view read from Redis by another path (the Authorize lookup)."""
        self._remember(key, view)

    def _remember(self, key: str, view: TokenView) -> None:
        if self.local_seconds <= 0:
            return
        local = self._local
        local.pop(key, None)
        local[key] = (time.monotonic() + self.local_seconds, view)
        while len(local) > self.local_capacity:
            local.popitem(last=False)

    async def get(self, key: str) -> TokenView | None:
        if self.local_seconds > 0:
            hit = self.remembered(key)
            if hit is not None:
                return hit
        with suppress_instrumentation():
            raw = await self._redis.get(redis_key(key))
        view = None if raw is None else TokenView.decode(raw if isinstance(raw, bytes) else raw.encode())
        # A miss is not kept: the next Authorize resolves the token and puts it.
        if view is not None:
            self._remember(key, view)
        return view

    async def put(self, key: str, view: TokenView) -> None:
        if view.status == INVALID and view.reason == "unknown_token":
            if self.unknown_seconds <= 0:
                self._local.pop(key, None)
                return
            ttl = self.unknown_seconds
        else:
            ttl = self.keep_seconds
        await self._redis.set(redis_key(key), view.encode(), px=max(1, int(ttl * 1000)))
        self._remember(key, view)

    async def invalidate(self, key: str) -> None:
        self._local.pop(key, None)
        await self._redis.delete(redis_key(key))


def now_epoch() -> float:
    return time.time()
