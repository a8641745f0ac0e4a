"""One trace from the publishing work through the stream to the handler's own spans."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from chargewatch.streams import Event, EventPublisher, StreamFamily, event_context, stream_name
from tests.integration.streams.streams_support import Recorder, running, status, wait_until, worker

pytestmark = pytest.mark.integration

STATUS0 = stream_name(StreamFamily.STATUS, 0)
tracer = trace.get_tracer("tests.streams")


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_consumer_span_is_a_child_of_the_producer_span_and_links_to_it(
    redis_client: aioredis.Redis, span_exporter: InMemorySpanExporter
) -> None:
    span_exporter.clear()
    publisher = EventPublisher(redis_client)
    with tracer.start_as_current_span("websocket message") as request:
        envelope = publisher.envelope("CP-1", status(), event_id="traced-1")
        entry_id = await publisher.publish(envelope)
    trace_id = request.get_span_context().trace_id

    async def handler(events: Sequence[Event]) -> None:
        for event in events:
            with event_context(event), tracer.start_as_current_span("mongo update"):
                pass

    async with running(worker(redis_client, handler)):
        await wait_until(lambda: named(span_exporter, f"{STATUS0} process"), what="consumer span")

    [producer] = named(span_exporter, f"{STATUS0} publish")
    [consumer] = named(span_exporter, f"{STATUS0} process")
    [write] = named(span_exporter, "mongo update")
    assert producer.kind is SpanKind.PRODUCER
    assert consumer.kind is SpanKind.CONSUMER
    assert {s.context.trace_id for s in (producer, consumer, write)} == {trace_id}
    assert parent_id(producer) == request.get_span_context().span_id
    assert parent_id(consumer) == producer.context.span_id
    assert parent_id(write) == consumer.context.span_id
    assert [link.context.span_id for link in consumer.links] == [producer.context.span_id]
    assert envelope.traceparent.split("-")[2] == f"{request.get_span_context().span_id:016x}"  # caller's untouched

    assert producer.attributes is not None and consumer.attributes is not None
    assert producer.attributes["messaging.system"] == "redis"
    assert producer.attributes["messaging.destination.name"] == STATUS0
    assert producer.attributes["messaging.message.id"] == entry_id
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.attributes["messaging.consumer.group.name"] == "g"
    assert consumer.attributes["messaging.message.id"] == entry_id
    assert consumer.attributes["chargewatch.event.id"] == "traced-1"
    assert consumer.attributes["chargewatch.event.type"] == "connector.status"
    assert consumer.attributes["chargewatch.station.id"] == "CP-1"
    assert consumer.status.status_code is StatusCode.UNSET


async def test_batch_publish_keeps_each_event_in_the_trace_that_built_it(
    redis_client: aioredis.Redis, span_exporter: InMemorySpanExporter
) -> None:
    span_exporter.clear()
    publisher = EventPublisher(redis_client)
    with tracer.start_as_current_span("first") as first:
        one = publisher.envelope("CP-1", status(1), event_id="batch-1")
    with tracer.start_as_current_span("second") as second:
        two = publisher.envelope("CP-2", status(2), event_id="batch-2")
    with tracer.start_as_current_span("flush"):
        await publisher.publish_many([one, two])
    [batch] = named(span_exporter, f"{STATUS0} publish")
    assert batch.attributes is not None and batch.attributes["messaging.batch.message_count"] == 2

    recorder = Recorder()
    async with running(worker(redis_client, recorder)):
        await wait_until(lambda: len(named(span_exporter, f"{STATUS0} process")) == 2, what="consumer spans")
    parents = {
        s.attributes["chargewatch.event.id"]: parent_id(s)
        for s in named(span_exporter, f"{STATUS0} process")
        if s.attributes is not None
    }
    assert parents == {"batch-1": first.get_span_context().span_id, "batch-2": second.get_span_context().span_id}


async def test_failed_events_end_their_span_with_an_error(
    redis_client: aioredis.Redis, span_exporter: InMemorySpanExporter
) -> None:
    span_exporter.clear()
    publisher = EventPublisher(redis_client)
    await publisher.publish(publisher.envelope("CP-1", status(), event_id="fails"))
    recorder = Recorder(poison=["fails"])
    async with running(worker(redis_client, recorder, claim_idle_ms=60_000)):
        await wait_until(lambda: named(span_exporter, f"{STATUS0} process"), what="consumer span")
    [span] = named(span_exporter, f"{STATUS0} process")
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]
    # Published outside any trace: the producer span is the root and the consumer span its child.
    [producer] = named(span_exporter, f"{STATUS0} publish")
    assert producer.parent is None
    assert parent_id(span) == producer.context.span_id


def unsampled_parent() -> trace.NonRecordingSpan:
    """A remote parent whose producer decided not to sample (trace flags 00)."""
    context = trace.SpanContext(
        trace_id=0x5B8AA5A2D2C872E8321CF37308D69DF2,
        span_id=0x051581BF3CB55C13,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.DEFAULT),
    )
    return trace.NonRecordingSpan(context)


async def test_only_sampled_entries_get_a_span_and_the_batch_span_links_them(
    redis_client: aioredis.Redis, span_exporter: InMemorySpanExporter
) -> None:
    span_exporter.clear()
    publisher = EventPublisher(redis_client)
    with tracer.start_as_current_span("sampled request"):
        sampled = publisher.envelope("CP-1", status(1), event_id="sampled-1")
    with trace.use_span(unsampled_parent()):
        unsampled = publisher.envelope("CP-2", status(2), event_id="unsampled-1")
    assert unsampled.traceparent.endswith("-00")
    untraced = publisher.envelope("CP-3", status(3), event_id="untraced-1")
    untraced.traceparent = ""
    # One pipeline, so the three are one batch: a publish span per envelope would give each a new context.
    pipe = redis_client.pipeline(transaction=False)
    for envelope in (sampled, unsampled, untraced):
        pipe.xadd(STATUS0, {"id": envelope.event_id, "data": envelope.SerializeToString()})
    await pipe.execute()

    async def handler(events: Sequence[Event]) -> None:
        for event in events:
            with event_context(event), tracer.start_as_current_span(f"write {event.envelope.event_id}"):
                pass

    async with running(worker(redis_client, handler, batch_size=10)):
        await wait_until(lambda: named(span_exporter, f"{STATUS0} process batch"), what="batch span")

    [consumer] = named(span_exporter, f"{STATUS0} process")  # the sampled entry's, and no other
    assert consumer.attributes is not None and consumer.attributes["chargewatch.event.id"] == "sampled-1"
    assert consumer.context.trace_id == int(sampled.traceparent.split("-")[1], 16)
    [batch] = named(span_exporter, f"{STATUS0} process batch")
    assert batch.kind is SpanKind.CONSUMER
    assert batch.parent is None
    assert batch.attributes is not None
    assert batch.attributes["messaging.batch.message_count"] == 3
    assert batch.attributes["messaging.consumer.group.name"] == "g"
    assert [link.context.span_id for link in batch.links] == [int(sampled.traceparent.split("-")[2], 16)]
    # The sampled event's work is under its span; the unsampled one's is not recorded at all; the
    # one without any trace context is under the batch span.
    [sampled_write] = named(span_exporter, "write sampled-1")
    assert parent_id(sampled_write) == consumer.context.span_id
    assert not named(span_exporter, "write unsampled-1")
    [untraced_write] = named(span_exporter, "write untraced-1")
    assert parent_id(untraced_write) == batch.context.span_id


async def test_a_failed_batch_span_records_the_error(
    redis_client: aioredis.Redis, span_exporter: InMemorySpanExporter
) -> None:
    span_exporter.clear()
    publisher = EventPublisher(redis_client)
    envelope = publisher.envelope("CP-1", status(), event_id="batch-fails")
    envelope.traceparent = ""
    await redis_client.xadd(STATUS0, {"id": envelope.event_id, "data": envelope.SerializeToString()})
    recorder = Recorder(poison=["batch-fails"])
    async with running(worker(redis_client, recorder, claim_idle_ms=60_000)):
        await wait_until(lambda: named(span_exporter, f"{STATUS0} process batch"), what="batch span")
    [batch] = named(span_exporter, f"{STATUS0} process batch")
    assert batch.status.status_code is StatusCode.ERROR
    assert [e.name for e in batch.events] == ["exception"]
    assert not named(span_exporter, f"{STATUS0} process")  # no trace context: no per-entry span
