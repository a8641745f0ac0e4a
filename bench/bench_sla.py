"""SLA engine: trailing-12-month uptime of 10,000 ports, and status change to alert latency (services/sla-engine).

Uptime. A year of status events (a session every two weeks or so, two outages a month of 5 minutes to 6 hours -
faults with error codes or unavailability - and a few station disconnections a year) for 5,000 stations
of two ports is run through the availability state machine (`StationTimeline`, the code the consumer
runs); its down segments are stored as the service stores them (one `ports` document per port, one
packed `outages` document per port and calendar year) in the MongoDB-wire store, with site profiles
(10 sites with declared hours in Europe/Amsterdam) and approved exclusions for 5% of the ports. Timed:
`Queries.uptime` for all 10,000 ports over the trailing twelve months (read, decode, interval
arithmetic with exclusions and hours; what GetUptime and the reports run). Baseline, same run: a bare
`find` of the same documents (the store's read cost alone). Memory: the Python allocation peak of one
computation (tracemalloc, in a separate untimed run).

Latency. The service itself (`python -m chargewatch.sla_engine`, one process, flushing to the store
every second) consumes the status streams while this process publishes 5,000 status events per second
for 10,000 ports (one in ten a fault or a recovery, each raising an alert) through Redis. Measured: the
time from publishing a status change to reading its alert (raised from the port's updated state) on the
alert stream, p50 and p99 per run. Baseline, same run: the transport floor, the same rate of bare XADD
read back with XREAD (no envelope, no engine). Also recorded: the engine process's CPU time per status
event (psutil; less sensitive to other load on the machine than the latencies).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.harness import Measurement, record, write_section
from chargewatch.devstack.processes import free_ports, start_mongo_store, start_process, start_redis
from chargewatch.mongo import Document, create_mongo_client, ensure_indexes
from chargewatch.sla_engine import codec, store
from chargewatch.sla_engine.hours import WeeklyWindow
from chargewatch.sla_engine.intervals import DAY_MS, MINUTE_MS, to_ms
from chargewatch.sla_engine.model import PortKey
from chargewatch.sla_engine.profiles import SiteProfile
from chargewatch.sla_engine.queries import Queries, Scope
from chargewatch.sla_engine.timeline import Segment, StationTimeline
from chargewatch.sla_engine.uptime import PeriodKind, period_window
from chargewatch.streams import StreamFamily, stream_name
from chargewatch.v1 import common_pb2, events_pb2, sla_pb2

TITLE = "SLA engine (services/sla-engine)"
STATIONS = 5_000
PORTS_PER_STATION = 2
SITES = 100
TENANTS = 10
NOW = datetime(2026, 11, 15, tzinfo=UTC)
YEAR_START = datetime(2025, 11, 15, tzinfo=UTC)
QUERY_RUNS = 3
LATENCY_RUNS = 3
RATE = 5_000  # status events per second
PHASE_SECONDS = 10.0
TICK = 0.01
AVAILABLE = common_pb2.CONNECTOR_STATUS_AVAILABLE
FAULTED = common_pb2.CONNECTOR_STATUS_FAULTED
CODES = ("GroundFailure", "HighTemperature", "OverCurrentFailure", "PowerMeterFailure", "InternalError")
SESSION = (
    common_pb2.CONNECTOR_STATUS_PREPARING,
    common_pb2.CONNECTOR_STATUS_CHARGING,
    common_pb2.CONNECTOR_STATUS_FINISHING,
    AVAILABLE,
)


def station_id(index: int) -> str:
    return f"BENCH-{index:05d}"


def site_of(index: int) -> str:
    return f"site-{index % SITES:03d}"


def tenant_of(index: int) -> str:
    return f"tenant-{index % TENANTS}"


# -- a year of status events --------------------------------------------------------------------------
def year_of_events(index: int) -> list[tuple[int, str, int, int, str]]:
    """(time, kind, evse, status or connected flag, error code) for one station, sorted by time."""
    rng = random.Random(index)
    start, end = to_ms(YEAR_START), to_ms(NOW)
    events: list[tuple[int, str, int, int, str]] = []
    for evse in range(1, PORTS_PER_STATION + 1):
        events.append((start, "status", evse, AVAILABLE, ""))
        t = start + rng.randint(1, 7 * DAY_MS)
        while t < end:  # a session every two weeks or so
            for offset, status in zip((0, 2, 60, 62), SESSION, strict=True):
                events.append((t + offset * MINUTE_MS, "status", evse, status, ""))
            t += rng.randint(10 * DAY_MS, 18 * DAY_MS)
        t = start + rng.randint(1, 15 * DAY_MS)
        while t < end:  # two outages a month
            fault = rng.random() < 0.7
            status = FAULTED if fault else common_pb2.CONNECTOR_STATUS_UNAVAILABLE
            events.append((t, "status", evse, status, rng.choice(CODES) if fault else ""))
            events.append((t + rng.randint(5, 360) * MINUTE_MS, "status", evse, AVAILABLE, ""))
            t += rng.randint(8 * DAY_MS, 22 * DAY_MS)
    for _ in range(3):  # a few disconnections a year
        t = start + rng.randint(0, end - start - DAY_MS)
        events.append((t, "connection", 0, 0, ""))
        events.append((t + rng.randint(10, 120) * MINUTE_MS, "connection", 0, 1, ""))
    events.sort()
    return events


def derive(index: int) -> tuple[StationTimeline, int]:
    """Run a station's year through the state machine, freezing as the consumer does."""
    timeline = StationTimeline(station_id(index), interval_ms=DAY_MS, grace_ms=DAY_MS)
    events = year_of_events(index)
    for number, (t, kind, evse, value, code) in enumerate(events):
        event_id = f"{index}-{number}"
        if kind == "status":
            timeline.status(t, event_id, evse, 1, value, code)
        else:
            timeline.connection(t, event_id, connected=bool(value))
        if timeline.tail_length() > 256:
            timeline.freeze(t - 3_600_000)
    timeline.freeze(to_ms(NOW))
    return timeline, len(events)


