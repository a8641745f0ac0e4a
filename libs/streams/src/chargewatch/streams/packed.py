"""Commands written directly in RESP and sent together (hot paths with thousands of small commands).

`EventPublisher.append` sends its prepared XADDs this way, and `chargewatch.service.redis_client`
re-exports these helpers for the other hot paths (the gateway's station leases).
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

try:  # what redis-py's hiredis parser has its reader return for an incomplete reply
    from redis._parsers.hiredis import NOT_ENOUGH_DATA as _NOT_ENOUGH_DATA
except ImportError:  # pragma: no cover - another redis-py layout: replies are read one by one
    _NOT_ENOUGH_DATA = None


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
        return await _exchange(connection, commands, count)
    finally:
        await pool.release(connection)


class PackedConnection:
    """`execute_packed` on a connection kept for one sender that has one batch in flight at a time.

    Taking a connection from redis-py's pool costs, for every batch, its lock, its bookkeeping
    and a check of the socket, as much as a small batch itself: the event publisher and the
    gateway's lease writer send thousands of batches a second in a reconnect storm. This keeps
    one connection out of the pool for them (made with the pool's settings, checked as the pool
    checks it, reconnected after an error). A batch sent while another is in flight on it takes
    a pooled connection instead, so concurrent callers stay correct. `aclose` at shutdown.
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._connection: Any | None = None
        self._busy = False

    async def execute(self, commands: bytes, count: int) -> list[Any]:
        if self._busy:
            return await execute_packed(self._client, commands, count)
        self._busy = True
        try:
            return await _exchange(await self._ready(), commands, count)
        finally:
            self._busy = False

    async def _ready(self) -> Any:
        connection = self._connection
        if connection is None:
            pool = self._client.connection_pool
            connection = self._connection = pool.connection_class(**pool.connection_kwargs)
        elif connection.is_connected:
            try:
                # As the pool checks a connection it hands out: unread data or a closed socket.
                dirty = await connection.can_read()
            except RedisConnectionError:
                dirty = True
            if not dirty:
                return connection
            await connection.disconnect(nowait=True)
        await connection.connect()
        return connection

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._connection.disconnect()


async def _exchange(connection: Any, commands: bytes, count: int) -> list[Any]:
    """Write the packed commands on `connection` and read their `count` replies (see `execute_packed`)."""
    try:
        await connection.send_packed_command(commands, check_health=False)
        reader = _hiredis_reader(connection)
        replies: list[Any] = []
        if reader is not None:
            await _read_all(connection, reader, count, replies)
        for _ in range(count - len(replies)):
            try:
                replies.append(await connection.read_response())
            except ResponseError as refused:  # this command only; the next replies follow
                replies.append(refused)
    except BaseException:
        await connection.disconnect(nowait=True)
        raise
    return replies


def _hiredis_reader(connection: Any) -> Any | None:
    """The hiredis reader of a connection whose replies can be taken from it directly, else None.

    `read_response` costs a few microseconds per reply (coroutines, its timeout and error
    bookkeeping); a batch of hundreds of XADDs reads its replies straight from redis-py's hiredis
    parser instead. Only where that changes nothing: RESP2 (no push messages between replies)
    and no per-reply read timeout (a caller bounds the whole batch, as the event publisher does).
    Any other connection (the pure-Python parser, a timeout, RESP3) reads reply by reply.
    """
    parser = getattr(connection, "_parser", None)
    if _NOT_ENOUGH_DATA is None or type(parser).__name__ != "_AsyncHiredisParser":
        return None
    if connection.socket_timeout is not None:
        return None
    if not getattr(parser, "_connected", False) or not hasattr(parser, "handle_push_response"):
        return None
    reader = getattr(parser, "_reader", None)
    return reader if reader is not None and hasattr(parser, "read_from_socket") else None


async def _read_all(connection: Any, reader: Any, count: int, replies: list[Any]) -> None:
    """Append `count` replies from the hiredis reader, reading the socket whenever it runs dry.

    As `read_response`: a refused command gives its ResponseError in its place (hiredis hands it
    over as a value); a socket error raises redis' ConnectionError (the caller closes the connection).
    """
    parser = connection._parser
    push_type = getattr(parser, "_hiredis_PushNotificationType", None)
    gets, append = reader.gets, replies.append
    try:
        while len(replies) < count:
            reply = gets()
            if reply is _NOT_ENOUGH_DATA:
                await parser.read_from_socket()
                continue
            if isinstance(reply, RedisConnectionError):
                raise reply
            if push_type is not None and isinstance(reply, push_type):
                await parser.handle_push_response(reply)  # not a reply to one of ours (RESP3)
                continue
            append(reply)
    except OSError as error:
        raise RedisConnectionError(f"Error while reading from Redis: {error.args}") from error
    if connection.health_check_interval:
        connection.next_health_check = asyncio.get_running_loop().time() + connection.health_check_interval
