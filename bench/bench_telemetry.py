"""Telemetry: meter ingest rate and query times (services/telemetry).

Ingest: MeterValues events (energy, power, current, voltage, SoC: 5 sampled values each) for
1,000 connectors are published to Redis first, then one consumer (ConsumerGroupWorker +
TelemetryIngest: decode, quality checks, readings logged as one compressed document per chunk of
100 events, chunks pipelined, acks) stores them; "stored" means the handler returned, i.e. the
readings are durable and their entries acknowledged. Baseline, same run, same store: the same
readings as one document each (the raw shape before this design) written with bare `insert_many`
batches of 500 into a collection with only its `_id` index: the store's own bulk-insert rate.
The fold row times the downsampler turning that log into per-connector 15-minute raw documents
and roll-ups; the row after it is both stages one after the other (the service runs them
concurrently), against the same baseline.

Queries, over real gRPC against the MongoDB-wire store (set up as the service sets it up there:
retention by sweep, no TTL index), on 30 days of data for 1,000 connectors (500 stations, 50
sites of 20 connectors): the roll-ups that 30 days of 1-minute meter values make (30,000 day
documents of 96 fifteen-minute roll-ups each, computed by the service's own aggregation from
43,200 one-minute readings of a synthetic charging profile, the same profile for every
connector), and 10 status changes a day per connector (300,000 changes in 30,000 connector-day
documents). A 30-day series at a 15-minute step for one connector reads its 30 day documents;
the 30-day utilization heat map of one site reads its 20 connectors' day indexes and 600
connector-day documents; both by `_id`, the only lookup the local store serves from an index.
Baselines: a bare `find` of the same documents. The 43 M raw readings themselves are not loaded
(over an hour of inserts here): neither query reads raw readings, and a lookup by `_id` is a
B-tree descent, logarithmic in the collection size.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.harness import Measurement, rate, record, repeat, write_section
from chargewatch.devstack.processes import ManagedProcess, start_mongo_store, start_redis
from chargewatch.mongo import Document, create_mongo_client
from chargewatch.rpc import GrpcServer, client_channel
from chargewatch.streams import ConsumerGroupWorker, Event, EventPublisher
from chargewatch.telemetry import meters, occupancy, registry, retention, sessions
from chargewatch.telemetry.grpc_api import TelemetryServicer
from chargewatch.telemetry.ingest import FAMILIES, TelemetryIngest
from chargewatch.telemetry.readings import QualityLimits, Reading, readings_from
from chargewatch.v1 import common_pb2, events_pb2, telemetry_pb2, telemetry_pb2_grpc

TITLE = "Telemetry (services/telemetry)"
RUNS = 3
QUERY_RUNS = 9
INGEST_EVENTS = 20_000
CONNECTORS = 1_000
BATCH = 500
SITE_SIZE = 20
DAYS = 30
STATUS_CHANGES_PER_DAY = 10
END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=DAYS)
START_MS = int(START.timestamp() * 1000)
OPERATOR = common_pb2.Principal(subject="bench", roles=["operator"])


def _station(connector: int) -> tuple[str, int]:
    return f"CP-{connector // 2:04d}", 1 + connector % 2


def _meter_event(publisher: EventPublisher, index: int, rng: random.Random) -> events_pb2.EventEnvelope:
    connector = index % CONNECTORS
    minute = index // CONNECTORS
    station, evse = _station(connector)
    at = START + timedelta(minutes=minute)
    power = 7000.0 + rng.uniform(-400, 400)
    samples = [
        events_pb2.SampledValue(measurand=m, value=v, unit=u)
        for m, v, u in (
            ("Energy.Active.Import.Register", round(50_000.0 + connector * 7 + 116.7 * minute, 1), common_pb2.UNIT_WH),
            ("Power.Active.Import", round(power, 1), common_pb2.UNIT_W),
            ("Current.Import", round(power / 230 / 3, 2), common_pb2.UNIT_A),
            ("Voltage", round(230.0 + rng.uniform(-3, 3), 1), common_pb2.UNIT_V),
            ("SoC", float(20 + minute), common_pb2.UNIT_PERCENT),
        )
    ]
    for sample in samples:
        sample.timestamp.FromDatetime(at)
    payload = events_pb2.MeterValues(evse_id=evse, connector_id=1, transaction_id=f"tx-{connector}", samples=samples)
    envelope = publisher.envelope(station, payload, tenant_id="bench", station_time=at, event_id=f"{index:08x}")
    envelope.received_time.FromDatetime(at + timedelta(seconds=1))
    return envelope


def _reading_document(reading: Reading, event_id: str, index: int) -> Document:
    """One reading, one document: the shape of the store's own bulk-insert baseline."""
    document: Document = {
        "_id": f"{event_id}:{index}",
        "connector": reading.connector,
        "station_id": reading.station_id,
        "t": reading.at,
    }
    if reading.transaction_id:
        document["transaction_id"] = reading.transaction_id
    for name in ("energy_wh", "power_w", "current_a", "voltage_v", "soc_percent", "temperature_c"):
        if (value := getattr(reading, name)) is not None:
            document[name] = value
    return document