def year_span(year: int) -> tuple[int, int]:
    return to_ms(datetime(year, 1, 1, tzinfo=UTC)), to_ms(datetime(year + 1, 1, 1, tzinfo=UTC))


def documents(index: int, timeline: StationTimeline) -> tuple[list[Document], list[Document]]:
    ports, outages = [], []
    for evse, port in timeline.ports.items():
        key = PortKey(timeline.station_id, evse).key
        common = {
            "station_id": timeline.station_id,
            "evse_id": evse,
            "tenant_id": tenant_of(index),
            "site_id": site_of(index),
        }
        ports.append(
            {"_id": key, **common, "connector_id": 1, "state": int(port.state), "cause": port.cause,
             "since_ms": port.since, "first_seen_ms": port.first_seen, "open_incident_id": "", "updated_ms": 0}
        )  # fmt: skip
        segments = port.segments()
        for year in (2025, 2026):
            lo, hi = year_span(year)
            clipped = [
                Segment(max(s.start, lo), hi if s.end is None else min(s.end, hi), s.cause)
                for s in segments
                if s.start < hi and (s.end is None or s.end > lo)
            ]
            blob, causes = codec.pack_segments(clipped)
            outages.append(
                {"_id": f"{key}|{year}", "port_key": key, **common, "year": year, "first_seen_ms": port.first_seen,
                 "segs": blob, "causes": causes, "updated_ms": 0}
            )  # fmt: skip
    return ports, outages


