"""Rate limits per client, counted in Redis so every replica shares the budget.

Fixed windows aligned to the clock (`<prefix><client hash>:<window number>`), so every replica
counts into the same key. A request far from its client's limit is counted locally and the counts
are added to Redis in one pipelined flush every `flush_interval` seconds (one round trip for all
clients, instead of one per request on the hot path); once a client's known count comes within
`slack` of the limit, every request is counted in Redis before it is answered, so the limit itself
is exact. The overshoot across replicas is bounded by what they serve in one flush interval.

Answers carry the IETF `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers): the limit,
what remains and seconds until the window resets; a refused request also gets `Retry-After`.

If Redis cannot be reached the request is let through (and logged): the limit protects the
platform from one client, and refusing everybody because the counter store is down would be a
worse outage than an unmetered minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Adds ARGV[1] to the window's counter, giving a new counter the window's lifetime (two windows, so a
# late flush of the previous window still lands on a live key).
_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return count
"""


@dataclass(frozen=True, slots=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_seconds: int
    window_seconds: int
    exceeded: bool

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.limit};w={self.window_seconds}",
        }
        if self.exceeded:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


@dataclass(slots=True)
class _Window:
    number: int
    known: int = 0  # the shared count at the last sync with Redis
    pending: int = 0  # counted here, not yet added in Redis
    synced: bool = False


class RateLimiter:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        limit: int,
        window_seconds: int = 60,
        prefix: str = "cw:ratelimit:",
        flush_interval: float = 0.1,
        slack: int | None = None,
    ) -> None:
        self._redis = redis
        self.limit = limit
        self.window_seconds = window_seconds
        self.prefix = prefix
        self.flush_interval = flush_interval
        # Counted locally only while at least this many requests remain (a tenth of the limit).
        self.slack = max(10, limit // 10) if slack is None else slack
        self._script = redis.register_script(_SCRIPT)
        self._windows: dict[str, _Window] = {}
        self._flush: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def key(self, client: str, window: int) -> str:
        # Hashed: client ids and subjects are caller-controlled text, keys stay short and uniform.
        return f"{self.prefix}{hashlib.blake2b(client.encode(), digest_size=12).hexdigest()}:{window}"

    def _state(self, count: int, now: float) -> RateLimitState:
        reset = self.window_seconds - (now % self.window_seconds)
        return RateLimitState(
            limit=self.limit,
            remaining=max(0, self.limit - count),
            reset_seconds=max(1, math.ceil(reset)),
            window_seconds=self.window_seconds,
            exceeded=count > self.limit,
        )

    async def hit(self, client: str) -> RateLimitState | None:
        """Count one request of `client`; None when limits are off or Redis is unreachable."""
        if not self.enabled:
            return None
        now = time.time()
        number = int(now // self.window_seconds)
        window = self._windows.get(client)
        if window is None or window.number != number:
            if len(self._windows) > 100_000:
                self._drop_stale(number)
            window = self._windows[client] = _Window(number)
        estimate = window.known + window.pending + 1
        if window.synced and self.limit - estimate >= self.slack:
            window.pending += 1
            self._schedule_flush()
            return self._state(estimate, now)
        increment = window.pending + 1
        window.pending = 0
        try:
            count = int(
                await self._script(keys=[self.key(client, number)], args=[increment, self.window_seconds * 2000])
            )
        except (RedisError, OSError) as exc:
            log.warning("rate limit store unreachable; request not metered", extra={"error": str(exc)})
            return None
        window.known = max(window.known, count)
        window.synced = True
        return self._state(count, now)

    def _schedule_flush(self) -> None:
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_interval)
        await self.flush()

    async def flush(self) -> None:
        """Add every locally counted request to its window's counter in Redis, in one round trip."""
        batch = [(client, w, w.pending) for client, w in self._windows.items() if w.pending]
        if not batch:
            return
        for _, window, _ in batch:
            window.pending = 0
        pipe = self._redis.pipeline(transaction=False)
        for client, window, count in batch:
            await self._script(
                keys=[self.key(client, window.number)], args=[count, self.window_seconds * 2000], client=pipe
            )
        try:
            counts = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limit store unreachable; counts of this interval lost", extra={"error": str(exc)})
            return
        for (_, window, _), count in zip(batch, counts, strict=True):
            window.known = max(window.known, int(count))

    def _drop_stale(self, number: int) -> None:
        for client in [c for c, w in self._windows.items() if w.number != number and not w.pending]:
            del self._windows[client]

    async def close(self) -> None:
        if self._flush is not None:
            with contextlib.suppress(Exception):
                await self._flush
        await self.flush()
