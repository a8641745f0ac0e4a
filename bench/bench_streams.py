"""Event bus throughput: our publisher and consumer group against raw Redis commands.

Baselines, measured in the same run against the same Redis server:
- publish: the same serialized envelopes sent with bare pipelined XADD (the ceiling: no envelope
  building, no spans, no metrics);
- consume: a bare XREADGROUP + XACK loop (no decoding, no spans, no handler).
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from bench.harness import Measurement, rate, record, repeat, write_section
from chargewatch.devstack.processes import start_redis
from chargewatch.streams import ConsumerGroupWorker, EventPublisher, StreamFamily, stream_name
from chargewatch.v1 import common_pb2, events_pb2

EVENTS = 20_000
BATCH = 100
RUNS = 5
TITLE = "Event bus (libs/streams)"


def _status(index: int) -> events_pb2.ConnectorStatusChange:
    return events_pb2.ConnectorStatusChange(
        evse_id=1 + index % 4, connector_id=1, status=common_pb2.CONNECTOR_STATUS_CHARGING, error_code="NoError"
    )


async def _publish_ours(redis: aioredis.Redis) -> float:
    await redis.flushdb()
    publisher = EventPublisher(redis, max_len=None)
    started = time.perf_counter()
    for offset in range(0, EVENTS, BATCH):
        envelopes = [publisher.envelope(f"CP-{i % 500}", _status(i)) for i in range(offset, offset + BATCH)]
        await publisher.publish_many(envelopes)
    return rate(EVENTS, started)


async def _publish_raw(redis: aioredis.Redis) -> float:
    await redis.flushdb()
    publisher = EventPublisher(redis, max_len=None)
    payloads = [publisher.envelope(f"CP-{i % 500}", _status(i)).SerializeToString() for i in range(EVENTS)]
    stream = stream_name(StreamFamily.STATUS, 0)
    started = time.perf_counter()
    for offset in range(0, EVENTS, BATCH):
        pipe = redis.pipeline(transaction=False)
        for data in payloads[offset : offset + BATCH]:
            pipe.xadd(stream, {"data": data})
        await pipe.execute()
    return rate(EVENTS, started)


async def _fill(redis: aioredis.Redis) -> None:
    await redis.flushdb()
    publisher = EventPublisher(redis, max_len=None)
    for offset in range(0, EVENTS, 1000):
        await publisher.publish_many(
            [publisher.envelope(f"CP-{i % 500}", _status(i)) for i in range(offset, offset + 1000)]
        )


async def _consume_ours(redis: aioredis.Redis) -> float:
    await _fill(redis)
    seen = 0
    done = asyncio.Event()

    async def handler(events: object) -> None:
        nonlocal seen
        seen += len(events)  # type: ignore[arg-type]
        if seen >= EVENTS:
            done.set()

    worker = ConsumerGroupWorker(
        redis,
        group="bench",
        consumer="c1",
        families=[StreamFamily.STATUS],
        handler=handler,
        batch_size=BATCH * 2,
        block_ms=50,
    )
    await worker.start()
    started = time.perf_counter()
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(done.wait(), 120)
    result = rate(EVENTS, started)
    worker.stop()
    await task
    return result


async def _consume_raw(redis: aioredis.Redis) -> float:
    await _fill(redis)
    stream = stream_name(StreamFamily.STATUS, 0)
    await redis.xgroup_create(stream, "raw", id="0")
    seen = 0
    started = time.perf_counter()
    while seen < EVENTS:
        reply = await redis.xreadgroup("raw", "c1", {stream: ">"}, count=BATCH * 2, block=50)
        for _name, entries in reply:
            ids = [entry_id for entry_id, _fields in entries]
            await redis.xack(stream, "raw", *ids)
            seen += len(ids)
    return rate(EVENTS, started)


async def main() -> list[Measurement]:
    server = start_redis()
    redis = aioredis.Redis(port=server.port)
    try:
        return [
            Measurement(
                "publish (envelope, span, XADD) events/s",
                "events/s",
                await repeat(RUNS, lambda: _publish_ours(redis)),
                "bare pipelined XADD",
                await repeat(RUNS, lambda: _publish_raw(redis)),
            ),
            Measurement(
                "consume (decode, span, handler, XACK) events/s",
                "events/s",
                await repeat(RUNS, lambda: _consume_ours(redis)),
                "bare XREADGROUP + XACK",
                await repeat(RUNS, lambda: _consume_raw(redis)),
            ),
        ]
    finally:
        await redis.aclose()
        server.stop()


def run() -> str:
    measurements = asyncio.run(main())
    section = write_section(TITLE, __doc__ or "", measurements)
    record(TITLE, section)
    return section
