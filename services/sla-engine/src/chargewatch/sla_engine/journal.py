"""The journal of a partition: the batches applied to memory but not yet in a snapshot.

A Redis stream per partition (`cw:sla-journal:{p}`, the partition's hash tag, so it lives in the
same Redis Cluster slot as the event streams it follows). Acknowledging a stream entry moves the
responsibility for its effect from the event stream to the journal - same server, same durability,
and the same server-side script appends the journal entry and then acknowledges the batch - and
keeps MongoDB, whose writes the flusher batches, off the path from an event to its alert. Once a
snapshot in MongoDB covers a journal entry (the covered id is stored with the snapshots), the entry
is trimmed. A new owner of the partition replays what follows the covered id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from chargewatch.streams import StreamAppend


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _after(entry_id: str) -> str:
    """The smallest stream id greater than `entry_id`."""
    ms, seq = parse_id(entry_id)
    return f"{ms + 1}-0" if seq == 2**64 - 1 else f"{ms}-{seq + 1}"


def journal_key(partition: int) -> str:
    return f"cw:sla-journal:{{{partition}}}"


class Journal:
    def __init__(self, redis: aioredis.Redis, partition: int) -> None:
        self.redis = redis
        self.key = journal_key(partition)

    async def append(self, blob: bytes) -> str:
        return _text(await self.redis.xadd(self.key, {"data": blob}))

    def entry(self, blob: bytes, on_added: Callable[[str], None]) -> StreamAppend:
        """The same entry as `append` writes, for a stream consumer to append with its acknowledgement."""
        return StreamAppend(self.key, {"data": blob}, on_added=on_added)

    async def after(self, covered: str) -> list[tuple[str, bytes]]:
        """Entries after `covered` (all when empty), oldest first."""
        start = f"({covered}" if covered else "-"
        out: list[tuple[str, bytes]] = []
        while True:
            page = await self.redis.xrange(self.key, min=start, max="+", count=500)
            if not page:
                return out
            for entry_id, fields in page:
                data: Any = (fields or {}).get(b"data", b"")
                out.append((_text(entry_id), bytes(data)))
            start = f"({_text(page[-1][0])}"

    async def trim(self, covered: str) -> None:
        """Drop every entry up to and including `covered`."""
        if covered:
            await self.redis.xtrim(self.key, minid=_after(covered), approximate=False)

    async def length(self) -> int:
        return int(await self.redis.xlen(self.key))


def newer(a: str, b: str) -> str:
    """The later of two journal ids ("" is before any)."""
    if not a:
        return b
    if not b:
        return a
    return a if parse_id(a) >= parse_id(b) else b