async def _fresh(mongo: AsyncMongoClient[Document], name: str) -> AsyncDatabase[Document]:
    """A database set up as the service sets it up (on the local store: retention by sweep)."""
    await mongo.drop_database(name)
    db = mongo[name]
    specs = [*registry.indexes(400), *meters.indexes(400, 800), *sessions.indexes(400)]
    await retention.prepare(mongo, db, specs, "auto")
    return db


async def _ingest_ours(
    redis: aioredis.Redis, mongo: AsyncMongoClient[Document], envelopes: list[events_pb2.EventEnvelope]
) -> tuple[float, float]:
    """(readings/s stored and acknowledged, readings/s folded by the downsampler)."""
    await redis.flushdb()
    db = await _fresh(mongo, "bench_ingest")
    publisher = EventPublisher(redis, max_len=None)
    for offset in range(0, len(envelopes), 2000):
        await publisher.publish_many(envelopes[offset : offset + 2000])
    stations = registry.StationRegistry(db)
    ingest = TelemetryIngest(stations, meters.MeterStore(db), sessions.SessionStore(db), publisher, QualityLimits())
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
    ingest_rate = rate(ingest.readings_stored, started)
    worker.stop()
    await task
    session_store = sessions.SessionStore(db)
    downsampler = meters.Downsampler(
        db, raw_days=400, on_sessions=session_store.recompute, on_latest=stations.record_latest
    )
    started = time.perf_counter()
    folded = await downsampler.run_once(now=END)
    fold_rate = rate(folded.readings, started)
    assert folded.new_readings == len(envelopes), folded.new_readings
    return ingest_rate, fold_rate


async def _ingest_bare(mongo: AsyncMongoClient[Document], documents: list[Document]) -> float:
    db = await _fresh(mongo, "bench_ingest")
    collection = db["readings_bare"]
    copies = [dict(d) for d in documents]
    started = time.perf_counter()
    for offset in range(0, len(copies), BATCH):
        await collection.insert_many(copies[offset : offset + BATCH], ordered=False)
    return rate(len(copies), started)


