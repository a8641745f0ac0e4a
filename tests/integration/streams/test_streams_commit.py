"""A handler's appends are written atomically with its batch's acknowledgement; acknowledgements
read the next batch in the same round trip, and order holds across batches."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis

from chargewatch.streams import Event, EventPublisher, StreamAppend, StreamFamily, stream_name
from tests.integration.streams.streams_support import (
    drained,
    pending,
    running,
    status_envelopes,
    wait_until,
    worker,
)

pytestmark = pytest.mark.integration

STATUS0 = stream_name(StreamFamily.STATUS, 0)
OUT = "test:out:{0}"
JOURNAL = "test:journal:{0}"


class Appender:
    """Returns, for each batch, one entry per event on OUT and one journal entry for the batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.added: list[str] = []

    async def __call__(self, events: Sequence[Event]) -> list[StreamAppend]:
        ids = [event.envelope.event_id for event in events]
        self.batches.append(ids)
        appends = [StreamAppend(OUT, {"event": event_id}, max_len=1000) for event_id in ids]
        appends.append(StreamAppend(JOURNAL, {"ids": ",".join(ids)}, on_added=self.added.append))
        return appends


async def test_appends_are_written_in_order_and_then_the_batch_is_acknowledged(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    envelopes = status_envelopes(publisher, 30)
    await publisher.publish_many(envelopes)
    appender = Appender()
    async with running(worker(redis_client, appender, batch_size=7)):
        await wait_until(lambda: sum(len(b) for b in appender.batches) == 30, what="all handled")
        await wait_until(drained(redis_client, STATUS0), what="nothing pending")
    expected = [e.event_id for e in envelopes]
    # Per-partition order across batches (each acknowledgement read the next batch ahead).
    assert [event_id for batch in appender.batches for event_id in batch] == expected
    assert all(len(batch) <= 7 for batch in appender.batches)
    out = await redis_client.xrange(OUT)
    assert [fields[b"event"].decode() for _, fields in out] == expected
    journal = await redis_client.xrange(JOURNAL)
    assert [entry_id.decode() for entry_id, _ in journal] == appender.added  # on_added got each id
    assert [fields[b"ids"].decode().split(",") for _, fields in journal] == appender.batches


async def test_a_failing_append_leaves_the_batch_pending_and_appends_nothing_after_it(
    redis_client: aioredis.Redis,
) -> None:
    publisher = EventPublisher(redis_client)
    envelopes = status_envelopes(publisher, 3)
    await publisher.publish_many(envelopes)
    await redis_client.set(JOURNAL, "not a stream")  # every XADD to it fails with WRONGTYPE
    appender = Appender()
    consumer = worker(redis_client, appender, claim_idle_ms=60_000)
    async with running(consumer):
        await wait_until(lambda: appender.batches, what="a handled batch")
        await asyncio.sleep(0.3)
        # The entries before the failing one were appended (idempotent for readers); no ack followed.
        assert await pending(redis_client, STATUS0) == 3
        assert appender.added == []
        assert await redis_client.xlen(OUT) == 3
        errors = set(consumer._errors.values())  # kept for the dead letter, should it come to that
        assert len(errors) == 1 and "WRONGTYPE" in errors.pop()
    # Repaired: the redelivered batch commits, and is acknowledged.
    await redis_client.delete(JOURNAL)
    again = Appender()
    async with running(worker(redis_client, again, consumer="c2", claim_idle_ms=0, claim_interval_s=0.05)):
        await wait_until(drained(redis_client, STATUS0), what="redelivered and acknowledged")
    assert await redis_client.xlen(JOURNAL) == len(again.added) >= 1


async def test_the_commit_survives_a_flushed_script_cache(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    appender = Appender()
    async with running(worker(redis_client, appender)):
        await publisher.publish_many(status_envelopes(publisher, 2, station="CP-A"))
        await wait_until(lambda: appender.added, what="first batch")
        await redis_client.script_flush()  # e.g. a Redis restart: EVALSHA answers NOSCRIPT
        await publisher.publish_many(status_envelopes(publisher, 2, station="CP-B"))
        await wait_until(lambda: sum(len(b) for b in appender.batches) == 4, what="second batch")
        await wait_until(drained(redis_client, STATUS0), what="second batch acknowledged")
    assert await redis_client.xlen(OUT) == 4
    assert len(appender.added) == len(appender.batches)


async def test_stop_handles_a_batch_already_read_ahead(redis_client: aioredis.Redis) -> None:
    publisher = EventPublisher(redis_client)
    envelopes = status_envelopes(publisher, 20)
    await publisher.publish_many(envelopes)
    seen: list[str] = []
    consumer = worker(redis_client, lambda events: _record(seen, events), batch_size=5)

    async def _record(seen: list[str], events: Sequence[Event]) -> list[StreamAppend]:
        first = not seen
        seen.extend(event.envelope.event_id for event in events)
        # stop() once the first batch is committed: the acknowledgement has read the second already.
        return [StreamAppend(OUT, {"n": len(events)}, on_added=lambda _id: consumer.stop())] if first else []

    await asyncio.wait_for(consumer.run(), 5)
    # The batch read ahead is handled and acknowledged before run() returns; nothing more is read.
    assert seen == [e.event_id for e in envelopes[:10]]
    assert await pending(redis_client, STATUS0) == 0
    assert await consumer.lag() == 10
