"""The gateway's Redis client: hiredis packing gives redis-py's bytes, works against a real Redis,
and a burst of concurrent commands larger than the pool waits instead of failing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import DataError, ResponseError

from chargewatch.service.redis_client import (
    HiredisPackingConnection,
    PackedConnection,
    execute_packed,
    pack_words,
    redis_client,
)
from chargewatch.streams.packed import _hiredis_reader

pytestmark = pytest.mark.integration

SAMPLES: list[tuple[Any, ...]] = [
    ("SET", "key", "value"),
    ("SET", b"key", b"\x00\xffbinary"),
    ("XADD", "cw:meter:{0}", "MAXLEN", "~", 1_000_000, "*", "id", "abc", "data", b"x" * 70_000),
    ("INCRBYFLOAT", "n", 0.1),
    ("SET", "k", -3),
    ("CLIENT SETINFO", "LIB-NAME", "redis-py"),
    ("SET", "unicode", "grüße"),
]


@pytest.mark.parametrize("args", SAMPLES)
def test_hiredis_packing_gives_redis_py_bytes(args: tuple[Any, ...]) -> None:
    ours = HiredisPackingConnection()
    theirs = aioredis.Connection()
    assert b"".join(ours.pack_command(*args)) == b"".join(theirs.pack_command(*args))


def test_what_hiredis_cannot_pack_gets_redis_py_error() -> None:
    with pytest.raises(DataError):
        HiredisPackingConnection().pack_command("SET", "k", None)  # type: ignore[arg-type]
    with pytest.raises(DataError):
        HiredisPackingConnection().pack_command("SET", "k", True)


async def test_against_redis_and_more_concurrent_commands_than_connections(redis_url: str) -> None:
    client = redis_client(redis_url, max_connections=2, timeout_seconds=5)
    try:
        await client.set("gw-test:bytes", b"\x00\x01")
        assert await client.get("gw-test:bytes") == b"\x00\x01"
        entry = await client.xadd("gw-test:stream", {"id": "e-1", "data": b"payload"})
        [(read_id, fields)] = await client.xrange("gw-test:stream")
        assert read_id == entry and fields == {b"id": b"e-1", b"data": b"payload"}
        # 50 commands at once on 2 connections: they wait their turn instead of raising.
        results = await asyncio.gather(*(client.incr("gw-test:counter") for _ in range(50)))
        assert sorted(results) == list(range(1, 51))
        pool = client.connection_pool
        assert isinstance(pool, aioredis.BlockingConnectionPool)
        assert pool.connection_class is HiredisPackingConnection
    finally:
        await client.delete("gw-test:bytes", "gw-test:stream", "gw-test:counter")
        await client.aclose()


async def test_packed_commands_read_their_replies_in_order_with_a_refusal_in_place(redis_url: str) -> None:
    """Thousands of packed commands: replies in order (read straight from hiredis), a refused one in its place.

    As the gateway's event publisher connects: no per-reply read timeout (its batches are bounded as
    a whole), which is where `execute_packed` takes the replies from hiredis directly.
    """
    client = redis_client(redis_url, max_connections=1, timeout_seconds=5, socket_timeout=None)
    try:
        await client.set("gw-test:text", "not a counter")
        connection = await client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            assert _hiredis_reader(connection) is not None  # the fast path is the one under test
        finally:
            await client.connection_pool.release(connection)
        commands = [pack_words("INCR", "gw-test:n") for _ in range(3000)]
        commands[1500] = pack_words("INCR", "gw-test:text")  # WRONGTYPE-like refusal: not an integer
        commands.append(pack_words("GET", "gw-test:big"))
        await client.set("gw-test:big", b"x" * 200_000)
        replies = await execute_packed(client, b"".join(commands), len(commands))
        assert len(replies) == 3001
        assert isinstance(replies[1500], ResponseError)
        assert replies[:1500] == list(range(1, 1501)) and replies[1501:3000] == list(range(1501, 3000))
        assert replies[3000] == b"x" * 200_000
        # The connection stayed in step: the next command gets its own reply.
        assert await client.get("gw-test:n") == b"2999"
    finally:
        await client.delete("gw-test:text", "gw-test:n", "gw-test:big")
        await client.aclose()


async def _connections_named(client: aioredis.Redis, name: str) -> list[dict[str, Any]]:
    return [c for c in await client.client_list() if c.get("name") == name]


async def test_a_packed_connection_keeps_one_connection_checks_it_and_reconnects(redis_url: str) -> None:
    """The publisher's and the lease writer's batches: one connection out of the pool, for good,
    replaced when Redis dropped it between batches; a batch sent meanwhile uses the pool."""
    name = "packed-connection-test"
    client = redis_client(redis_url, max_connections=4, timeout_seconds=5, client_name=name)
    observer = aioredis.Redis.from_url(redis_url)
    packed = PackedConnection(client)
    try:
        for i in range(20):
            assert await packed.execute(pack_words("INCR", "gw-test:packed") * 2, 2) == [2 * i + 1, 2 * i + 2]
        [kept] = await _connections_named(observer, name)
        assert not client.connection_pool._in_use_connections  # type: ignore[attr-defined]
        # Redis drops it (a restart, a timeout, a failover): the next batch sees the closed socket
        # before writing, as the pool would, and goes out on a new connection.
        assert await observer.client_kill_filter(_id=kept["id"]) == 1
        await asyncio.sleep(0.05)  # the close reaches this side between two batches
        replies = await packed.execute(pack_words("INCR", "gw-test:packed") + pack_words("NOSUCHCOMMAND"), 2)
        assert replies[0] == 41 and isinstance(replies[1], ResponseError)
        [replacement] = await _connections_named(observer, name)
        assert replacement["id"] != kept["id"]
        # Two batches at once: the second takes a pooled connection; both are answered in full.
        results = await asyncio.gather(
            *(packed.execute(pack_words("INCR", f"gw-test:packed-{n}") * 50, 50) for n in range(2))
        )
        assert results == [list(range(1, 51))] * 2
        await packed.aclose()
        # Redis drops the client once it reads the close: moments later, not at once.
        async with asyncio.timeout(5):
            while replacement["id"] in [c["id"] for c in await _connections_named(observer, name)]:  # noqa: ASYNC110 - Redis's state, polled
                await asyncio.sleep(0.01)
    finally:
        await observer.delete("gw-test:packed", "gw-test:packed-0", "gw-test:packed-1")
        await observer.aclose()
        await client.aclose()
