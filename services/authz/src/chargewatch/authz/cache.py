"""The Redis cache of resolved token decisions: what Authorize answers from in well under 2 ms.

One key per token, `cw:authz:token:<type>:<uid>`, holding the token's resolved state (record plus
Keycloak link) and when it was resolved. Entries older than `refresh_seconds` are still answered
but trigger a refresh; entries live `keep_seconds` so the cache outlasts a Keycloak outage. A
change made through authz overwrites the entry at once (every replica reads the same Redis);
nothing here is authoritative and everything can be rebuilt from MongoDB and Keycloak.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import redis.asyncio as aioredis

_PREFIX = "cw:authz:token:"

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


class TokenCache:
    def __init__(self, redis: aioredis.Redis, *, keep_seconds: float, unknown_seconds: float) -> None:
        self._redis = redis
        self.keep_seconds = keep_seconds
        self.unknown_seconds = unknown_seconds

    async def get(self, key: str) -> TokenView | None:
        raw = await self._redis.get(_PREFIX + key)
        if raw is None:
            return None
        return TokenView.decode(raw if isinstance(raw, bytes) else raw.encode())

    async def put(self, key: str, view: TokenView) -> None:
        if view.status == INVALID and view.reason == "unknown_token":
            if self.unknown_seconds <= 0:
                return
            ttl = self.unknown_seconds
        else:
            ttl = self.keep_seconds
        await self._redis.set(_PREFIX + key, view.encode(), px=max(1, int(ttl * 1000)))

    async def invalidate(self, key: str) -> None:
        await self._redis.delete(_PREFIX + key)


def now_epoch() -> float:
    return time.time()
