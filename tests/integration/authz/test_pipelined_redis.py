"""The pipelined Redis connection of Authorize's hot path, against real Redis servers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import uvloop
from redis.exceptions import ResponseError

from chargewatch.authz.pipelined_redis import PipelinedRedis, RedisUnavailable, Script
from chargewatch.devstack.processes import ManagedProcess, free_port, redis_server_binary, start_process, start_redis

pytestmark = pytest.mark.integration

INCREMENT = Script("return redis.call('INCRBY', KEYS[1], ARGV[1])")


@pytest.fixture
async def hot(redis_url: str, redis_client: aioredis.Redis) -> AsyncIterator[PipelinedRedis]:
    connection = PipelinedRedis(redis_url, timeout_seconds=2.0)
    yield connection
    await connection.aclose()


async def test_concurrent_commands_get_their_own_replies_in_order(hot: PipelinedRedis) -> None:
    replies = await asyncio.gather(*(hot.execute("INCR", "counter") for _ in range(500)))
    # Issued in this order, written in this order, answered in this order.
    assert replies == list(range(1, 501))
    many = await hot.execute_many([("SET", "a", "1"), ("GET", "a"), ("HGETALL", "missing"), ("GET", "missing")])
    assert many == [b"OK", b"1", [], None]


async def test_an_error_reply_raises_and_the_stream_stays_in_step(hot: PipelinedRedis) -> None:
    await hot.execute("SET", "text", "x")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await hot.execute("HGETALL", "text")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await hot.execute_many([("GET", "text"), ("LPUSH", "text", "y"), ("SET", "after", "1")])
    # Every reply of the batch was read (the SET after the error ran), and the next reply is the right one.
    assert await hot.execute("GET", "after") == b"1"
    assert await hot.execute("GET", "text") == b"x"


async def test_scripts_are_loaded_when_redis_does_not_know_them(hot: PipelinedRedis) -> None:
    assert await hot.eval(INCREMENT, ["n"], [5]) == 5
    await hot.execute("SCRIPT", "FLUSH")  # as after a Redis restart
    assert await hot.eval_many([(INCREMENT, ["n"], [1]), (INCREMENT, ["m"], [2])]) == [6, 2]


async def test_a_cancelled_caller_does_not_shift_the_replies(hot: PipelinedRedis) -> None:
    await hot.execute("SET", "two", "2")
    # Written, then given up while Redis still holds it: its reply (nil, later) is skipped.
    slow = asyncio.ensure_future(hot.execute("BLPOP", "nothing", "0.3"))
    await asyncio.sleep(0.05)
    slow.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await slow
    assert await hot.execute("GET", "two") == b"2"
    assert await hot.execute("PING") == b"PONG"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[ManagedProcess]:
    server = start_redis(log_dir=tmp_path)
    yield server
    server.stop()


async def test_a_restarted_redis_is_connected_again(private_redis: ManagedProcess, tmp_path: Path) -> None:
    connection = PipelinedRedis(f"redis://127.0.0.1:{private_redis.port}/0", timeout_seconds=2.0)
    try:
        assert await connection.execute("PING") == b"PONG"
        private_redis.stop()
        with pytest.raises(RedisUnavailable):
            await connection.execute("PING")
        with pytest.raises(RedisUnavailable):  # refused while it is down, at once
            await connection.execute("PING")
        restarted = start_redis(port=private_redis.port, log_dir=tmp_path / "again")
        try:
            assert await connection.execute("PING") == b"PONG"
            assert await connection.eval(INCREMENT, ["k"], [3]) == 3  # a fresh server: loaded again
        finally:
            restarted.stop()
    finally:
        await connection.aclose()


async def test_a_server_that_never_answers_fails_the_waiting_commands_after_the_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = PipelinedRedis(f"redis://127.0.0.1:{port}/0", timeout_seconds=0.3)
    try:
        started = time.monotonic()
        results = await asyncio.gather(*(connection.execute("PING") for _ in range(3)), return_exceptions=True)
        waited = time.monotonic() - started
        assert all(isinstance(r, RedisUnavailable) for r in results), results
        assert 0.25 < waited < 5
    finally:
        await connection.aclose()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_password_and_database_come_from_the_url(tmp_path: Path) -> None:
    port = free_port()
    server = start_process(
        "redis-auth",
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--requirepass", "s3cret"],
        log_dir=tmp_path,
        port=port,
    )
    connection = PipelinedRedis(f"redis://:s3cret@127.0.0.1:{port}/3", timeout_seconds=2.0)
    check = aioredis.Redis.from_url(f"redis://:s3cret@127.0.0.1:{port}/3")
    try:
        await connection.execute("SET", "where", "db3")
        assert await check.get("where") == b"db3"
        wrong = PipelinedRedis(f"redis://:wrong@127.0.0.1:{port}/0", timeout_seconds=2.0)
        with pytest.raises(ResponseError):
            await wrong.execute("PING")
        await wrong.aclose()
    finally:
        await check.aclose()
        await connection.aclose()
        server.stop()


def test_it_runs_on_uvloop_as_in_the_service(redis_url: str) -> None:
    async def body() -> list[object]:
        connection = PipelinedRedis(redis_url, timeout_seconds=2.0)
        try:
            await connection.execute("DEL", "uv")
            return [
                await connection.execute("INCR", "uv"),
                *(await asyncio.gather(*(connection.execute("INCR", "uv") for _ in range(3)))),
            ]
        finally:
            await connection.aclose()

    assert uvloop.run(body()) == [1, 2, 3, 4]
