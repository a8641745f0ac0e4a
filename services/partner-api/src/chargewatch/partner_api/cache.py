"""Short-lived answers shared by callers of the same scope, with their entity tags.

A station list asked for by a thousand dashboards in the same second is fetched from telemetry
once: the serialized answer is kept for `ttl` seconds under a key that names the caller's tenant
scope and the query, so a partner can never be handed another tenant's cached page. Concurrent
misses of one key wait for the single fetch in flight instead of each calling telemetry.

Once fresh, an answer may be served stale for `stale` more seconds while one background fetch
renews it (stale-while-revalidate, RFC 5861's idea): callers never queue behind a slow backend
because the entry happened to expire, yet what they get is at most `ttl` plus one fetch old while
the backend answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


def entity_tag(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against our tag."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(","))


@dataclass(frozen=True, slots=True)
class CachedBody:
    body: bytes
    etag: str
    expires_at: float
    stale_until: float = 0.0


class ResponseCache:
    def __init__(self, ttl_seconds: float, *, stale_seconds: float = 0.0, max_entries: int = 4096) -> None:
        self.ttl = ttl_seconds
        self.stale = stale_seconds
        self.max_entries = max_entries
        self._entries: dict[str, CachedBody] = {}
        self._inflight: dict[str, asyncio.Future[CachedBody]] = {}
        self._refreshing: set[asyncio.Task[CachedBody]] = set()
        self._fetchers: dict[str, Callable[[], Awaitable[bytes]]] = {}

    async def cached(self, key: str) -> CachedBody | None:
        """The answer held for `key` if it may be served now (fresh, or stale while it is renewed)."""
        fetch = self._fetchers.get(key)
        cached = self._entries.get(key)
        if fetch is None or cached is None or cached.stale_until <= time.monotonic():
            return None
        return await self.get_or_fetch(key, fetch)

    async def get_or_fetch(self, key: str, fetch: Callable[[], Awaitable[bytes]]) -> CachedBody:
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and cached.expires_at > now:
            return cached
        pending = self._inflight.get(key)
        if cached is not None and cached.stale_until > now:
            if pending is None:
                task = asyncio.create_task(self._fetch(key, fetch))
                self._refreshing.add(task)
                task.add_done_callback(self._refreshed)
            return cached
        if pending is not None:
            return await asyncio.shield(pending)
        return await self._fetch(key, fetch)

    async def _fetch(self, key: str, fetch: Callable[[], Awaitable[bytes]]) -> CachedBody:
        """The one fetch of `key` in flight; whoever asks meanwhile waits for it (or gets the stale entry)."""
        future: asyncio.Future[CachedBody] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            body = await fetch()
            fresh_until = time.monotonic() + self.ttl
            entry = CachedBody(body, entity_tag(body), fresh_until, fresh_until + self.stale)
            if self.ttl > 0:
                self._store(key, entry)
                self._fetchers[key] = fetch
            future.set_result(entry)
            return entry
        except BaseException as exc:
            # Waiters get the same error (a 404 stays a 404 for everybody asking at once).
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited future logs nothing
            raise
        finally:
            del self._inflight[key]

    def _refreshed(self, task: asyncio.Task[CachedBody]) -> None:
        self._refreshing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The stale answer is served until it runs out; then a caller's own fetch reports the error.
            log.warning("background refresh failed", extra={"error": str(task.exception())})

    def _store(self, key: str, entry: CachedBody) -> None:
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            for stale in [k for k, v in self._entries.items() if v.stale_until <= now and v.expires_at <= now]:
                del self._entries[stale]
            if len(self._entries) >= self.max_entries:
                for oldest in list(self._entries)[: max(1, self.max_entries // 4)]:
                    del self._entries[oldest]
            for gone in [k for k in self._fetchers if k not in self._entries]:
                del self._fetchers[gone]
        self._entries[key] = entry
