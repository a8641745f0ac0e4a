"""A Redis client for hot paths: a bounded, waiting pool whose connections pack commands with hiredis.

The gateway's every answered station message costs an XADD, and authz's every Authorize a
command or two, so packing is on their hot paths. redis-py's synchronous
client packs with hiredis when it is installed; its asyncio client packs in Python, about seven
times slower for an XADD of an event envelope. `HiredisPackingConnection` packs with hiredis (the
same bytes) and leaves every argument hiredis does not take to redis-py, which raises its usual
error. The pool waits for a free connection rather than failing when thousands of stations
publish at once (a plain pool raises "Too many connections" past its limit).
"""

from __future__ import annotations

from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis.typing import EncodableT

# Re-exported: the hot paths import the packed-command helpers from here.
from chargewatch.streams.packed import PackedConnection, execute_packed, pack_words

__all__ = [
    "HiredisPackingConnection",
    "HiredisPackingSSLConnection",
    "PackedConnection",
    "execute_packed",
    "pack_words",
    "redis_client",
]


class _HiredisPacking(aioredis.Connection):
    def pack_command(self, *args: EncodableT) -> list[bytes]:
        first = args[0] if args else None
        # redis-py sends a command name with spaces ("CLIENT SETINFO") as separate words.
        if (isinstance(first, str) and " " in first) or (isinstance(first, bytes) and b" " in first):
            args = (*first.split(), *args[1:])
        if self.encoder.encoding.lower().replace("-", "") != "utf8":
            return super().pack_command(*args)
        try:
            # hiredis's stub types the argument as a 1-tuple; it takes a tuple of any length.
            return [hiredis.pack_command(args)]  # type: ignore[arg-type]
        except TypeError:  # a type hiredis does not pack (None, a dict...): redis-py's DataError
            return super().pack_command(*args)


class HiredisPackingConnection(_HiredisPacking):
    pass


class HiredisPackingSSLConnection(_HiredisPacking, aioredis.SSLConnection):
    pass


def redis_client(url: str, *, max_connections: int, timeout_seconds: float, **options: Any) -> aioredis.Redis:
    """A client on `url` with at most `max_connections`, waiting up to `timeout_seconds` for one."""
    if url.startswith("redis://"):
        options["connection_class"] = HiredisPackingConnection
    elif url.startswith("rediss://"):
        options["connection_class"] = HiredisPackingSSLConnection
    # A unix:// URL keeps redis-py's own connection class.
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout_seconds, **options
    )
    return aioredis.Redis(connection_pool=pool)