def _profile_slots() -> dict[int, dict[str, list[object]]]:
    """30 days of one connector's 1-minute readings (charging 07:00-09:00 and 17:30-19:00 at about
    7-11 kW, idle otherwise), rolled up by the service's own code: day ms -> its slots."""
    rng = random.Random(5)
    energy = 100_000.0
    readings: list[Document] = []
    for minute in range(DAYS * 1440):
        of_day = minute % 1440
        charging = 420 <= of_day < 540 or 1050 <= of_day < 1140
        power = rng.uniform(7000, 11000) if charging else 0.0
        energy += power / 60
        readings.append(
            {
                "t": START_MS + minute * 60_000,
                "e": round(energy, 1),
                "p": round(power, 1),
                "i": round(power / 690, 2),
                "v": round(230 + rng.uniform(-3, 3), 1),
                "s": float(min(100, of_day % 120)) if charging else None,
            }
        )
    for reading in readings:
        if reading["s"] is None:
            del reading["s"]
    days: dict[int, dict[str, list[object]]] = {}
    for aggregate in meters.aggregate_readings(readings, meters.BUCKET_MS):
        day = aggregate.start_ms - aggregate.start_ms % meters.DAY_MS
        days.setdefault(day, {})[str((aggregate.start_ms - day) // meters.BUCKET_MS)] = aggregate.slot()
    return days


async def _load_query_data(db: AsyncDatabase[Document]) -> None:
    """Stations, 30 days of roll-ups and of status changes for CONNECTORS connectors, bulk inserted."""
    rng = random.Random(5)
    await db[registry.STATIONS].insert_many(
        [
            {
                "_id": f"CP-{number:04d}",
                "tenant_id": "bench",
                "site_id": f"site-{number // (SITE_SIZE // 2)}",
                "name": f"CP-{number:04d}",
                "security_profile": 1,
                "registered_ms": START_MS,
                "connectivity": registry.ONLINE,
                "connectors": {},
                "statuses": [],
                "connector_specs": {
                    f"{evse}-1": {"evse_id": evse, "connector_id": 1, "connector_type": "cCCS2", "max_power_w": 50_000}
                    for evse in (1, 2)
                },
            }
            for number in range(CONNECTORS // 2)
        ]
    )
    profile = _profile_slots()
    days: list[Document] = []
    status_days: list[Document] = []
    indexes: list[Document] = []
    statuses = [common_pb2.CONNECTOR_STATUS_AVAILABLE, common_pb2.CONNECTOR_STATUS_CHARGING]
    for connector in range(CONNECTORS):
        station, evse = _station(connector)
        key = f"{station}|{evse}|1"
        for day, slots in profile.items():
            days.append({"_id": f"{key}|{day}", "connector": key, "t": meters.from_ms(day), "s": slots})
            changes = {
                f"{connector:04d}{day}{n:02d}": [day + rng.randrange(meters.DAY_MS), rng.choice(statuses)]
                for n in range(STATUS_CHANGES_PER_DAY)
            }
            status_days.append(
                {
                    "_id": f"{key}|{day}",
                    "station_id": station,
                    "evse_id": evse,
                    "connector_id": 1,
                    "day": meters.from_ms(day),
                    "c": changes,
                }
            )
        indexes.append({"_id": key, "d": {str(day): 1 for day in profile}})
    for collection, documents in (
        (db[meters.METER_DAYS], days),
        (db[occupancy.STATUS_DAYS], status_days),
        (db[occupancy.STATUS_INDEX], indexes),
    ):
        for offset in range(0, len(documents), 200):
            await collection.insert_many(documents[offset : offset + 200], ordered=False)


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
    assert redis_server.port is not None
    redis = aioredis.Redis(port=redis_server.port)
    mongo = create_mongo_client(f"mongodb://127.0.0.1:{mongo_server.port}/", app_name="bench", timeout_ms=120_000)
    try:
        publisher = EventPublisher(redis, max_len=None)
        rng = random.Random(3)
        envelopes = [_meter_event(publisher, i, rng) for i in range(INGEST_EVENTS)]
        documents = [
            _reading_document(reading, envelope.event_id, 0)
            for envelope in envelopes
            for reading in readings_from(envelope)
        ]
        ours = [await _ingest_ours(redis, mongo, envelopes) for _ in range(RUNS)]
        bare = await repeat(RUNS, lambda: _ingest_bare(mongo, documents))
        await mongo.drop_database("bench_ingest")

        db = await _fresh(mongo, "bench_query")
        await _load_query_data(db)
        server = GrpcServer("127.0.0.1", 0)
        server.add_service(
            telemetry_pb2_grpc.add_TelemetryServicer_to_server,
            TelemetryServicer(registry.StationRegistry(db), meters.MeterStore(db), sessions.SessionStore(db)),
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
        assert math.isclose(
            sum(h.observed_seconds for h in heat.sites[0].hours), SITE_SIZE * (DAYS - 1) * 86_400, rel_tol=0.05
        )
        site_keys = [f"CP-{n:04d}|{evse}|1" for n in range(30, 40) for evse in (1, 2)]

        async def bare_series() -> float:
            ids = meters.day_ids("CP-0042|1|1", START_MS, START_MS + DAYS * meters.DAY_MS)
            return await _timed(db[meters.METER_DAYS].find({"_id": {"$in": ids}}).to_list())

        async def bare_heat() -> float:
            started = time.perf_counter()
            await db[occupancy.STATUS_INDEX].find({"_id": {"$in": site_keys}}).to_list()
            ids = [f"{key}|{START_MS + d * meters.DAY_MS}" for key in site_keys for d in range(-1, DAYS)]
            await db[occupancy.STATUS_DAYS].find({"_id": {"$in": ids}}).to_list()
            return (time.perf_counter() - started) * 1000

        measurements = [
            Measurement(
                "ingest: readings stored/s (one consumer)",
                "readings/s",
                [r[0] for r in ours],
                "bare insert_many, one document per reading",
                bare,
                target=">= 80% of baseline",
            ),
            Measurement(
                "ingest: sampled values stored/s (5 per reading)",
                "values/s",
                [r[0] * 5 for r in ours],
                target=">= 10,000 values/s",
            ),
            Measurement("fold: readings into raw bucket documents and roll-ups/s", "readings/s", [r[1] for r in ours]),
            Measurement(
                "ingest then fold, one after the other: readings/s",
                "readings/s",
                [1 / (1 / r[0] + 1 / r[1]) for r in ours],
                "bare insert_many, one document per reading",
                bare,
            ),
            Measurement(
                "30-day series, 15-min step, one connector (gRPC)",
                "ms",
                await repeat(QUERY_RUNS, lambda: _timed(stub.GetMeterSeries(series_request, timeout=30))),
                "bare find of the 30 day documents",
                await repeat(QUERY_RUNS, bare_series),
                higher_is_better=False,
                target="< 100 ms",
            ),
            Measurement(
                "30-day site utilization heat map, 20 connectors (gRPC)",
                "ms",
                await repeat(QUERY_RUNS, lambda: _timed(stub.GetUtilization(heat_request, timeout=30))),
                "bare find of the site's index and day documents",
                await repeat(QUERY_RUNS, bare_heat),
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
