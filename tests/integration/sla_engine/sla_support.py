"""Shared pieces of the SLA engine's integration tests: a fresh database, events built the way the
gateway builds them, an in-process engine, and the gRPC API on a free port."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import redis.asyncio as aioredis
from google.protobuf.message import Message
from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.mongo import Document, create_mongo_client, ensure_indexes
from chargewatch.rpc import GrpcServer
from chargewatch.sla_engine import reports, store
from chargewatch.sla_engine.directory import SiteDirectory
from chargewatch.sla_engine.engine import Engine, EngineSettings
from chargewatch.sla_engine.grpc_api import ApiSettings, SlaServicer
from chargewatch.sla_engine.processor import PartitionProcessor, ProcessorSettings
from chargewatch.sla_engine.profiles import ProfileCache
from chargewatch.sla_engine.queries import Queries
from chargewatch.streams import EventPublisher, StreamFamily, stream_name
from chargewatch.v1 import common_pb2, events_pb2, sla_pb2_grpc

OPERATOR = common_pb2.Principal(subject="op-1", client_id="cli", roles=["operator"])
SRE = common_pb2.Principal(subject="sre-1", roles=["sre"])
PARTNER_A = common_pb2.Principal(subject="pa", roles=["partner"], tenant_id="partner-a")
PARTNER_B = common_pb2.Principal(subject="pb", roles=["partner"], tenant_id="partner-b")
NOBODY = common_pb2.Principal(subject="x", roles=["partner"])


@asynccontextmanager
async def fresh_store(mongo_url: str) -> AsyncIterator[store.SlaStore]:
    client = create_mongo_client(mongo_url, app_name="sla-test")
    name = f"sla_{random.randrange(1 << 30)}"
    db: AsyncDatabase[Document] = client[name]
    await ensure_indexes(db, store.indexes())
    try:
        yield store.SlaStore(db)
    finally:
        await client.drop_database(name)
        await client.close()


def gateway_event(
    station: str,
    at: datetime,
    payload: Message,
    event_id: str,
    *,
    tenant: str = "partner-a",
    publisher: EventPublisher | None = None,
    late: bool = False,
) -> events_pb2.EventEnvelope:
    """As the gateway publishes it: received 200 ms after the station's timestamp."""
    if publisher is not None:
        envelope = publisher.envelope(station, payload, tenant_id=tenant, station_time=at, event_id=event_id, late=late)
    else:
        kind = {
            "StationConnection": "connection",
            "StationHeartbeat": "heartbeat",
            "StationBoot": "boot",
            "ConnectorStatusChange": "status",
            "MeterValues": "meter_values",
            "TransactionEvent": "transaction",
        }[payload.DESCRIPTOR.name]
        envelope = events_pb2.EventEnvelope(event_id=event_id, station_id=station, tenant_id=tenant, late=late)
        getattr(envelope, kind).CopyFrom(payload)
        envelope.station_time.FromDatetime(at)
    envelope.received_time.FromDatetime(at + timedelta(milliseconds=200))
    return envelope


def status(evse: int, value: int, code: str = "NoError") -> events_pb2.ConnectorStatusChange:
    return events_pb2.ConnectorStatusChange(evse_id=evse, connector_id=1, status=value, error_code=code)  # type: ignore[arg-type]


def connected() -> events_pb2.StationConnection:
    return events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_CONNECTED)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Fixture:
    """A processor writing to a real store, the queries and an API over real gRPC."""

    store: store.SlaStore
    processor: PartitionProcessor
    stub: sla_pb2_grpc.SlaStub
    queries: Queries

    async def feed(self, envelopes: Sequence[events_pb2.EventEnvelope]) -> list[events_pb2.EventEnvelope]:
        alerts = self.processor.apply(envelopes, live=True)
        await self.processor.flush()
        return alerts


@asynccontextmanager
async def api_fixture(
    mongo_url: str,
    *,
    clock: Callable[[], float] | None = None,
    settings: ProcessorSettings | None = None,
    api: ApiSettings | None = None,
    site_of: Callable[[str], str | None] = lambda _s: None,
) -> AsyncIterator[Fixture]:
    async with fresh_store(mongo_url) as sla_store:
        queries = Queries(sla_store)
        processor = PartitionProcessor(
            0,
            1,
            sla_store,
            None,
            ProfileCache(),
            # Heartbeats every 30 days: the fixtures' stations are quiet for days on purpose.
            settings or ProcessorSettings(heartbeat_interval_ms=30 * 86_400_000),
            site_of=site_of,
            **({"clock": clock} if clock else {}),
        )
        server = GrpcServer("127.0.0.1", 0)
        builder = reports.ReportBuilder(queries, min_energy_wh=100.0, retry_window_ms=15 * 60_000)
        server.add_service(
            sla_pb2_grpc.add_SlaServicer_to_server,
            SlaServicer(queries, builder, api or ApiSettings()),
            "chargewatch.v1.Sla",
        )
        port = await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        try:
            yield Fixture(sla_store, processor, sla_pb2_grpc.SlaStub(channel), queries)
        finally:
            await channel.close()
            await server.stop(0)


def engine_for(
    redis: aioredis.Redis,
    sla_store: store.SlaStore,
    *,
    instance: str = "test",
    partitions: int = 1,
    settings: ProcessorSettings | None = None,
    flush_interval_s: float = 0.2,
) -> Engine:
    return Engine(
        redis,
        sla_store,
        EventPublisher(redis, partitions=partitions, producer=f"sla-engine/{instance}"),
        ProfileCache(),
        SiteDirectory(None),
        settings or ProcessorSettings(heartbeat_interval_ms=86_400_000, flap_window_ms=60_000),
        EngineSettings(
            partitions=partitions,
            instance=instance,
            lease_ttl_ms=2000,
            block_ms=50,
            flush_interval_s=flush_interval_s,
            silence_check_s=0.3,
            claim_idle_ms=500,
        ),
    )


async def read_alerts(redis: aioredis.Redis, partitions: int = 1) -> list[events_pb2.EventEnvelope]:
    out = []
    for partition in range(partitions):
        for _entry, fields in await redis.xrange(stream_name(StreamFamily.ALERT, partition)):
            out.append(events_pb2.EventEnvelope.FromString(fields[b"data"]))
    return out


async def eventually(predicate: Callable[[], object], limit_s: float = 15.0) -> object:
    deadline = asyncio.get_running_loop().time() + limit_s
    last: object = None
    while asyncio.get_running_loop().time() < deadline:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {limit_s}s (last: {last!r})")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
