"""Security monitor: events processed per second, detection delay at 20,000 events/s, and the anomaly
model's false-positive rate on simulated normal traffic (services/security-monitor).

Throughput: a mix of what the platform publishes (meter values 50 %, heartbeats 20 %, status 10 %,
authorizations 10 %, transactions 10 %) from 20,000 stations at a realistic rate each, with an attack
spliced in every 2,000 events (a brute force, a tamper report, a rate-limit event, a cloned card), is
written to the Redis streams first; then ONE monitor process (ConsumerGroupWorker + the detection
engine with every rule enabled + the alert book writing alerts and incidents to the MongoDB-wire
store) consumes it. Baseline, same run, same Redis and entries: the consumer group with a handler that
does nothing (decode, one span per batch, ack only). Also recorded: the CPU time (user + system, from
getrusage) this process spends per event, for the monitor and for that baseline; far less sensitive to
other load on the machine than the rates. The process uses the service's garbage-collector settings
(`monitor.tune_gc`), as `python -m chargewatch.security_monitor` does.

Detection delay: another process publishes the same mix at 20,000 events/s for a few seconds, stamping
each event's receive time as it sends it; the delay of an alert is from the receive time of the event
that completed the attack to the alert being stored (MongoDB) by the monitor.

Anomaly model: `NormalFleet` (synthetic.py) generates days of ordinary traffic of 100 stations (busy and
quiet ones, sessions, reconnects, unknown cards); the engine learns it with every rule on. Recorded:
alerts of any rule on that traffic, the share of scored station-windows the behaviour model flags
(its false-positive rate), and the share of injected anomalous windows (20x a station's message rate,
or 20x its energy) it flags.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from redis.typing import EncodableT, FieldT

from bench.harness import Measurement, record, write_section
from chargewatch.devstack.processes import ManagedProcess, start_mongo_store, start_redis
from chargewatch.mongo import Document, create_mongo_client, ensure_indexes
from chargewatch.security_monitor import store
from chargewatch.security_monitor.alerts import AlertBook
from chargewatch.security_monitor.directory import StationDirectory, StationInfo
from chargewatch.security_monitor.engine import DetectionEngine
from chargewatch.security_monitor.monitor import FAMILIES, Monitor, tune_gc
from chargewatch.security_monitor.synthetic import Events, NormalFleet
from chargewatch.streams import ConsumerGroupWorker, Event, kind_of_envelope, stream_name
from chargewatch.v1 import events_pb2

TITLE = "Security monitor (services/security-monitor)"
STATIONS = 20_000
RATE = 20_000
EVENTS = 120_000
ATTACK_EVERY = 2_000
RUNS = 3
PACED_SECONDS = 10.0
PACED_RUNS = 1
FLEET_STATIONS = 100
FLEET_DAYS = 2
AMSTERDAM = (52.3791, 4.9003)
BERLIN = (52.5200, 13.4050)
E = events_pb2


def mix(count: int, start: float, seed: int = 1) -> Iterator[tuple[E.EventEnvelope, bool]]:
    """(envelope, completes an attack) in time order: `count` events at RATE per second from STATIONS stations."""
    rng = random.Random(seed)
    ev = Events(f"b{seed}")
    registers: dict[str, float] = {}
    attacks = 0
    for index in range(count):
        at = start + index / RATE
        if index and index % ATTACK_EVERY == 0:
            attacks += 1
            yield from attack(ev, attacks, at)
        station = f"B-{index % STATIONS:05d}"
        tenant = f"tenant-{index % 7}"
        roll = rng.random()
        if roll < 0.5:
            register = registers.get(station, 1_000_000.0) + rng.uniform(5, 60)
            registers[station] = register
            yield ev.meter(station, at, register, power_w=rng.uniform(3000, 22000), tenant_id=tenant), False
        elif roll < 0.7:
            yield ev.heartbeat(station, at, tenant_id=tenant), False
        elif roll < 0.8:
            yield ev.status(station, at, tenant_id=tenant), False
        elif roll < 0.9:
            token = f"04{index % STATIONS:06X}{rng.getrandbits(24):06X}"
            yield ev.authorization(station, at, token, tenant_id=tenant), False
        else:
            kind = E.TransactionEvent.KIND_STARTED if rng.random() < 0.5 else E.TransactionEvent.KIND_ENDED
            yield ev.transaction(station, at, kind, f"{station}-{index}", meter_wh=1e6, tenant_id=tenant), False


def attack(ev: Events, number: int, at: float) -> Iterator[tuple[E.EventEnvelope, bool]]:
    kind = number % 4
    victim = f"ATK-{number:05d}"
    if kind == 0:
        for attempt in range(5):
            last = attempt == 4
            yield ev.security(victim, at + attempt * 0.001, "InvalidCredentials", address="203.0.113.7"), last
    elif kind == 1:
        yield ev.security(victim, at, "TamperDetectionActivated", reported_by="station"), True
    elif kind == 2:
        yield ev.security(victim, at, "MessageRateExceeded"), True
    else:
        token = f"04C1{number:010X}"
        yield ev.authorization(f"AMS-{number % 10}", at, token), False
        yield ev.authorization(f"BER-{number % 10}", at + 0.001, token), True


def fields(envelope: E.EventEnvelope) -> dict[FieldT, EncodableT]:
    return {
        "id": envelope.event_id,
        "type": envelope.event_type,
        "station": envelope.station_id,
        "data": envelope.SerializeToString(),
    }


def stream_of(envelope: E.EventEnvelope) -> str:
    return stream_name(kind_of_envelope(envelope).family, 0)


def directory() -> StationDirectory:
    places = StationDirectory(None)
    for i in range(10):
        places.put(f"AMS-{i}", StationInfo("tenant-a", "ams", AMSTERDAM))
        places.put(f"BER-{i}", StationInfo("tenant-b", "ber", BERLIN))
    return places


async def preload(redis: aioredis.Redis, count: int) -> int:
    await redis.flushdb()
    total = 0
    pipe = redis.pipeline(transaction=False)
    for envelope, _ in mix(count, time.time() - 3600):
        pipe.xadd(stream_of(envelope), fields(envelope))
        total += 1
        if total % 1000 == 0:
            await pipe.execute()
            pipe = redis.pipeline(transaction=False)
    await pipe.execute()
    return total


async def fresh_book(mongo: AsyncMongoClient[Document], name: str) -> AlertBook:
    await mongo.drop_database(name)
    db = mongo[name]
    await ensure_indexes(db, store.indexes(30))
    return AlertBook(store.Collections(db), None)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def consume(redis: aioredis.Redis, handler: Any, expected: int, counter: Any) -> tuple[float, float]:
    """(events per second, CPU microseconds of this process per event)."""
    worker = ConsumerGroupWorker(
        redis, group="bench", consumer="leader", families=FAMILIES, handler=handler, batch_size=500, block_ms=50
    )
    started, cpu = time.perf_counter(), cpu_seconds()
    task = asyncio.create_task(worker.run())
    while counter() < expected:  # noqa: ASYNC110 (polls the handler's counter; nothing to wait on)
        await asyncio.sleep(0.01)
    elapsed, used = time.perf_counter() - started, cpu_seconds() - cpu
    worker.stop()
    await task
    return expected / elapsed, used / expected * 1e6


async def throughput(
    redis: aioredis.Redis, mongo: AsyncMongoClient[Document]
) -> tuple[list[float], list[float], list[float], list[float], int]:
    ours: list[float] = []
    bare: list[float] = []
    ours_cpu: list[float] = []
    bare_cpu: list[float] = []
    alerts = 0
    for run_number in range(RUNS):
        total = await preload(redis, EVENTS)
        book = await fresh_book(mongo, f"bench_security_{run_number}")
        monitor = Monitor(DetectionEngine(locations=directory().location), book, None)
        rate, cpu = await consume(redis, monitor, total, lambda m=monitor: m.processed)
        ours.append(rate)
        ours_cpu.append(cpu)
        alerts = await book.c.alerts.count_documents({})

        total = await preload(redis, EVENTS)
        seen = [0]

        async def nothing(events: list[Event], seen: list[int] = seen) -> None:
            seen[0] += len(events)

        rate, cpu = await consume(redis, nothing, total, lambda seen=seen: seen[0])
        bare.append(rate)
        bare_cpu.append(cpu)
    return ours, bare, ours_cpu, bare_cpu, alerts


def paced_publisher(redis_url: str, seconds: float, ready: Any) -> None:
    """Publish the mix at RATE events/s for `seconds`, each stamped with its receive time as it is sent."""

    async def main() -> None:
        redis = aioredis.Redis.from_url(redis_url)
        batch = 200
        envelopes = [e for e, _ in mix(int(RATE * seconds), 0.0, seed=5)]
        ready.set()
        started = time.time()
        for offset in range(0, len(envelopes), batch):
            due = started + offset / RATE
            pause = due - time.time()
            if pause > 0:
                await asyncio.sleep(pause)
            pipe = redis.pipeline(transaction=False)
            now = time.time()
            for envelope in envelopes[offset : offset + batch]:
                envelope.received_time.FromNanoseconds(int(now * 1e9))
                envelope.station_time.FromNanoseconds(int(now * 1e9))
                pipe.xadd(stream_of(envelope), fields(envelope))
            await pipe.execute()
        await redis.aclose()

    asyncio.run(main())


async def paced(
    redis: aioredis.Redis, mongo: AsyncMongoClient[Document], redis_url: str
) -> tuple[list[float], int, int, int]:
    """Delays (s) of alerts raised while events arrive at RATE; expected attacks; alerts; backlog at the end."""
    delays: list[float] = []
    expected = raised = backlog = 0
    for run_number in range(PACED_RUNS):
        await redis.flushdb()
        book = await fresh_book(mongo, f"bench_security_paced_{run_number}")

        def on_alert(doc: Document, change: str) -> None:
            if change == "raised":
                delays.append(time.time() - doc["last_seen_at"].timestamp())

        monitor = Monitor(DetectionEngine(locations=directory().location), book, None, on_alert=on_alert)
        worker = ConsumerGroupWorker(
            redis, group="bench", consumer="leader", families=FAMILIES, handler=monitor, batch_size=500, block_ms=20
        )
        await worker.start()
        task = asyncio.create_task(worker.run())
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        publisher = context.Process(target=paced_publisher, args=(redis_url, PACED_SECONDS, ready))
        publisher.start()
        await asyncio.to_thread(ready.wait, 120)
        await asyncio.to_thread(publisher.join, PACED_SECONDS + 60)
        backlog += await worker.lag()
        published = list(mix(int(RATE * PACED_SECONDS), 0.0, seed=5))
        total = len(published)
        deadline = time.monotonic() + 30
        while monitor.processed < total and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        worker.stop()
        await task
        expected += sum(1 for _, last in published if last)
        raised += await book.c.alerts.count_documents({})
    return delays, expected, raised, backlog


def anomaly_rates() -> dict[str, float]:
    fleet = NormalFleet(FLEET_STATIONS, seed=11)
    engine = DetectionEngine(locations=fleet.locations().get)
    scored = 0
    original = engine._close_window

    def counting(profile: Any) -> None:
        nonlocal scored
        model = profile.window
        if model is not None and model.learned >= engine.p["anomaly_warmup_windows"] and any(profile.accumulator):
            scored += 1
        original(profile)

    engine._close_window = counting  # type: ignore[method-assign]
    started = time.perf_counter()
    events = 0
    for envelope in fleet.generate(FLEET_DAYS * 86_400):
        engine.process(envelope)
        events += 1
    engine.sweep(engine.watermark + 3600)
    normal = engine.take()
    false_positives = sum(1 for d in normal if d.rule == "station-behaviour-anomaly")
    rate_engine = events / (time.perf_counter() - started)
    # Inject: for each station, one window with 20x its message rate, and one with 20x its energy.
    ev = Events("inject")
    injected = detected = 0
    at = engine.watermark + 600
    for station in fleet.stations:
        profile = engine.stations[station.station_id]
        if profile.window is None or profile.window.learned < engine.p["anomaly_warmup_windows"]:
            continue
        usual = max(2, round(2.718 ** profile.window.stats["messages"].mean))
        window = engine.p["anomaly_window_seconds"]
        start = at - at % window + window
        for i in range(20 * usual):
            engine.process(
                ev.heartbeat(station.station_id, start + i * (window / (20 * usual)), tenant_id=station.tenant_id)
            )
        engine.process(ev.heartbeat(station.station_id, start + 2 * window + 1, tenant_id=station.tenant_id))
        injected += 1
        found = [d for d in engine.take() if d.rule == "station-behaviour-anomaly"]
        detected += bool(found)
        usual_energy = 2.718 ** profile.window.stats["energy_wh"].mean
        fleet_energy = 2.718 ** engine.fleet_windows.baseline("energy_wh")[0]
        start += 3 * window
        # Continue from the connector's register, so the window holds exactly the injected energy.
        base = profile.last_register.get((1, 1), (0.0, 1_000_000.0))[1]
        energy = 20 * max(usual_energy, fleet_energy, 1000.0)
        engine.process(ev.meter(station.station_id, start + 1, base + 1, tenant_id=station.tenant_id))
        engine.process(ev.meter(station.station_id, start + 60, base + 1 + energy, tenant_id=station.tenant_id))
        engine.process(ev.heartbeat(station.station_id, start + 2 * window + 1, tenant_id=station.tenant_id))
        injected += 1
        found = [d for d in engine.take() if d.rule == "station-behaviour-anomaly"]
        detected += bool(found)
        at = start + 3 * window
    return {
        "events": float(events),
        "engine_rate": rate_engine,
        "other_alerts": float(sum(1 for d in normal if d.rule != "station-behaviour-anomaly")),
        "scored": float(scored),
        "false_positives": float(false_positives),
        "fp_rate": false_positives / max(scored, 1),
        "injected": float(injected),
        "detected": float(detected),
    }


async def measure() -> list[Measurement]:
    base = Path(tempfile.mkdtemp(prefix="bench-security-"))
    redis_server: ManagedProcess = start_redis(log_dir=base)
    mongo_server: ManagedProcess = start_mongo_store(log_dir=base, data_dir=base / "mongo")
    redis_url = f"redis://127.0.0.1:{redis_server.port}/0"
    redis = aioredis.Redis.from_url(redis_url)
    mongo: AsyncMongoClient[Document] = create_mongo_client(
        f"mongodb://127.0.0.1:{mongo_server.port}/", app_name="bench"
    )
    tune_gc()
    try:
        ours, bare, ours_cpu, bare_cpu, alerts = await throughput(redis, mongo)
        delays, expected, _raised, backlog = await paced(redis, mongo, redis_url)
    finally:
        await redis.aclose()
        await mongo.close()
        mongo_server.stop()
        redis_server.stop()
    rates = anomaly_rates()
    delays_ms = sorted(d * 1000 for d in delays) or [0.0]
    p95 = statistics.quantiles(delays_ms, n=20)[-1] if len(delays_ms) > 1 else delays_ms[0]
    paced_note = f"{len(delays)} alerts raised for {expected} attacks; backlog when publishing stopped: {backlog}"
    return [
        Measurement(
            f"events processed/s, one process, every rule ({alerts} alerts per {EVENTS:,} events)",
            "events/s",
            ours,
            "bare consumer group, no-op handler",
            bare,
            target=">= 20,000 events/s",
        ),
        Measurement(
            "CPU time of the consuming process per event (user + system)",
            "us",
            ours_cpu,
            "bare consumer group, no-op handler",
            bare_cpu,
            higher_is_better=False,
        ),
        Measurement(
            f"detection delay at {RATE:,} events/s, median ({paced_note})",
            "ms",
            [statistics.median(delays_ms)],
            higher_is_better=False,
            target="< 1,000 ms",
        ),
        Measurement("detection delay, 95th percentile", "ms", [p95], higher_is_better=False, target="< 1,000 ms"),
        Measurement("detection delay, worst", "ms", [delays_ms[-1]], higher_is_better=False),
        Measurement(
            f"anomaly model false positives per 100,000 station-windows ({rates['false_positives']:.0f} of "
            f"{rates['scored']:,.0f} scored; {FLEET_STATIONS} stations x {FLEET_DAYS} days, "
            f"{rates['events']:,.0f} events; other rules' alerts: {rates['other_alerts']:.0f})",
            "per 100k",
            [rates["fp_rate"] * 100_000],
            higher_is_better=False,
            target="< 10 per 100k (0.01 %)",
        ),
        Measurement(
            f"anomaly model detection of injected anomalous windows ({rates['detected']:.0f} of "
            f"{rates['injected']:.0f}: 20x messages or 20x energy)",
            "%",
            [100 * rates["detected"] / max(rates["injected"], 1)],
            target=">= 90 %",
        ),
        Measurement("detection engine alone on that traffic (no I/O)", "events/s", [rates["engine_rate"]]),
    ]


def run() -> str:
    started = datetime.now(UTC)
    measurements = asyncio.run(measure())
    section = write_section(TITLE, __doc__ or "", measurements)
    record(TITLE, section)
    return section + f"\n(took {(datetime.now(UTC) - started).total_seconds():.0f} s)\n"


if __name__ == "__main__":
    print(run())
