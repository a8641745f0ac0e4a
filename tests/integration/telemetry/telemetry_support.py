"""Shared pieces of the telemetry integration tests: stores on a fresh database, events built the
way the gateway builds them, and a consumer run until the streams are drained."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis.asyncio as aioredis
from google.protobuf.message import Message
from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.mongo import Document, create_mongo_client
from chargewatch.streams import ConsumerGroupWorker, EventPublisher, stream_names
from chargewatch.telemetry import meters, registry, retention, sessions
from chargewatch.telemetry.ingest import FAMILIES, TelemetryIngest
from chargewatch.telemetry.readings import QualityLimits
from chargewatch.v1 import events_pb2

GROUP = "telemetry"


@dataclass
class Stores:
    db: AsyncDatabase[Document]
    registry: registry.StationRegistry
    meters: meters.MeterStore
    sessions: sessions.SessionStore
    downsampler: meters.Downsampler

    def ingest(self, publisher: EventPublisher | None) -> TelemetryIngest:
        # Small chunks, so batches are stored as several pipelined inserts as in production.
        return TelemetryIngest(self.registry, self.meters, self.sessions, publisher, QualityLimits(), chunk_size=7)


@asynccontextmanager
async def fresh_stores(mongo_url: str) -> AsyncIterator[Stores]:
    client = create_mongo_client(mongo_url, app_name="telemetry-test")
    name = f"telemetry_{random.randrange(1 << 30)}"
    db = client[name]
    # As the service does it: TTL indexes on MongoDB, sweep rules on the local store.
    await retention.prepare(
        client, db, [*registry.indexes(400), *meters.indexes(400, 800), *sessions.indexes(400)], "auto"
    )
    session_store = sessions.SessionStore(db)
    station_registry = registry.StationRegistry(db)
    try:
        yield Stores(
            db,
            station_registry,
            meters.MeterStore(db),
            session_store,
            meters.Downsampler(
                db, raw_days=400, on_sessions=session_store.recompute, on_latest=station_registry.record_latest
            ),
        )
    finally:
        await client.drop_database(name)
        await client.close()


def gateway_event(
    publisher: EventPublisher, station: str, tenant: str, at: datetime, payload: Message, event_id: str
) -> events_pb2.EventEnvelope:
    """As the gateway publishes it: received a moment after the station's timestamp."""
    envelope = publisher.envelope(station, payload, tenant_id=tenant, station_time=at, event_id=event_id)
    envelope.received_time.FromDatetime(at + timedelta(milliseconds=300))
    return envelope


async def drain(redis: aioredis.Redis, ingest: TelemetryIngest, consumer: str) -> None:
    """Run one consumer until every entry of every stream is delivered and acknowledged."""
    worker = ConsumerGroupWorker(
        redis, group=GROUP, consumer=consumer, families=FAMILIES, handler=ingest, block_ms=50, batch_size=50
    )
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(400):
            await asyncio.sleep(0.05)
            if task.done():
                break
            if await worker.lag() == 0 and await worker.pending_count() == 0:
                break
        else:
            raise AssertionError("the consumer did not drain the streams in time")
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def redeliver_everything(redis: aioredis.Redis) -> int:
    """Append every entry of every telemetry stream again (same fields, so the same event ids)."""
    count = 0
    for stream in stream_names(FAMILIES, 1):
        for _entry_id, fields in await redis.xrange(stream):
            await redis.xadd(stream, fields)
            count += 1
    return count
