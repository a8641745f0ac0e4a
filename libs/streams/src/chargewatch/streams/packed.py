"""Commands written directly in RESP and sent together (hot paths with thousands of small commands).

`EventPublisher.append` sends its prepared XADDs this way, and `chargewatch.service.redis_client`
re-exports these helpers for the other hot paths (the gateway's station leases).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError


def bulk(value: bytes) -> bytes:
    """A RESP bulk string."""
    return b"$%d\r\n%s\r\n" % (len(value), value)


def pack_words(*words: bytes | str | int) -> bytes:
    """One command in RESP (what redis-py sends for it): an array of bulk strings."""
    parts = [b"*%d\r\n" % len(words)]
    for word in words:
        parts.append(bulk(word if isinstance(word, bytes) else str(word).encode()))
    return b"".join(parts)


async def execute_packed(client: aioredis.Redis, commands: bytes, count: int) -> list[Any]:
    """Send `count` commands packed together (see `pack_words`) in one write; their replies in order.

    A pipeline without redis-py's per-command bookkeeping: one pooled connection, one write, one
    read per reply. A command Redis refuses gives its `ResponseError` in its place and the other
    replies are still read, so the connection stays in step; a connection error or a cancellation
    closes the connection (no half-read replies stay on it) and raises.
    """
    pool = client.connection_pool
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        await connection.send_packed_command(commands, check_health=False)
        replies: list[Any] = []
        for _ in range(count):
            try:
                replies.append(await connection.read_response())
            except ResponseError as refused:  # this command only; the next replies follow
                replies.append(refused)
    except BaseException:
        await connection.disconnect(nowait=True)
        raise
    finally:
        await pool.release(connection)
    return replies
