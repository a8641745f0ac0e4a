"""Publishing and consuming through a real Redis: delivery, partitioning, failures, crashes, stop."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis

from chargewatch.streams import (
    Event,
    EventPublisher,
    StreamFamily,
    dead_letter_stream,
    partition_for,
    stream_name,
)
from chargewatch.v1 import events_pb2
from tests.integration.streams.streams_support import (
    Recorder,
    drained,
    pending,
    running,
    status,
    status_envelopes,
    wait_until,
    worker,
)

pytestmark = pytest.mark.integration

STATUS0 = stream_name(StreamFamily.STATUS, 0)


async def test_round_trip_keeps_payload_and_entry_fields(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client, producer="test")
    boot = publisher.envelope("CP-9", events_pb2.StationBoot(vendor="ACME", model="X1"), tenant_id="t1")
    beat = publisher.envelope("CP-9", events_pb2.StationHeartbeat())
    change = publisher.envelope("CP-9", status(2))
    boot_id = await publisher.publish(boot)
    ids = await publisher.publish_many([beat, change])
    assert len(ids) == 2

    entries = await redis_client.xrange(stream_name(StreamFamily.BOOT, 0))
    assert [entry_id.decode() for entry_id, _ in entries] == [boot_id]
    fields = entries[0][1]
    assert fields[b"id"] == boot.event_id.encode()
    assert fields[b"type"] == b"station.boot"
    assert fields[b"station"] == b"CP-9"
    assert b"traceparent" in fields
    assert events_pb2.EventEnvelope.FromString(fields[b"data"]).boot.vendor == "ACME"

    seen: list[Event] = []

    async def handler(events: Sequence[Event]) -> None:
        seen.extend(events)

    consumer = worker(redis_client, handler, families=[StreamFamily.BOOT, StreamFamily.CONNECTION, StreamFamily.STATUS])
    async with running(consumer):
        await wait_until(lambda: len(seen) == 3, what="three events")
    by_id = {e.envelope.event_id: e for e in seen}
    got = by_id[boot.event_id]
    assert got.stream == "cw:boot:{0}"
    assert got.entry_id == boot_id
    assert got.delivery_count == 1
    assert got.payload_kind == "boot"
    assert got.payload == boot.boot
    assert got.envelope.tenant_id == "t1"
    assert got.envelope.producer == "test"
    assert got.envelope.received_time == boot.received_time
    assert by_id[beat.event_id].payload_kind == "heartbeat"
    assert by_id[beat.event_id].stream == "cw:connection:{0}"
    assert by_id[change.event_id].payload == change.status
    assert await consumer.pending_count() == 0
    assert await consumer.lag() == 0


async def test_partitions_route_by_station_and_workers_serve_their_own(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client, partitions=4)
    stations = [f"CP-{i:03d}" for i in range(40)]
    await publisher.publish_many([publisher.envelope(s, status(), event_id=s) for s in stations])
    for partition in range(4):
        stream = stream_name(StreamFamily.STATUS, partition)
        expected = {s for s in stations if partition_for(s, 4) == partition}
        assert expected, "40 stations should reach every one of 4 partitions"
        stored = {fields[b"station"].decode() for _, fields in await redis_client.xrange(stream)}
        assert stored == expected

    only_one = Recorder()
    everything = Recorder()
    one = worker(redis_client, only_one, group="one", partitions=[1])
    every = worker(redis_client, everything, group="all", partitions=4)
    async with running(one, every):
        await wait_until(lambda: len(everything.done) == 40, what="all partitions consumed")
        await wait_until(lambda: set(only_one.done) == {s for s in stations if partition_for(s, 4) == 1})
    assert set(everything.done) == set(stations)


async def test_two_consumers_of_one_group_split_the_work(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    first, second = Recorder(delay_s=0.01), Recorder(delay_s=0.01)
    a = worker(redis_client, first, consumer="a", batch_size=10)
    b = worker(redis_client, second, consumer="b", batch_size=10)
    async with running(a, b):
        await wait_until(lambda: a._groups_ready and b._groups_ready)
        envelopes = status_envelopes(publisher, 200)
        await publisher.publish_many(envelopes)
        await wait_until(lambda: len(first.done) + len(second.done) == 200, what="all events")
    assert first.done and second.done
    assert not set(first.done) & set(second.done)
    assert set(first.done) | set(second.done) == {e.event_id for e in envelopes}
    assert max((first.done + second.done).values()) == 1
    assert await pending(redis_client, STATUS0) == 0


async def test_poison_event_does_not_block_others_and_ends_in_dead_letter(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    envelopes = status_envelopes(publisher, 10)
    poison_id = envelopes[4].event_id
    recorder = Recorder(poison=[poison_id])
    consumer = worker(redis_client, recorder, max_deliveries=2)
    await publisher.publish_many(envelopes)
    async with running(consumer):
        await wait_until(lambda: len(recorder.done) == 9, what="the healthy events")
        dead = dead_letter_stream("g")
        await wait_until(lambda: redis_client.xlen(dead), what="the dead letter")
        await wait_until(drained(redis_client, STATUS0), what="nothing pending")
    assert all(recorder.done[e.event_id] == 1 for e in envelopes if e.event_id != poison_id)
    assert poison_id not in recorder.done
    # Delivered twice (max_deliveries=2), handled in its batch and then alone, then parked.
    assert sorted(set(recorder.deliveries[poison_id])) == [1, 2]
    [(_, fields)] = await redis_client.xrange(dead_letter_stream("g"))
    assert fields[b"id"] == poison_id.encode()
    assert fields[b"reason"] == f"ValueError: poison {poison_id}".encode()
    assert fields[b"source_stream"] == STATUS0.encode()
    assert fields[b"group"] == b"g"
    assert fields[b"failed_at"]
    source_id = fields[b"source_id"]
    assert [i for i, _ in await redis_client.xrange(STATUS0, min=source_id, max=source_id)] == [source_id]
    assert events_pb2.EventEnvelope.FromString(fields[b"data"]).event_id == poison_id
    assert await pending(redis_client, STATUS0) == 0


async def test_undecodable_entries_go_straight_to_dead_letter(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    await redis_client.xadd(STATUS0, {"id": "bad-1", "data": b"\xff\xff\xff not a protobuf"})
    await redis_client.xadd(STATUS0, {"id": "bad-2"})
    await redis_client.xadd(
        STATUS0, {"id": "bad-3", "data": events_pb2.EventEnvelope(event_id="x").SerializeToString()}
    )
    good = status_envelopes(publisher, 1)[0]
    await publisher.publish(good)
    recorder = Recorder()
    async with running(worker(redis_client, recorder)):
        await wait_until(lambda: recorder.done[good.event_id] == 1)
        await wait_until(drained(redis_client, STATUS0), what="nothing pending")
    dead = {f[b"id"]: f[b"reason"].decode() for _, f in await redis_client.xrange(dead_letter_stream("g"))}
    assert set(dead) == {b"bad-1", b"bad-2", b"bad-3"}
    assert all(reason.startswith("undecodable: ") for reason in dead.values())
    assert "no data" in dead[b"bad-2"]
    assert "no known payload" in dead[b"bad-3"]
    assert await pending(redis_client, STATUS0) == 0


async def _die_mid_batch(redis_client: aioredis.Redis, count: int) -> list[str]:
    """Consumer "a" reads a batch and dies inside its handler: nothing acknowledged."""
    publisher = EventPublisher(redis_client)
    envelopes = status_envelopes(publisher, count)
    await publisher.publish_many(envelopes)
    doomed = Recorder()
    doomed.gate = asyncio.Event()  # never set: the handler never returns
    dying = worker(redis_client, doomed, consumer="a", claim_idle_ms=60_000)
    task = asyncio.create_task(dying.run())
    await asyncio.wait_for(doomed.entered.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not doomed.done
    assert await pending(redis_client, STATUS0) == count
    return [e.event_id for e in envelopes]


async def test_entries_of_a_dead_consumer_are_claimed_and_take_effect_once(redis_client: aioredis.Redis) -> None:
    ids = await _die_mid_batch(redis_client, 25)
    survivor = Recorder()
    async with running(worker(redis_client, survivor, consumer="b", batch_size=10)):
        await wait_until(lambda: len(survivor.done) == 25, what="claimed entries")
        await wait_until(drained(redis_client, STATUS0), what="nothing pending")
    assert set(survivor.done) == set(ids)
    assert set(survivor.done.values()) == {1}
    assert {count for counts in survivor.deliveries.values() for count in counts} == {2}
    assert await pending(redis_client, STATUS0) == 0


async def test_a_restarted_consumer_resumes_its_own_pending_entries(redis_client: aioredis.Redis) -> None:
    ids = await _die_mid_batch(redis_client, 5)
    restarted = Recorder()
    # Claiming would wait a minute: only the own-pending pass can pick these up.
    async with running(worker(redis_client, restarted, consumer="a", claim_idle_ms=60_000)):
        await wait_until(lambda: len(restarted.done) == 5, what="own pending entries")
    assert set(restarted.done) == set(ids)
    assert set(restarted.done.values()) == {1}
    assert {count for counts in restarted.deliveries.values() for count in counts} == {2}
    assert await pending(redis_client, STATUS0) == 0


async def test_stop_finishes_the_batch_in_hand_and_reads_no_more(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    envelopes = status_envelopes(publisher, 50)
    await publisher.publish_many(envelopes)
    recorder = Recorder(poison=[])
    recorder.gate = asyncio.Event()
    consumer = worker(redis_client, recorder, batch_size=10)
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(recorder.entered.wait(), 5)
    consumer.stop()
    consumer.stop()  # idempotent
    assert not task.done()
    recorder.gate.set()
    await asyncio.wait_for(task, 2)
    assert set(recorder.done) == {e.event_id for e in envelopes[:10]}
    assert await pending(redis_client, STATUS0) == 0
    assert await consumer.lag() == 40  # never read after stop


async def test_stop_does_not_acknowledge_what_failed(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    envelopes = status_envelopes(publisher, 5)
    await publisher.publish_many(envelopes)
    recorder = Recorder(poison=[envelopes[2].event_id])
    recorder.gate = asyncio.Event()
    consumer = worker(redis_client, recorder)
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(recorder.entered.wait(), 5)
    consumer.stop()
    recorder.gate.set()
    await asyncio.wait_for(task, 2)
    assert set(recorder.done) == {e.event_id for i, e in enumerate(envelopes) if i != 2}
    [row] = await redis_client.xpending_range(STATUS0, "g", "-", "+", 10)
    assert row["consumer"] == b"c1"


async def test_stop_interrupts_an_idle_blocking_read_quickly(redis_client: aioredis.Redis) -> None:
    consumer = worker(redis_client, Recorder(), block_ms=300)
    task = asyncio.create_task(consumer.run())
    await wait_until(lambda: consumer._groups_ready)
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    consumer.stop()
    await asyncio.wait_for(task, 2)
    assert asyncio.get_running_loop().time() - started < 0.6


async def test_worker_recreates_its_group_after_the_stream_vanished(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    recorder = Recorder()
    consumer = worker(redis_client, recorder)
    async with running(consumer):
        await wait_until(lambda: consumer._groups_ready)
        await redis_client.flushdb()
        await asyncio.sleep(0.2)
        envelope = status_envelopes(publisher, 1)[0]
        await wait_until(lambda: redis_client.exists(STATUS0), what="group recreated")
        await publisher.publish(envelope)
        await wait_until(lambda: recorder.done[envelope.event_id] == 1, what="event after flush")


async def test_a_dead_letter_move_is_never_duplicated(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    await publisher.publish(status_envelopes(publisher, 1)[0])
    recorder = Recorder()
    a = worker(redis_client, recorder, consumer="a")
    await a.start()
    [entry] = await a._read_new()
    await a._move_to_dead_letter([(entry, "first")])
    await a._move_to_dead_letter([(entry, "second")])  # a racing consumer: already acknowledged
    dead = await redis_client.xrange(dead_letter_stream("g"))
    assert [f[b"reason"] for _, f in dead] == [b"first"]
    assert await pending(redis_client, STATUS0) == 0


async def test_claimed_entries_deleted_from_the_stream_are_acknowledged(redis_client: aioredis.Redis) -> None:
    ids = await _die_mid_batch(redis_client, 5)
    [(deleted_entry, _)] = [
        (entry_id, f) for entry_id, f in await redis_client.xrange(STATUS0) if f[b"id"] == ids[2].encode()
    ]
    await redis_client.xdel(STATUS0, deleted_entry)  # e.g. trimmed with trim_unacknowledged
    survivor = Recorder()
    async with running(worker(redis_client, survivor, consumer="b")):
        await wait_until(drained(redis_client, STATUS0), what="nothing pending")
    assert set(survivor.done) == set(ids) - {ids[2]}
    assert await redis_client.xlen(dead_letter_stream("g")) == 0


async def test_own_pending_entries_deleted_from_the_stream_are_acknowledged(redis_client: aioredis.Redis) -> None:
    ids = await _die_mid_batch(redis_client, 3)
    first_entry = (await redis_client.xrange(STATUS0, count=1))[0][0]
    await redis_client.xdel(STATUS0, first_entry)
    restarted = Recorder()
    async with running(worker(redis_client, restarted, consumer="a", claim_idle_ms=60_000)):
        await wait_until(drained(redis_client, STATUS0), what="nothing pending")
    assert set(restarted.done) == set(ids[1:])


async def test_a_crash_looping_consumer_dead_letters_on_restart(redis_client: aioredis.Redis) -> None:
    ids = await _die_mid_batch(redis_client, 3)
    restarted = Recorder()
    # Its second delivery (the restart's own-pending read) exceeds max_deliveries=1.
    async with running(worker(redis_client, restarted, consumer="a", claim_idle_ms=60_000, max_deliveries=1)):
        await wait_until(drained(redis_client, STATUS0), what="nothing pending")
    assert not restarted.calls
    dead = await redis_client.xrange(dead_letter_stream("g"))
    assert sorted(f[b"id"].decode() for _, f in dead) == sorted(ids)
    assert {f[b"reason"] for _, f in dead} == {b"exceeded max deliveries"}


METRICS_SCRIPT = """
import asyncio, json, sys
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

