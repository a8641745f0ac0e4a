"""A consumer killed between its effect and its acknowledgement: the entry is redelivered to
another consumer and takes effect exactly once (nothing lost, nothing written twice)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from chargewatch.mongo import create_mongo_client, ensure_indexes
from chargewatch.streams import ConsumerGroupWorker, Event, EventPublisher, StreamFamily, stream_name
from chargewatch.telemetry import meters, registry, sessions
from chargewatch.telemetry.ingest import FAMILIES, TelemetryIngest
from chargewatch.telemetry.readings import QualityLimits
from chargewatch.v1 import common_pb2, events_pb2

GROUP = "telemetry"


async def test_killed_consumer_entries_take_effect_exactly_once(redis_client: aioredis.Redis, mongo_url: str) -> None:
    mongo = create_mongo_client(mongo_url, app_name="crash-test")
    name = f"crash_{random.randrange(1 << 30)}"
    db = mongo[name]
    await ensure_indexes(db, registry.indexes(30))
    stations = registry.StationRegistry(db)
    await stations.register(registry.Registration("CP-CRASH", "partner-a", "s", 1))
    ingest = TelemetryIngest(stations, meters.MeterStore(db), sessions.SessionStore(db), None, QualityLimits())

    publisher = EventPublisher(redis_client)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    statuses = [
        common_pb2.CONNECTOR_STATUS_AVAILABLE,
        common_pb2.CONNECTOR_STATUS_PREPARING,
        common_pb2.CONNECTOR_STATUS_CHARGING,
    ]
    envelopes = [
        publisher.envelope(
            "CP-CRASH",
            events_pb2.ConnectorStatusChange(evse_id=1, connector_id=1, status=value, error_code="NoError"),  # type: ignore[arg-type]
            tenant_id="partner-a",
            station_time=start + timedelta(seconds=index),
        )
        for index, value in enumerate(statuses)
    ]
    await publisher.publish_many(envelopes)

    effect_done = asyncio.Event()

    async def effect_then_die(events: Any) -> None:
        await ingest(events)
        effect_done.set()
        await asyncio.Event().wait()  # the process dies here: the effect is durable, the ack never sent

    doomed = ConsumerGroupWorker(
        redis_client,
        group=GROUP,
        consumer="pod-1",
        families=FAMILIES,
        handler=effect_then_die,
        block_ms=100,
        claim_idle_ms=200,
        claim_interval_s=0.1,
    )
    doomed_task = asyncio.create_task(doomed.run())
    await asyncio.wait_for(effect_done.wait(), 10)
    doomed_task.cancel()
    await asyncio.gather(doomed_task, return_exceptions=True)

    stream = stream_name(StreamFamily.STATUS, 0)
    pending = await redis_client.xpending(stream, GROUP)
    assert pending["pending"] == 3  # nothing was acknowledged by the dead consumer

    handled: list[Event] = []

    async def recording(events: Any) -> None:
        await ingest(events)
        handled.extend(events)

    survivor = ConsumerGroupWorker(
        redis_client,
        group=GROUP,
        consumer="pod-2",
        families=FAMILIES,
        handler=recording,
        block_ms=100,
        claim_idle_ms=200,
        claim_interval_s=0.1,
    )
    survivor_task = asyncio.create_task(survivor.run())
    for _ in range(100):
        if (await redis_client.xpending(stream, GROUP))["pending"] == 0:
            break
        await asyncio.sleep(0.1)
    survivor.stop()
    await asyncio.wait_for(survivor_task, 10)

    assert (await redis_client.xpending(stream, GROUP))["pending"] == 0
    assert sorted(e.envelope.event_id for e in handled) == sorted(e.event_id for e in envelopes)
    # Applied twice, written once: three status events in the history, the latest state live.
    assert await stations.history.count_documents({"station_id": "CP-CRASH"}) == 3
    document = await stations.get("CP-CRASH", None)
    assert document is not None
    assert document["connectors"]["1-1"]["status"] == common_pb2.CONNECTOR_STATUS_CHARGING
    assert await redis_client.xlen("cw:dead-letter:telemetry") == 0
    await mongo.drop_database(name)
    await mongo.close()
