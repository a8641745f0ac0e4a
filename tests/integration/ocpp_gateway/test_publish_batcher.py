"""The gateway's publish batcher against a real Redis: concurrent publishes share pipelines, each
caller returns only once its entries are in the stream, and failures reach every caller."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chargewatch.devstack.processes import free_port
from chargewatch.ocpp_gateway.events import PublishBatcher, PublishFailed
from chargewatch.streams import EventPublisher, StreamFamily, stream_name
from chargewatch.streams.publisher import PreparedEvent
from chargewatch.v1 import common_pb2, events_pb2
from chargewatch.v1.events_pb2 import EventEnvelope

pytestmark = pytest.mark.integration


class CountingPublisher(EventPublisher):
    """The real publisher, counting its pipelines."""

    pipelines: int = 0

    async def append(self, events: Sequence[PreparedEvent], *, entry_ids: bool = True) -> list[str]:
        self.pipelines += 1
        return await super().append(events, entry_ids=entry_ids)


def status(publisher: EventPublisher, station: str, connector: int, traceparent: str = "") -> PreparedEvent:
    change = events_pb2.ConnectorStatusChange(
        evse_id=1, connector_id=connector, status=common_pb2.CONNECTOR_STATUS_AVAILABLE, error_code="NoError"
    )
    return publisher.prepare(station, change, event_id=f"{station}-{connector}", traceparent=traceparent)


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
    try:
        depths = []
        for callers in (3, 30):
            batcher = PublishBatcher(publisher, timeout_seconds=0.5)
            async with asyncio.timeout(5):
                results = await asyncio.gather(
                    *(batcher.publish([status(publisher, "CP-MUTE", c)]) for c in range(callers)),
                    return_exceptions=True,
                )
            assert len(results) == callers
            assert all(isinstance(r, PublishFailed) and isinstance(r.__cause__, TimeoutError) for r in results)
            # The callers share their batch's exception, and none of their frames pile up on it.
            assert isinstance(results[0], BaseException)
            depths.append(len(traceback.extract_tb(results[0].__traceback__)))
        assert depths[0] == depths[1] < 10, depths
    finally:
        await client.aclose()
        server.close()


async def test_one_cancelled_caller_does_not_cancel_the_others_in_its_batch(redis_client: aioredis.Redis) -> None:
    publisher = CountingPublisher(redis_client)
    batcher = PublishBatcher(publisher)
    callers = [asyncio.create_task(batcher.publish([status(publisher, "CP-C", c)])) for c in range(5)]
    await asyncio.sleep(0)  # every caller queued in the same batch
    callers[0].cancel()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1:] == [None] * 4
    # The cancelled caller's event went with its batch: a publish, once queued, is not taken back.
    assert await redis_client.xlen(stream_name(StreamFamily.STATUS, 0)) == 5
    assert publisher.pipelines == 1


async def test_a_command_redis_refuses_fails_its_batch_and_the_connection_stays_usable(
    redis_client: aioredis.Redis,
) -> None:
    publisher = EventPublisher(redis_client)
    batcher = PublishBatcher(publisher)
    await redis_client.set(stream_name(StreamFamily.STATUS, 0), b"not a stream")
    refused = await asyncio.gather(
        batcher.publish([status(publisher, "CP-R", 1)]),
        batcher.publish([status(publisher, "CP-R", 2)]),
        return_exceptions=True,
    )
    assert all(isinstance(r, PublishFailed) and "WRONGTYPE" in str(r) for r in refused), refused
    await redis_client.delete(stream_name(StreamFamily.STATUS, 0))
    await batcher.publish([status(publisher, "CP-R", 3)])
    entries = await redis_client.xrange(stream_name(StreamFamily.STATUS, 0))
    assert [fields[b"id"] for _, fields in entries] == [b"CP-R-3"]
    assert EventEnvelope.FromString(entries[0][1][b"data"]).station_id == "CP-R"


async def test_a_batch_has_a_producer_span_only_with_a_sampled_event(
    redis_client: aioredis.Redis, span_exporter: InMemorySpanExporter
) -> None:
    publisher = EventPublisher(redis_client)
    batcher = PublishBatcher(publisher)
    unsampled = "00-" + "1" * 32 + "-" + "2" * 16 + "-02"
    sampled = "00-" + "3" * 32 + "-" + "4" * 16 + "-01"
    span_exporter.clear()
    await asyncio.gather(*(batcher.publish([status(publisher, "CP-T", c, unsampled)]) for c in range(3)))
    assert not [s for s in span_exporter.get_finished_spans() if s.name.endswith("publish")]
    await asyncio.gather(
        batcher.publish([status(publisher, "CP-T", 10, unsampled)]),
        batcher.publish([status(publisher, "CP-T", 11, sampled)]),
    )
    (span,) = [s for s in span_exporter.get_finished_spans() if s.name.endswith("publish")]
    assert span.context is not None and span.parent is not None
    assert (span.context.trace_id, span.parent.span_id) == (int("3" * 32, 16), int("4" * 16, 16))
    assert span.attributes is not None and span.attributes["messaging.batch.message_count"] == 2
    entries = await redis_client.xrange(stream_name(StreamFamily.STATUS, 0))
    # Every entry keeps the trace of the message that made it.
    assert [fields[b"traceparent"].decode() for _, fields in entries][-2:] == [unsampled, sampled]


async def test_a_publish_one_turn_after_another_joins_its_pipeline(redis_client: aioredis.Redis) -> None:
    publisher = CountingPublisher(redis_client)
    batcher = PublishBatcher(publisher)
    first = asyncio.ensure_future(batcher.publish([status(publisher, "CP-T1", 1)]))
    await asyncio.sleep(0)  # the first publish has queued its event and started the flush
    second = asyncio.ensure_future(batcher.publish([status(publisher, "CP-T2", 1)]))
    await asyncio.gather(first, second)
    assert publisher.pipelines == 1
    assert await redis_client.xlen(stream_name(StreamFamily.STATUS, 0)) == 2


async def test_an_event_nobody_waits_for_keeps_its_place_and_is_logged_when_lost(
    redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = EventPublisher(redis_client)
    batcher = PublishBatcher(publisher)
    batcher.send(status(publisher, "CP-SOON", 1), "status", "CP-SOON")
    # Published after it, awaited: once this is in, the one sent before is in too, ahead of it.
    await batcher.publish([status(publisher, "CP-SOON", 2)])
    entries = await redis_client.xrange(stream_name(StreamFamily.STATUS, 0))
    assert [fields[b"id"] for _, fields in entries] == [b"CP-SOON-1", b"CP-SOON-2"]

    away = aioredis.Redis(port=free_port(), socket_connect_timeout=1)
    dead = PublishBatcher(EventPublisher(away), timeout_seconds=3)
    with caplog.at_level("ERROR", logger="chargewatch.ocpp_gateway.events"):
        dead.send(status(publisher, "CP-LOST", 1), "status", "CP-LOST")
        with pytest.raises(PublishFailed):
            await dead.publish([status(publisher, "CP-LOST", 2)])
    await away.aclose()
    lost = [r for r in caplog.records if r.getMessage() == "could not publish status event"]
    assert len(lost) == 1 and getattr(lost[0], "station_id", None) == "CP-LOST"


async def test_append_gives_the_entry_ids_only_when_asked_and_appends_either_way(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client, producer="test")
    stream = stream_name(StreamFamily.STATUS, 0)
    asked = await publisher.append([status(publisher, "CP-IDS", 1), status(publisher, "CP-IDS", 2)])
    quiet = await publisher.append([status(publisher, "CP-IDS", 3)], entry_ids=False)
    entries = await redis_client.xrange(stream)
    assert [entry_id.decode() for entry_id, _ in entries[:2]] == asked
    assert quiet == []
    assert [fields[b"id"] for _, fields in entries] == [b"CP-IDS-1", b"CP-IDS-2", b"CP-IDS-3"]
