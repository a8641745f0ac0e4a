"""The stream side against real Redis and the MongoDB-wire store: events in, alerts and state out,
redelivery, a crash and its replay, partitions shared by two engines, live silence detection."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from chargewatch.sla_engine import codec
from chargewatch.sla_engine.journal import Journal
from chargewatch.sla_engine.model import Availability
from chargewatch.sla_engine.processor import FAMILIES, ProcessorSettings
from chargewatch.streams import EventPublisher, partition_for, stream_names
from chargewatch.v1 import common_pb2, events_pb2
from tests.integration.sla_engine.sla_support import (
    connected,
    engine_for,
    eventually,
    fresh_store,
    gateway_event,
    ms,
    read_alerts,
    status,
)

pytestmark = pytest.mark.integration

AVAILABLE = common_pb2.CONNECTOR_STATUS_AVAILABLE
FAULTED = common_pb2.CONNECTOR_STATUS_FAULTED
UNAVAILABLE = common_pb2.CONNECTOR_STATUS_UNAVAILABLE


def station_events(publisher: EventPublisher, station: str, t0: datetime) -> list[events_pb2.EventEnvelope]:
    """Two ports; port 1 faults 2-5 minutes after t0, port 2 is unavailable 3-4 minutes after t0."""
    at = lambda minutes: t0 + timedelta(minutes=minutes)  # noqa: E731
    return [
        gateway_event(station, at(0), connected(), f"{station}-c1", publisher=publisher),
        gateway_event(station, at(0.1), status(1, AVAILABLE), f"{station}-s1", publisher=publisher),
        gateway_event(station, at(0.1), status(2, AVAILABLE), f"{station}-s2", publisher=publisher),
        gateway_event(station, at(2), status(1, FAULTED, "GroundFailure"), f"{station}-s3", publisher=publisher),
        gateway_event(station, at(3), status(2, UNAVAILABLE), f"{station}-s4", publisher=publisher),
        gateway_event(station, at(4), status(2, AVAILABLE), f"{station}-s5", publisher=publisher),
        gateway_event(station, at(5), status(1, AVAILABLE), f"{station}-s6", publisher=publisher),
    ]


async def run(engine_task: asyncio.Task[None], engine: object) -> None:
    await asyncio.wait_for(engine.started.wait(), 10)  # type: ignore[attr-defined]


async def test_faults_become_incidents_alerts_and_outages_once(redis_client: aioredis.Redis, mongo_url: str) -> None:
    async with fresh_store(mongo_url) as sla_store:
        engine = engine_for(redis_client, sla_store)
        task = asyncio.create_task(engine.run())
        try:
            await run(task, engine)
            publisher = EventPublisher(redis_client, producer="gateway-test")
            t0 = datetime.now(UTC) - timedelta(minutes=30)
            events = station_events(publisher, "CW-P-1", t0)
            await publisher.publish_many(events)

            async def four_alerts() -> list[events_pb2.EventEnvelope]:
                alerts = await read_alerts(redis_client)
                return alerts if len(alerts) >= 4 else []

            alerts = await eventually(four_alerts)
            assert isinstance(alerts, list)
            by_port = {(a.alert.subject_id, a.alert.state) for a in alerts}
            assert by_port == {
                ("CW-P-1/1", events_pb2.ALERT_STATE_OPEN),
                ("CW-P-1/1", events_pb2.ALERT_STATE_RESOLVED),
                ("CW-P-1/2", events_pb2.ALERT_STATE_OPEN),
                ("CW-P-1/2", events_pb2.ALERT_STATE_RESOLVED),
            }
            assert all(a.alert.source_service == "sla-engine" and a.tenant_id == "partner-a" for a in alerts)

            async def incidents_written() -> list[dict[str, object]]:
                found = [d async for d in sla_store.incidents.find({}).sort("opened_ms", 1)]
                return found if len(found) == 2 and all(d.get("restored_ms") for d in found) else []

            incidents = await eventually(incidents_written)
            assert isinstance(incidents, list)
            assert [(d["cause"], d["opened_ms"], d["restored_ms"]) for d in incidents] == [
                ("faulted:GroundFailure", ms(t0 + timedelta(minutes=2)), ms(t0 + timedelta(minutes=5))),
                ("unavailable", ms(t0 + timedelta(minutes=3)), ms(t0 + timedelta(minutes=4))),
            ]
            bucket = await sla_store.outages.find_one({"_id": f"CW-P-1|1|{t0.year}"})
            assert bucket is not None
            assert [tuple(s) for s in codec.unpack_segments(bucket["segs"], bucket["causes"])] == [
                (ms(t0 + timedelta(minutes=2)), ms(t0 + timedelta(minutes=5)), "faulted:GroundFailure")
            ]

            # Every entry delivered again: nothing changes, no alert is raised twice.
            for stream in stream_names(FAMILIES, 1):
                for _entry_id, fields in await redis_client.xrange(stream):
                    await redis_client.xadd(stream, fields)
            await eventually(lambda: _drained(redis_client))
            await asyncio.sleep(0.5)
            assert len(await read_alerts(redis_client)) == 4
            again = [d async for d in sla_store.incidents.find({}).sort("opened_ms", 1)]
            assert [(d["_id"], d["opened_ms"], d["restored_ms"]) for d in again] == [
                (d["_id"], d["opened_ms"], d["restored_ms"]) for d in incidents
            ]
        finally:
            engine.stop()
            await asyncio.wait_for(task, 20)


async def _drained(redis: aioredis.Redis) -> bool:
    for stream in stream_names(FAMILIES, 1):
        for group in await redis.xinfo_groups(stream):
            if int(group["pending"]) or (group.get("lag") not in (None, 0)):
                return False
    return True


async def test_a_crashed_owner_is_replaced_and_its_journal_replayed(
    redis_client: aioredis.Redis, mongo_url: str
) -> None:
    async with fresh_store(mongo_url) as sla_store:
        slow_flush = ProcessorSettings(heartbeat_interval_ms=86_400_000)
        first = engine_for(redis_client, sla_store, instance="first", settings=slow_flush, flush_interval_s=3600.0)
        task = asyncio.create_task(first.run())
        await asyncio.wait_for(first.started.wait(), 10)
        publisher = EventPublisher(redis_client, producer="gateway-test")
        t0 = datetime.now(UTC) - timedelta(minutes=30)
        await publisher.publish_many(station_events(publisher, "CW-P-2", t0))
        await eventually(lambda: _drained(redis_client))
        journal = Journal(redis_client, 0)
        assert await journal.length() >= 1
        assert await sla_store.incidents.count_documents({}) == 0  # never flushed: only the journal has it
        alerts_before = len(await read_alerts(redis_client))
        assert alerts_before == 4

        # Crash: the consumer and its tasks die, nothing is flushed, the lease is left to expire.
        await first._drop(0)
        first.stop()
        await asyncio.wait_for(task, 20)

        second = engine_for(redis_client, sla_store, instance="second")
        task = asyncio.create_task(second.run())
        try:
            await asyncio.wait_for(second.started.wait(), 10)

            async def owns_partition() -> bool:
                return 0 in second.owned

            await eventually(owns_partition)
            processor = second.owned[0].processor
            port = processor.stations["CW-P-2"].timeline.ports[1]
            assert [tuple(s) for s in port.segments()] == [
                (ms(t0 + timedelta(minutes=2)), ms(t0 + timedelta(minutes=5)), "faulted:GroundFailure")
            ]
            await eventually(lambda: _count(sla_store.incidents, 2))
            assert len(await read_alerts(redis_client)) == alerts_before  # replayed quietly

            # Covered by the new owner's snapshots, then trimmed.
            async def journal_trimmed() -> bool:
                return await journal.length() == 0

            await eventually(journal_trimmed)
        finally:
            second.stop()
            await asyncio.wait_for(task, 20)


async def _count(collection: object, expected: int) -> bool:
    return await collection.count_documents({}) == expected  # type: ignore[attr-defined, no-any-return]


async def test_two_engines_share_the_partitions(redis_client: aioredis.Redis, mongo_url: str) -> None:
    async with fresh_store(mongo_url) as sla_store:
        engines = [engine_for(redis_client, sla_store, instance=name, partitions=2) for name in ("x", "y")]
        tasks = [asyncio.create_task(e.run()) for e in engines]
        try:

            def balanced() -> bool:
                return sorted(len(e.owned) for e in engines) == [1, 1]

            await eventually(balanced)
            publisher = EventPublisher(redis_client, partitions=2, producer="gateway-test")
            candidates = [f"CW-P-{n}" for n in range(10, 40)]
            stations = [s for s in candidates if partition_for(s, 2) == 0][:2]
            stations += [s for s in candidates if partition_for(s, 2) == 1][:2]
            assert {partition_for(s, 2) for s in stations} == {0, 1}
            t0 = datetime.now(UTC) - timedelta(minutes=30)
            await publisher.publish_many([e for s in stations for e in station_events(publisher, s, t0)])

            async def all_alerts() -> bool:
                return len(await read_alerts(redis_client, partitions=2)) == 4 * len(stations)

            await eventually(all_alerts)
            owners = {s: next(e for e in engines if partition_for(s, 2) in e.owned) for s in stations}
            for station, owner in owners.items():
                processor = owner.owned[partition_for(station, 2)].processor
                assert processor.stations[station].timeline.ports[1].state is Availability.AVAILABLE
        finally:
            for engine in engines:
                engine.stop()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def test_a_silent_station_goes_offline_and_comes_back(redis_client: aioredis.Redis, mongo_url: str) -> None:
    async with fresh_store(mongo_url) as sla_store:
        fast = ProcessorSettings(heartbeat_interval_ms=1000, heartbeat_grace_ms=1000, flap_window_ms=0)
        engine = engine_for(redis_client, sla_store, settings=fast)
        task = asyncio.create_task(engine.run())
        try:
            await asyncio.wait_for(engine.started.wait(), 10)
            publisher = EventPublisher(redis_client, producer="gateway-test")
            now = datetime.now(UTC)
            await publisher.publish_many(
                [
                    gateway_event("CW-P-3", now, connected(), "c1", publisher=publisher),
                    gateway_event("CW-P-3", now, status(1, AVAILABLE), "s1", publisher=publisher),
                ]
            )

            async def offline() -> list[events_pb2.EventEnvelope]:
                return [a for a in await read_alerts(redis_client) if a.alert.state == events_pb2.ALERT_STATE_OPEN]

            opened = await eventually(offline, limit_s=20)
            assert isinstance(opened, list)
            assert "heartbeat missed" in opened[0].alert.title
            # The outage starts when the missed heartbeat was due: 1 s after the last message's receipt.
            assert opened[0].station_time.ToMilliseconds() == ms(now) + 200 + 1000
            back = datetime.now(UTC)
            heartbeat = gateway_event("CW-P-3", back, events_pb2.StationHeartbeat(), "h1", publisher=publisher)
            await publisher.publish(heartbeat)

            async def resolved() -> bool:
                return any(a.alert.state == events_pb2.ALERT_STATE_RESOLVED for a in await read_alerts(redis_client))

            await eventually(resolved, limit_s=20)
            processor = engine.owned[0].processor
            segments = processor.stations["CW-P-3"].timeline.ports[1].segments()
            assert [tuple(s) for s in segments] == [(ms(now) + 1200, ms(back) + 200, "heartbeat_missed")]
        finally:
            engine.stop()
            await asyncio.wait_for(task, 20)


async def test_the_journal_pages_and_trims_by_stream_id(redis_client: aioredis.Redis) -> None:
    journal = Journal(redis_client, 7)
    ids = [await journal.append(n.to_bytes(2, "little")) for n in range(1200)]
    assert [blob for _id, blob in await journal.after(ids[1197])] == [
        (1198).to_bytes(2, "little"),
        (1199).to_bytes(2, "little"),
    ]
    assert len(await journal.after("")) == 1200  # read in pages
    await journal.trim(ids[599])
    assert await journal.length() == 600
    assert (await journal.after(""))[0][0] == ids[600]


async def test_alerts_and_journal_are_appended_with_the_acknowledgement_or_not_at_all(
    redis_client: aioredis.Redis, mongo_url: str
) -> None:
    """While the journal cannot be written, a batch is neither journaled nor acknowledged (its
    alerts may go out; they carry deterministic ids); once it can, the redelivered batch commits."""
    async with fresh_store(mongo_url) as sla_store:
        journal = Journal(redis_client, 0)
        await redis_client.delete(journal.key)
        engine = engine_for(redis_client, sla_store)
        # No flush during the test: a flush snapshots the stations and trims the journal it covers, which
        # would empty the journal this test reads back.
        engine.settings = dataclasses.replace(engine.settings, claim_idle_ms=200, flush_interval_s=3600.0)
        task = asyncio.create_task(engine.run())
        try:
            await run(task, engine)
            processor = (await eventually(lambda: engine.processors))[0]  # type: ignore[index]
            await redis_client.set(journal.key, "not a stream")  # every append to it fails (WRONGTYPE)
            publisher = EventPublisher(redis_client, producer="gateway-test")
            t0 = datetime.now(UTC) - timedelta(minutes=30)
            await publisher.publish_many(station_events(publisher, "CW-P-J", t0))
            await eventually(lambda: processor.events_applied >= 7)
            await asyncio.sleep(0.5)
            assert not await _drained(redis_client)  # applied in memory, not acknowledged
            assert processor._journaled == ""
            await redis_client.delete(journal.key)

            await eventually(lambda: _drained(redis_client))
            assert await journal.length() >= 1
            alerts = await read_alerts(redis_client)
            assert {(a.alert.subject_id, a.alert.state) for a in alerts} == {
                ("CW-P-J/1", events_pb2.ALERT_STATE_OPEN),
                ("CW-P-J/1", events_pb2.ALERT_STATE_RESOLVED),
                ("CW-P-J/2", events_pb2.ALERT_STATE_OPEN),
                ("CW-P-J/2", events_pb2.ALERT_STATE_RESOLVED),
            }
        finally:
            engine.stop()
            await asyncio.wait_for(task, 20)
