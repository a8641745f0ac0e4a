"""The gateway's publish batcher against a real Redis: concurrent publishes share pipelines, each
caller returns only once its entries are in the stream, and failures reach every caller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
import redis.asyncio as aioredis

from chargewatch.devstack.processes import free_port
from chargewatch.ocpp_gateway.events import PublishBatcher, PublishFailed
from chargewatch.streams import EventPublisher, StreamFamily, stream_name
from chargewatch.v1 import common_pb2, events_pb2
from chargewatch.v1.events_pb2 import EventEnvelope

pytestmark = pytest.mark.integration


class CountingPublisher(EventPublisher):
    """The real publisher, counting its pipelines."""

    pipelines: int = 0

    async def publish_many(self, envelopes: Iterable[EventEnvelope]) -> list[str]:
        self.pipelines += 1
        return await super().publish_many(envelopes)


def status(publisher: EventPublisher, station: str, connector: int) -> EventEnvelope:
    change = events_pb2.ConnectorStatusChange(
        evse_id=1, connector_id=connector, status=common_pb2.CONNECTOR_STATUS_AVAILABLE, error_code="NoError"
    )
    return publisher.envelope(station, change, event_id=f"{station}-{connector}")


async def test_concurrent_publishes_share_pipelines_and_keep_each_station_in_order(
    redis_client: aioredis.Redis,
) -> None:
    publisher = CountingPublisher(redis_client)
    batcher = PublishBatcher(publisher, max_batch=64)

    async def station(number: int) -> None:
        for connector in range(1, 4):  # one after the other, as a station's messages are
            await batcher.publish([status(publisher, f"CP-B{number:03d}", connector)])

    await asyncio.gather(*(station(n) for n in range(200)))
    entries = await redis_client.xrange(stream_name(StreamFamily.STATUS, 0))
    ids = [fields[b"id"].decode() for _, fields in entries]
    assert len(ids) == 600 and len(set(ids)) == 600
    for number in range(200):
        mine = [i for i in ids if i.startswith(f"CP-B{number:03d}-")]
        assert mine == [f"CP-B{number:03d}-{c}" for c in range(1, 4)]
    # 600 publishes in far fewer round trips, none above the batch limit.
    assert publisher.pipelines < 100


async def test_a_redis_that_is_away_fails_every_caller_and_the_batcher_recovers(redis_client: aioredis.Redis) -> None:
    away = aioredis.Redis(port=free_port(), socket_connect_timeout=1)
    dead = PublishBatcher(EventPublisher(away), timeout_seconds=3)
    publisher = EventPublisher(redis_client)
    results = await asyncio.gather(
        *(dead.publish([status(publisher, "CP-AWAY", c)]) for c in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, PublishFailed) for r in results), results
    await away.aclose()
    # The same batcher class on a live Redis publishes again (no stuck flusher).
    live = PublishBatcher(publisher)
    await live.publish([status(publisher, "CP-BACK", 1)])
    assert await redis_client.xlen(stream_name(StreamFamily.STATUS, 0)) == 1


async def test_a_redis_that_never_answers_times_out_the_batch() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 20)
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = aioredis.Redis(port=port, socket_timeout=None)
    publisher = EventPublisher(client)
    batcher = PublishBatcher(publisher, timeout_seconds=0.5)
    try:
        async with asyncio.timeout(5):
            results = await asyncio.gather(
                *(batcher.publish([status(publisher, "CP-MUTE", c)]) for c in range(3)), return_exceptions=True
            )
        assert all(isinstance(r, PublishFailed) and isinstance(r.__cause__, TimeoutError) for r in results), results
        assert len({id(r) for r in results}) == 3  # each caller its own exception
    finally:
        await client.aclose()
        server.close()
