"""Telemetry: meter ingest rate and query times (services/telemetry).

Ingest: MeterValues events (energy, power, current, voltage, SoC: 5 sampled values each) for
1,000 connectors are published to Redis first, then one consumer (ConsumerGroupWorker +
TelemetryIngest: decode, quality checks, one unordered bulk insert per batch, acks) stores them.
Baseline, same run, same store: the same reading documents written with bare `insert_many`
batches of the same size (the store's own bulk-insert rate).

Queries, over real gRPC against the MongoDB-wire store: a 30-day series at a 15-minute step for
one connector (served from the roll-ups) and the 30-day utilization heat map of one site of 20
connectors. Baselines: a bare `find` of the same roll-up / status-history documents.

Scale: the brief asks for 30 days of 1-minute values for 1,000 connectors (43 M readings). The
local store writes about 25,000 documents/s on this machine, so that would take ~30 minutes to
load; instead the roll-up collection holds 30 days of 15-minute buckets for 200 connectors
(576,000 documents, what 8.6 M one-minute readings roll up to) and the status history 30 days of
10 changes a day for those 200 connectors. Both queries read through an index on (connector,
time) / (station, time), so their cost grows with the documents returned (2,880 buckets; 6,000
status changes), and only logarithmically with the collection: 5x more connectors adds at most
one B-tree level per lookup.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.harness import Measurement, rate, record, repeat, write_section
from chargewatch.devstack.processes import ManagedProcess, start_mongo_store, start_redis
from chargewatch.mongo import Document, create_mongo_client, ensure_indexes
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.streams import ConsumerGroupWorker, Event, EventPublisher
from chargewatch.telemetry import meters, registry, sessions
from chargewatch.telemetry.grpc_api import TelemetryServicer
from chargewatch.telemetry.ingest import FAMILIES, TelemetryIngest
from chargewatch.telemetry.meters import reading_document
from chargewatch.telemetry.readings import QualityLimits, readings_from
from chargewatch.v1 import common_pb2, events_pb2, telemetry_pb2, telemetry_pb2_grpc

TITLE = "Telemetry (services/telemetry)"
RUNS = 3
INGEST_EVENTS = 20_000
CONNECTORS = 1_000
BATCH = 500
QUERY_CONNECTORS = 200
SITE_SIZE = 20
DAYS = 30
STATUS_CHANGES_PER_DAY = 10
END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=DAYS)
OPERATOR = common_pb2.Principal(subject="bench", roles=["operator"])


def _meter_event(publisher: EventPublisher, index: int) -> events_pb2.EventEnvelope:
    connector = index % CONNECTORS
    station, evse = f"CP-{connector // 2:04d}", 1 + connector % 2
    at = START + timedelta(minutes=index // CONNECTORS)
    samples = [
        events_pb2.SampledValue(measurand=m, value=v, unit=u)
        for m, v, u in (
            ("Energy.Active.Import.Register", 1000.0 + 100 * (index // CONNECTORS), common_pb2.UNIT_WH),
            ("Power.Active.Import", 6000.0, common_pb2.UNIT_W),
            ("Current.Import", 26.0, common_pb2.UNIT_A),
            ("Voltage", 230.0, common_pb2.UNIT_V),
            ("SoC", 50.0, common_pb2.UNIT_PERCENT),
        )
    ]
    for sample in samples:
        sample.timestamp.FromDatetime(at)
    payload = events_pb2.MeterValues(evse_id=evse, connector_id=1, transaction_id=f"tx-{connector}", samples=samples)
    envelope = publisher.envelope(station, payload, tenant_id="bench", station_time=at, event_id=f"m{index}")
    envelope.received_time.FromDatetime(at + timedelta(seconds=1))
    return envelope


async def _fresh(mongo: AsyncMongoClient[Document], name: str) -> AsyncDatabase[Document]:
    await mongo.drop_database(name)
    db = mongo[name]
    await ensure_indexes(db, [*registry.indexes(400), *meters.indexes(400, 800), *sessions.indexes(400)])
    return db


async def _ingest_ours(
    redis: aioredis.Redis, mongo: AsyncMongoClient[Document], envelopes: list[events_pb2.EventEnvelope]
) -> float:
    await redis.flushdb()
    db = await _fresh(mongo, "bench_ingest")
    publisher = EventPublisher(redis, max_len=None)
    for offset in range(0, len(envelopes), 2000):
        await publisher.publish_many(envelopes[offset : offset + 2000])
    ingest = TelemetryIngest(
        registry.StationRegistry(db),
        meters.MeterStore(db),
        sessions.SessionStore(db),
        publisher,
        QualityLimits(),
    )
    stored = asyncio.Event()

    async def handler(events: Sequence[Event]) -> None:
        await ingest(events)
        if ingest.readings_stored >= len(envelopes):
            stored.set()

    worker = ConsumerGroupWorker(
        redis, group="telemetry", consumer="bench", families=FAMILIES, handler=handler, batch_size=BATCH, block_ms=20
    )
    await worker.start()
    started = time.perf_counter()
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(stored.wait(), 600)
    result = rate(ingest.readings_stored, started)
    worker.stop()
    await task
    return result


async def _ingest_bare(mongo: AsyncMongoClient[Document], documents: list[Document]) -> float:
    db = await _fresh(mongo, "bench_ingest")
    collection = db[meters.METER_VALUES]
    copies = [dict(d) for d in documents]
    started = time.perf_counter()
    for offset in range(0, len(copies), BATCH):
        await collection.insert_many(copies[offset : offset + BATCH], ordered=False)
    return rate(len(copies), started)


async def _load_query_data(db: AsyncDatabase[Document]) -> None:
    """Roll-ups and status history for QUERY_CONNECTORS connectors over DAYS days, bulk inserted."""
    rng = random.Random(5)
    stations = registry.StationRegistry(db)
    for number in range(QUERY_CONNECTORS // 2):
        await stations.register(
            registry.Registration(
                f"CP-{number:04d}",
                "bench",
                f"site-{number // (SITE_SIZE // 2)}",
                1,
                connectors=[
                    registry.ConnectorSpec(1, 1, "cCCS2", 50_000),
                    registry.ConnectorSpec(2, 1, "cCCS2", 50_000),
                ],
            )
        )
    rollups = db[meters.ROLLUPS]
    history = db[registry.STATUS_HISTORY]
    buckets = DAYS * 96
    for connector in range(QUERY_CONNECTORS):
        station, evse = f"CP-{connector // 2:04d}", 1 + connector % 2
        key = f"{station}|{evse}|1"
        documents = []
        for b in range(buckets):
            start = START + timedelta(minutes=15 * b)
            energy = 1000.0 + 1500.0 * b
            documents.append(
                {
                    "_id": f"{key}|{meters.to_ms(start)}",
                    "connector": key,
                    "station_id": station,
                    "tenant_id": "bench",
                    "evse_id": evse,
                    "connector_id": 1,
                    "t": start,
                    "samples": 15,
                    "first_at_ms": meters.to_ms(start),
                    "last_at_ms": meters.to_ms(start) + 14 * 60_000,
                    "energy_first_wh": energy,
                    "energy_last_wh": energy + 1400.0,
                    "energy_delta_wh": 1400.0,
                    "power_sum_w": 15 * 6000.0,
                    "power_count": 15,
                    "power_max_w": 6000.0 + rng.random() * 100,
                    "current_sum_a": 0.0,
                    "current_count": 0,
                    "voltage_sum_v": 0.0,
                    "voltage_count": 0,
                    "soc_last_percent": None,
                    "temperature_max_c": None,
                    "flags": [],
                    "transaction_peaks": [],
                }
            )
        for offset in range(0, len(documents), 1000):
            await rollups.insert_many(documents[offset : offset + 1000], ordered=False)
        changes = []
        for day in range(DAYS):
            for change in range(STATUS_CHANGES_PER_DAY):
                at = START + timedelta(days=day, minutes=rng.randrange(24 * 60))
                changes.append(
                    {
                        "_id": f"{key}-{day}-{change}",
                        "station_id": station,
                        "tenant_id": "bench",
                        "evse_id": evse,
                        "connector_id": 1,
                        "status": rng.choice(
                            [common_pb2.CONNECTOR_STATUS_AVAILABLE, common_pb2.CONNECTOR_STATUS_CHARGING]
                        ),
                        "error_code": "NoError",
                        "station_time": at,
                        "received_time": at,
                    }
                )
        await history.insert_many(changes, ordered=False)


def _range() -> common_pb2.TimeRange:
    time_range = common_pb2.TimeRange()
    time_range.start.FromDatetime(START)
    time_range.end.FromDatetime(END)
    return time_range


async def _timed(call: Awaitable[object]) -> float:
    started = time.perf_counter()
    await call
    return (time.perf_counter() - started) * 1000


async def main() -> list[Measurement]:
    redis_server: ManagedProcess = start_redis()
    mongo_server: ManagedProcess = start_mongo_store()
    redis = aioredis.Redis(port=redis_server.port)
    mongo = create_mongo_client(f"mongodb://127.0.0.1:{mongo_server.port}/", app_name="bench", timeout_ms=60_000)
    try:
        publisher = EventPublisher(redis, max_len=None)
        envelopes = [_meter_event(publisher, i) for i in range(INGEST_EVENTS)]
        documents = [
            reading_document(reading, envelope.event_id, 0, 0)
            for envelope in envelopes
            for reading in readings_from(envelope)
        ]
        ours = await repeat(RUNS, lambda: _ingest_ours(redis, mongo, envelopes))
        bare = await repeat(RUNS, lambda: _ingest_bare(mongo, documents))
        await mongo.drop_database("bench_ingest")

        db = await _fresh(mongo, "bench_query")
        await _load_query_data(db)
        server = GrpcServer("127.0.0.1", 0)
        server.add_service(
            telemetry_pb2_grpc.add_TelemetryServicer_to_server,
            TelemetryServicer(
                registry.StationRegistry(db),
                meters.MeterStore(db),
                sessions.SessionStore(db),
            ),
            "chargewatch.v1.Telemetry",
        )
        await server.start()
        channel = client_channel(f"127.0.0.1:{server.port}")
        stub = telemetry_pb2_grpc.TelemetryStub(channel)
        ref = common_pb2.ConnectorRef(station_id="CP-0042", evse_id=1, connector_id=1)
        series_request = telemetry_pb2.GetMeterSeriesRequest(
            principal=OPERATOR, connector=ref, range=_range(), step_seconds=900
        )
        heat_request = telemetry_pb2.UtilizationRequest(
            principal=OPERATOR, scope=telemetry_pb2.AnalyticsScope(site_id="site-3"), range=_range()
        )
        reply = await stub.GetMeterSeries(series_request, timeout=30)
        assert len(reply.points) == DAYS * 96, len(reply.points)
        heat = await stub.GetUtilization(heat_request, timeout=30)
        assert len(heat.connectors) == SITE_SIZE
        assert len(heat.sites[0].hours) == 168
        rollups = db[meters.ROLLUPS]
        history = db[registry.STATUS_HISTORY]
        site_stations = [f"CP-{n:04d}" for n in range(30, 40)]

        async def bare_series() -> float:
            return await _timed(rollups.find({"connector": "CP-0042|1|1", "t": {"$gte": START, "$lt": END}}).to_list())

        async def bare_history() -> float:
            return await _timed(
                history.find(
                    {"station_id": {"$in": site_stations}, "station_time": {"$gte": START, "$lt": END}}
                ).to_list()
            )

        measurements = [
            Measurement(
                "ingest: readings stored/s (one consumer)",
                "readings/s",
                ours,
                "bare insert_many, same documents",
                bare,
                target=">= 80% of baseline",
            ),
            Measurement(
                "ingest: sampled values stored/s (5 per reading)",
                "values/s",
                [r * 5 for r in ours],
                target=">= 10,000 values/s",
            ),
            Measurement(
                "30-day series, 15-min step, one connector (gRPC)",
                "ms",
                await repeat(RUNS * 3, lambda: _timed(stub.GetMeterSeries(series_request, timeout=30))),
                "bare find of the 2,880 roll-ups",
                await repeat(RUNS * 3, bare_series),
                higher_is_better=False,
                target="< 100 ms",
            ),
            Measurement(
                "30-day site utilization heat map, 20 connectors (gRPC)",
                "ms",
                await repeat(RUNS * 3, lambda: _timed(stub.GetUtilization(heat_request, timeout=30))),
                "bare find of the site's status history",
                await repeat(RUNS * 3, bare_history),
                higher_is_better=False,
                target="< 1,000 ms",
            ),
        ]
        await channel.close(None)
        await server.stop(0)
        await mongo.drop_database("bench_query")
        return measurements
    finally:
        await mongo.close()
        await redis.aclose()
        mongo_server.stop()
        redis_server.stop()


def run() -> str:
    measurements = asyncio.run(main())
    section = write_section(TITLE, __doc__ or "", measurements)
    record(TITLE, section)
    return section
