"""Group-aware stream trimming: by age and length, never past what a consumer group still needs.

For each stream the trimmer computes two ids:

* the *target*: entries below it are unwanted by configuration. It is the larger (the stricter) of
  the age bound (`now - max_age`, read from the Redis clock, which also stamps entry ids) and the
  length bound (the id that keeps only the newest `max_len` entries);
* the *group floor*: the lowest id any consumer group may still need. Per group that is its oldest
  pending entry (delivered, not acknowledged; from the XPENDING summary) or, with nothing pending,
  the id just after its last-delivered id. A group that never read has last-delivered id 0-0, so
  its floor is 0-1 and nothing is trimmed. The floor is the minimum over the groups; a stream with
  no group has none.

It then runs `XTRIM MINID min(target, floor)`, or `XTRIM MINID target` when
`trim_unacknowledged` is set (configuration saying that a stuck group must not grow the stream
without bound). Floors only move forward while the trimmer runs (groups acknowledge and read on),
so computing the floor before trimming is safe without a transaction; only a group created (or
reset with XGROUP SETID) to an older id between the two steps could miss entries, which it would
have to accept anyway.

With `approximate` (the default) Redis trims whole internal nodes only: cheaper, and it may keep
a few entries below the bound but never removes one above it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from chargewatch.streams._redis import StreamId, format_id, next_id, parse_id, text
from chargewatch.streams.families import StreamFamily, stream_names

log = logging.getLogger(__name__)


class StreamTrimmer:
    """Trims the streams of some families and partitions; see the module docstring for the rules.

    `max_scan` bounds how many old entries one pass reads to find the length bound, so a stream
    far over `max_len` is brought down over a few passes instead of one large read.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        families: Sequence[StreamFamily],
        partitions: int | Sequence[int],
        max_age: timedelta | None,
        max_len: int | None,
        trim_unacknowledged: bool = False,
        approximate: bool = True,
        max_scan: int = 10_000,
    ) -> None:
        if max_age is not None and max_age <= timedelta(0):
            raise ValueError("max_age must be positive or None")
        if max_len is not None and max_len < 0:
            raise ValueError("max_len must be >= 0 or None")
        if max_scan < 1:
            raise ValueError("max_scan must be >= 1")
        self._redis = redis
        self.streams = stream_names(families, partitions)
        self.max_age = max_age
        self.max_len = max_len
        self.trim_unacknowledged = trim_unacknowledged
        self.approximate = approximate
        self.max_scan = max_scan
        self._stopping = False
        self._wake = asyncio.Event()

    async def trim_once(self) -> int:
        """One pass over every stream; returns the number of entries removed."""
        if self.max_age is None and self.max_len is None:
            return 0
        seconds, micros = await self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        removed = 0
        for stream in self.streams:
            removed += await self._trim_stream(stream, now_ms)
        return removed

    async def run(self, interval_s: float = 60.0) -> None:
        """Trim every `interval_s` until `stop()`; a failed pass is logged and retried next time."""
        while not self._stopping:
            try:
                removed = await self.trim_once()
                if removed:
                    log.info("trimmed streams", extra={"removed": removed})
            except Exception:  # the next pass retries; trimming late is harmless
                log.warning("stream trimming failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval_s)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def group_floor(self, stream: str) -> StreamId | None:
        """The lowest id any consumer group of `stream` still needs; None when it has no group."""
        try:
            groups = await self._redis.xinfo_groups(stream)
        except ResponseError as exc:
            if "no such key" in str(exc):
                return None
            raise
        if not groups:
            return None
        with_pending = [g for g in groups if int(g["pending"]) > 0]
        summaries: list[dict[str, object]] = []
        if with_pending:
            pipe = self._redis.pipeline(transaction=False)
            for g in with_pending:
                pipe.xpending(stream, text(g["name"]))
            summaries = await pipe.execute()
        oldest_pending = {
            text(g["name"]): summary["min"]
            for g, summary in zip(with_pending, summaries, strict=True)
            if summary.get("min") is not None
        }
        floors: list[StreamId] = []
        for g in groups:
            oldest = oldest_pending.get(text(g["name"]))
            if isinstance(oldest, bytes | str):
                floors.append(parse_id(oldest))
            else:
                # Nothing pending (or it was acknowledged since XINFO): everything up to the last
                # delivered id is acknowledged. 0-0 (never read) gives 0-1, which protects all.
                floors.append(next_id(parse_id(text(g["last-delivered-id"]))))
        return min(floors)

    async def _trim_stream(self, stream: str, now_ms: int) -> int:
        floor = None if self.trim_unacknowledged else await self.group_floor(stream)
        target: StreamId | None = None
        if self.max_age is not None:
            target = (max(now_ms - int(self.max_age.total_seconds() * 1000), 0), 0)
        if self.max_len is not None:
            length_bound = await self._length_bound(stream, floor)
            if length_bound is not None and (target is None or length_bound > target):
                target = length_bound
        if target is None:
            return 0
        if floor is not None and floor < target:
            target = floor
        return int(await self._redis.xtrim(stream, minid=format_id(target), approximate=self.approximate))

    async def _length_bound(self, stream: str, floor: StreamId | None) -> StreamId | None:
        """The MINID that leaves `max_len` entries, as far as the group floor lets it matter.

        Redis cannot address an entry by position, so the oldest excess entries are read (only
        those below the floor: the rest could not be trimmed anyway) and the bound is set just
        after the last of them.
        """
        assert self.max_len is not None
        excess = await self._redis.xlen(stream) - self.max_len
        if excess <= 0:
            return None
        upper = "+" if floor is None else "(" + format_id(floor)
        oldest = await self._redis.xrange(stream, min="-", max=upper, count=min(excess, self.max_scan))
        last_id = oldest[-1][0] if oldest else None
        return None if last_id is None else next_id(parse_id(last_id))