import redis.asyncio as aioredis
from chargewatch.streams import ConsumerGroupWorker, EventPublisher, StreamFamily
from chargewatch.v1 import events_pb2

async def main() -> None:
    client = aioredis.Redis.from_url(sys.argv[1])
    publisher = EventPublisher(client)
    await publisher.publish_many([publisher.envelope("CP-1", events_pb2.StationHeartbeat()) for _ in range(2)])
    await client.xadd("cw:connection:{0}", {"data": b"garbage"})
    handled = []
    async def handler(events):
        handled.extend(events)
    worker = ConsumerGroupWorker(client, group="m", consumer="c", families=[StreamFamily.CONNECTION],
                                 handler=handler, block_ms=50)
    task = asyncio.create_task(worker.run())
    while len(handled) < 2 or not await client.exists("cw:dead-letter:m"):
        await asyncio.sleep(0.01)
    worker.stop()
    await task
    await client.aclose()

asyncio.run(main())
points = {}
for rm in reader.get_metrics_data().resource_metrics:
    for sm in rm.scope_metrics:
        for metric in sm.metrics:
            for point in metric.data.data_points:
                key = metric.name + json.dumps(dict(point.attributes), sort_keys=True)
                points[key] = getattr(point, "value", None) if hasattr(point, "value") else point.count
print(json.dumps(points))
"""


async def test_metrics_count_published_consumed_and_dead_lettered(redis_client: aioredis.Redis, redis_url: str) -> None:
    # In a child process: the global MeterProvider can be set once per process, and this one
    # must not leak into other tests.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", METRICS_SCRIPT, redis_url, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    points = json.loads(stdout)
    assert points['chargewatch.stream.published{"family": "connection"}'] == 2
    assert points['chargewatch.stream.consumed{"family": "connection", "group": "m"}'] == 2
    assert (
        points['chargewatch.stream.dead_lettered{"family": "connection", "group": "m", "reason": "undecodable"}'] == 1
    )
    assert points['chargewatch.stream.handler.duration{"group": "m", "outcome": "ok"}'] >= 1
