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