async def load(db: AsyncDatabase[Document]) -> tuple[float, int]:
    """Derive and store the fleet's year; returns (status events applied per second, events)."""
    ports: list[Document] = []
    outages: list[Document] = []
    applied = 0
    started = time.perf_counter()
    for index in range(STATIONS):
        timeline, count = derive(index)
        applied += count
        more_ports, more_outages = documents(index, timeline)
        ports += more_ports
        outages += more_outages
    rate = applied / (time.perf_counter() - started)
    sla = store.SlaStore(db)
    for offset in range(0, len(ports), 2000):
        await sla.ports.insert_many(ports[offset : offset + 2000], ordered=False)
    for offset in range(0, len(outages), 2000):
        await sla.outages.insert_many(outages[offset : offset + 2000], ordered=False)
    hours = tuple(WeeklyWindow(day, 6 * 60, 22 * 60) for day in range(6))
    for site in range(10):
        await sla.put_profile(SiteProfile(f"site-{site:03d}", timezone="Europe/Amsterdam", hours=hours))
    rng = random.Random(7)
    exclusions = []
    for number, port in enumerate(rng.sample(ports, len(ports) // 20)):
        start = to_ms(YEAR_START) + rng.randint(0, 300) * DAY_MS
        exclusions.append(
            {"_id": f"exc-{number}", "station_id": port["station_id"], "evse_id": port["evse_id"],
             "tenant_id": port["tenant_id"], "category": sla_pb2.EXCLUSION_CATEGORY_UTILITY_INTERRUPTION,
             "start_ms": start, "end_ms": start + 6 * 3_600_000, "state": sla_pb2.EXCLUSION_STATE_APPROVED,
             "evidence": "bench", "declared_by": "bench", "declared_ms": start}
        )  # fmt: skip
    await sla.exclusions.insert_many(exclusions)
    return rate, applied


async def timed(body: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await body()
    return (time.perf_counter() - started) * 1000


async def uptime_measurements(mongo: AsyncMongoClient[Document]) -> list[Measurement]:
    await mongo.drop_database("bench_sla_uptime")
    db = mongo["bench_sla_uptime"]
    await ensure_indexes(db, store.indexes())
    rate, applied = await load(db)
    queries = Queries(store.SlaStore(db))
    window = period_window(PeriodKind.TRAILING_12_MONTHS, NOW)
    now = to_ms(NOW)
    result = await queries.uptime(Scope(), window, now)
    assert len(result.ports) == STATIONS * PORTS_PER_STATION
    assert result.pooled.outage_ms > 0
    assert result.pooled.excluded_ms > 0

    async def ours() -> float:
        return await timed(lambda: queries.uptime(Scope(), window, now))

    async def bare() -> float:
        async def read() -> None:
            [d async for d in db.ports.find({})]
            [d async for d in db.outages.find({"year": {"$in": [2025, 2026]}}, {"port_key": 1, "segs": 1})]

        return await timed(read)

    ours_ms = [await ours() for _ in range(QUERY_RUNS)]
    bare_ms = [await bare() for _ in range(QUERY_RUNS)]
    tenant_ms = [
        await timed(lambda: queries.uptime(Scope(tenant_id="tenant-3"), window, now)) for _ in range(QUERY_RUNS)
    ]
    tracemalloc.start()
    await queries.uptime(Scope(), window, now)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await mongo.drop_database("bench_sla_uptime")
    return [
        Measurement(
            f"trailing-12-month uptime, {STATIONS * PORTS_PER_STATION:,} ports (read + compute)",
            "ms",
            ours_ms,
            "bare find of the same documents",
            bare_ms,
            higher_is_better=False,
            target="< 10,000 ms",
        ),
        Measurement("same, one tenant (1,000 ports)", "ms", tenant_ms, higher_is_better=False),
        Measurement("peak Python memory of one 10,000-port computation", "MiB", [peak / 2**20], higher_is_better=False),
        Measurement(f"state machine: a year of status events applied ({applied:,} events)", "events/s", [rate]),
    ]


# -- latency through the streams ----------------------------------------------------------------------
def status_entry(index: int, evse: int, status: int, code: str, event_id: str) -> dict[str, bytes | str]:
    """A stream entry as the gateway's publisher writes it (built directly: the load generator must
    not be the bottleneck, so no producer span per event)."""
    payload = events_pb2.ConnectorStatusChange(evse_id=evse, connector_id=1, status=status, error_code=code)  # type: ignore[arg-type]
    envelope = events_pb2.EventEnvelope(
        event_id=event_id,
        event_type="connector.status",
        schema_version=1,
        station_id=station_id(index),
        tenant_id=tenant_of(index),
        producer="bench",
        status=payload,
    )
    now = int(time.time() * 1000)
    envelope.station_time.FromMilliseconds(now)
    envelope.received_time.FromMilliseconds(now)
    return {"id": event_id, "type": "connector.status", "station": station_id(index), "traceparent": "",
            "data": envelope.SerializeToString()}  # fmt: skip


async def publish(redis: aioredis.Redis, entries: list[dict[str, bytes | str]]) -> None:
    pipe = redis.pipeline(transaction=False)
    stream = stream_name(StreamFamily.STATUS, 0)
    for fields in entries:
        pipe.xadd(stream, fields)  # type: ignore[arg-type]
    await pipe.execute()


async def drained(redis: aioredis.Redis, limit_s: float = 120.0) -> float:
    """Wait until the engine's group has nothing pending or undelivered; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        groups = await redis.xinfo_groups(stream_name(StreamFamily.STATUS, 0))
        group = next((g for g in groups if g["name"] in (b"sla-engine", "sla-engine")), None)
        if group is not None and not int(group["pending"]) and group.get("lag") in (0, None):
            last = await redis.xinfo_stream(stream_name(StreamFamily.STATUS, 0))
            if group["last-delivered-id"] == last["last-generated-id"]:
                return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise TimeoutError("the engine did not drain the status stream")


async def latency_phase(redis: aioredis.Redis, run: int) -> tuple[list[float], float, int]:
    """Publish at RATE for PHASE_SECONDS; returns (alert latencies in ms, achieved events/s, events)."""
    rng = random.Random(100 + run)
    down: set[tuple[int, int]] = set()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    alert_stream = stream_name(StreamFamily.ALERT, 0)
    last = (await redis.xinfo_stream(alert_stream))["last-generated-id"] if await redis.exists(alert_stream) else b"0-0"
    stop = asyncio.Event()

    async def read_alerts() -> None:
        cursor = last
        while not stop.is_set() or len(latencies) < len(sent):
            reply = await redis.xread({alert_stream: cursor}, count=2000, block=100)
            now = time.time()
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    envelope = events_pb2.EventEnvelope.FromString(fields[b"data"])
                    for event_id in envelope.alert.evidence_event_ids:
                        if event_id in sent:
                            latencies.append((now - sent[event_id]) * 1000)
            if stop.is_set() and time.time() - stopped_at[0] > 30:
                return

    stopped_at = [0.0]
    reader = asyncio.create_task(read_alerts())
    per_tick = int(RATE * TICK)
    count = 0
    started = time.perf_counter()
    due = started
    while time.perf_counter() - started < PHASE_SECONDS:
        batch = []
        for _ in range(per_tick):
            index, evse = rng.randrange(STATIONS), rng.randint(1, PORTS_PER_STATION)
            event_id = f"L{run}-{count}"
            count += 1
            if (index, evse) in down:
                down.discard((index, evse))
                batch.append(status_entry(index, evse, AVAILABLE, "NoError", event_id))
                sent[event_id] = 0.0
            elif rng.random() < 0.05:
                down.add((index, evse))
                batch.append(status_entry(index, evse, FAULTED, rng.choice(CODES), event_id))
                sent[event_id] = 0.0
            else:
                status = rng.choice((AVAILABLE, common_pb2.CONNECTOR_STATUS_CHARGING))
                batch.append(status_entry(index, evse, status, "NoError", event_id))
        now = time.time()
        for fields in batch:
            if fields["id"] in sent:
                sent[str(fields["id"])] = now
        await publish(redis, batch)
        due += TICK
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    rate = count / (time.perf_counter() - started)
    stop.set()
    stopped_at[0] = time.time()
    await reader
    return latencies, rate, count


async def floor_phase(redis: aioredis.Redis) -> list[float]:
    """The transport floor: XADD at RATE read back by XREAD, same tick pacing."""
    stream = "bench:floor"
    await redis.delete(stream)
    latencies: list[float] = []
    stop = asyncio.Event()

    async def reader() -> None:
        cursor: bytes | str = "0-0"
        while not stop.is_set():
            reply = await redis.xread({stream: cursor}, count=2000, block=100)
            now = time.time()
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    latencies.append((now - float(fields[b"t"])) * 1000)

    task = asyncio.create_task(reader())
    per_tick = int(RATE * TICK)
    started = time.perf_counter()
    due = started
    while time.perf_counter() - started < PHASE_SECONDS / 2:
        pipe = redis.pipeline(transaction=False)
        now = time.time()
        for _ in range(per_tick):
            pipe.xadd(stream, {"t": repr(now), "data": b"x" * 120})
        await pipe.execute()
        due += TICK
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    await asyncio.sleep(0.5)
    stop.set()
    await task
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def latency_measurements(redis_url: str, mongo_url: str, log_dir: Path) -> list[Measurement]:
    redis = aioredis.Redis.from_url(redis_url)
    await redis.flushdb()
    grpc_port, ops_port = free_ports(2)
    env = {
        "CHARGEWATCH_MODE": "development",
        "REDIS_URL": redis_url,
        "MONGO_URL": mongo_url,
        "CW_SLA_MONGO_DATABASE": "bench_sla_latency",
        "CW_SLA_GRPC_HOST": "127.0.0.1",
        "CW_SLA_GRPC_PORT": str(grpc_port),
        "CW_SLA_OPS_HOST": "127.0.0.1",
        "CW_SLA_OPS_PORT": str(ops_port),
        "CW_SLA_TELEMETRY_TARGET": "",
        "CW_SLA_REQUIRE_CALLER_TOKEN": "false",  # no identity provider in this benchmark
        "CW_SLA_FLAP_WINDOW_SECONDS": "0",
        "CW_SLA_HEARTBEAT_INTERVAL_SECONDS": "86400",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # Trace one event in ten, as a deployment at this rate would (OpenTelemetry's standard
        # sampler variables; a sampled-out span costs next to nothing).
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    }
    engine = start_process(
        "sla-engine",
        [sys.executable, "-m", "chargewatch.sla_engine"],
        env=env,
        log_dir=log_dir,
        port=ops_port,
        timeout=60,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                if (await http.get(f"http://127.0.0.1:{ops_port}/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
        warm = [
            status_entry(index, evse, AVAILABLE, "NoError", f"W-{index}-{evse}")
            for index in range(STATIONS)
            for evse in range(1, PORTS_PER_STATION + 1)
        ]
        for offset in range(0, len(warm), 2000):
            await publish(redis, warm[offset : offset + 2000])
        await drained(redis)
        p50s, p99s, rates, alerts, drains, cpu, cpu_per_event = [], [], [], [], [], [], []
        floor_p50s, floor_p99s = [], []
        process = psutil.Process(engine.pid)
        for run in range(LATENCY_RUNS):
            before, started = process.cpu_times(), time.monotonic()
            latencies, rate, events = await latency_phase(redis, run)
            drains.append(await drained(redis))  # after the reader has waited for every alert: ~0 when keeping up
            after = process.cpu_times()
            used = after.user + after.system - before.user - before.system
            cpu.append(100 * used / (time.monotonic() - started))
            cpu_per_event.append(used / events * 1e6)
            p50s.append(percentile(latencies, 0.50))
            p99s.append(percentile(latencies, 0.99))
            rates.append(rate)
            alerts.append(len(latencies))
            floor = await floor_phase(redis)
            floor_p50s.append(percentile(floor, 0.50))
            floor_p99s.append(percentile(floor, 0.99))
        rss = psutil.Process(engine.pid).memory_info().rss / 2**20
    finally:
        engine.stop()
        await redis.aclose()
    return [
        Measurement(
            f"status change -> alert, p99 at {statistics.median(rates):,.0f} events/s", "ms", p99s,
            "bare XADD -> XREAD at the same rate, p99", floor_p99s, higher_is_better=False, target="< 100 ms",
        ),
        Measurement(
            "status change -> alert, p50", "ms", p50s, "bare XADD -> XREAD, p50", floor_p50s, higher_is_better=False
        ),
        Measurement("alerts measured per run", "alerts", [float(a) for a in alerts]),
        Measurement("status events published per second (achieved)", "events/s", rates, target=">= 5,000 events/s"),
        Measurement(
            "engine backlog left after each run (drain time)", "ms", [d * 1000 for d in drains], higher_is_better=False
        ),
        Measurement("engine CPU while publishing and draining (one core = 100%)", "%", cpu, higher_is_better=False),
        Measurement(
            "engine CPU time per status event (user + system, flushes included)", "us", cpu_per_event,
            higher_is_better=False,
        ),
        Measurement("engine resident memory after the runs (10,000 ports)", "MiB", [rss], higher_is_better=False),
    ]  # fmt: skip


async def main() -> list[Measurement]:
    base = Path(tempfile.mkdtemp(prefix="bench-sla-"))
    redis_server = start_redis(log_dir=base)
    mongo_server = start_mongo_store(log_dir=base, data_dir=base / "mongo")
    mongo_url = f"mongodb://127.0.0.1:{mongo_server.port}/"
    mongo = create_mongo_client(mongo_url, app_name="bench-sla")
    try:
        measurements = await uptime_measurements(mongo)
        measurements += await latency_measurements(f"redis://127.0.0.1:{redis_server.port}/0", mongo_url, base)
        return measurements
    finally:
        await mongo.close()
        mongo_server.stop()
        redis_server.stop()


def run() -> str:
    measurements = asyncio.run(main())
    section = write_section(TITLE, __doc__ or "", measurements)
    record(TITLE, section)
    return section


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    print(run())
