"""Trimming by age and length never removes what a consumer group has not acknowledged."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from chargewatch.streams import StreamFamily, StreamTrimmer, stream_name

pytestmark = pytest.mark.integration

STREAM = stream_name(StreamFamily.METER, 0)


def trimmer(
    redis: aioredis.Redis,
    *,
    max_age: timedelta | None = None,
    max_len: int | None = None,
    trim_unacknowledged: bool = False,
    max_scan: int = 10_000,
) -> StreamTrimmer:
    # Exact trimming, so the counts are predictable; production uses the approximate default.
    return StreamTrimmer(
        redis,
        families=[StreamFamily.METER],
        partitions=1,
        max_age=max_age,
        max_len=max_len,
        trim_unacknowledged=trim_unacknowledged,
        approximate=False,
        max_scan=max_scan,
    )


async def fill(redis: aioredis.Redis, count: int, start_ms: int = 1_000) -> list[bytes]:
    return [await redis.xadd(STREAM, {"n": i}, id=f"{start_ms + i}-0") for i in range(count)]


async def read_and_ack(
    redis: aioredis.Redis, group: str, count: int, keep_pending: frozenset[int] = frozenset()
) -> None:
    reply = await redis.xreadgroup(group, "c", {STREAM: ">"}, count=count)
    ids = [entry_id for entry_id, _ in reply[0][1]]
    acked = [entry_id for i, entry_id in enumerate(ids) if i not in keep_pending]
    await redis.xack(STREAM, group, *acked)


async def remaining(redis: aioredis.Redis) -> list[bytes]:
    return [entry_id for entry_id, _ in await redis.xrange(STREAM)]


async def test_length_trim_stops_at_the_oldest_unacknowledged_entry(redis_client: aioredis.Redis) -> None:
    ids = await fill(redis_client, 20)
    await redis_client.xgroup_create(STREAM, "g", id="0")
    await read_and_ack(redis_client, "g", 10, keep_pending=frozenset({5}))  # entry 5 delivered, never acknowledged
    assert await trimmer(redis_client, max_len=2).trim_once() == 5
    assert await remaining(redis_client) == ids[5:]
    # Once acknowledged, trimming continues up to what the group has not read yet.
    await redis_client.xack(STREAM, "g", ids[5])
    assert await trimmer(redis_client, max_len=2).trim_once() == 5
    assert await remaining(redis_client) == ids[10:]


async def test_a_group_that_never_read_protects_everything(redis_client: aioredis.Redis) -> None:
    await fill(redis_client, 10)
    await redis_client.xgroup_create(STREAM, "reader", id="0")
    await redis_client.xgroup_create(STREAM, "idle", id="0")
    await read_and_ack(redis_client, "reader", 10)
    assert await trimmer(redis_client, max_len=1, max_age=timedelta(seconds=1)).trim_once() == 0
    assert len(await remaining(redis_client)) == 10


async def test_fully_acknowledged_groups_let_length_and_age_bounds_apply(redis_client: aioredis.Redis) -> None:
    seconds, micros = await redis_client.time()
    now_ms = seconds * 1000 + micros // 1000
    old = await fill(redis_client, 5, start_ms=now_ms - 3_600_000)
    recent = await fill(redis_client, 5, start_ms=now_ms - 1_000)
    await redis_client.xgroup_create(STREAM, "g", id="0")
    await read_and_ack(redis_client, "g", 10)
    assert await trimmer(redis_client, max_age=timedelta(minutes=10)).trim_once() == 5
    assert await remaining(redis_client) == recent
    assert await trimmer(redis_client, max_age=timedelta(minutes=10), max_len=3).trim_once() == 2
    assert await remaining(redis_client) == recent[2:]
    assert old  # the old ones are gone


async def test_unread_entries_are_kept_unless_configuration_says_otherwise(redis_client: aioredis.Redis) -> None:
    ids = await fill(redis_client, 10)
    await redis_client.xgroup_create(STREAM, "g", id="0")
    await read_and_ack(redis_client, "g", 4)
    assert await trimmer(redis_client, max_len=1).trim_once() == 4  # up to the last delivered, no further
    assert await remaining(redis_client) == ids[4:]
    assert await trimmer(redis_client, max_len=1, trim_unacknowledged=True).trim_once() == 5
    assert await remaining(redis_client) == ids[9:]


async def test_streams_without_groups_follow_the_bounds_and_missing_streams_are_fine(
    redis_client: aioredis.Redis,
) -> None:
    assert await trimmer(redis_client, max_len=1).trim_once() == 0  # the stream does not exist
    ids = await fill(redis_client, 6)
    assert await trimmer(redis_client, max_len=2).trim_once() == 4
    assert await remaining(redis_client) == ids[4:]
    assert await trimmer(redis_client).trim_once() == 0  # no bound configured


async def test_length_bound_is_reached_over_several_passes_when_scans_are_capped(redis_client: aioredis.Redis) -> None:
    ids = await fill(redis_client, 30)
    capped = trimmer(redis_client, max_len=5, max_scan=10)
    assert await capped.trim_once() == 10
    assert await capped.trim_once() == 10
    assert await capped.trim_once() == 5
    assert await remaining(redis_client) == ids[25:]
