"""The consumer's lag histogram: the age of each acknowledged batch's oldest event, per group and family."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from chargewatch.streams import Event, EventPublisher, StreamFamily
from chargewatch.streams import _telemetry as tel
from tests.integration.streams.streams_support import running, status_envelopes, wait_until, worker

pytestmark = pytest.mark.integration


async def test_lag_is_recorded_per_batch_from_the_oldest_events_receipt(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = InMemoryMetricReader()
    # The real SDK histogram, read in memory (the process-wide provider may belong to another test).
    lag = MeterProvider(metric_readers=[reader]).get_meter("test").create_histogram("lag", unit="s")
    monkeypatch.setattr(tel, "consumer_lag", lag)

    publisher = EventPublisher(redis_client, producer="test")
    envelopes = status_envelopes(publisher, 5, station="CP-LAG")
    # The first event waited 40 s before the consumer saw it (a backlog); the others are fresh.
    envelopes[0].received_time.FromSeconds(int(time.time()) - 40)
    await publisher.publish_many(envelopes)

    seen: list[Event] = []

    async def handler(events: Sequence[Event]) -> None:
        seen.extend(events)

    consumer = worker(redis_client, handler, group="lag-group", families=[StreamFamily.STATUS], batch_size=100)
    async with running(consumer):
        await wait_until(lambda: len(seen) == 5, what="five events")

    data = reader.get_metrics_data()
    assert data is not None
    points: list[HistogramDataPoint] = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
        if isinstance(point, HistogramDataPoint)
    ]
    assert len(points) == 1
    point = points[0]
    assert dict(point.attributes or {}) == {tel.GROUP_LABEL: "lag-group", tel.FAMILY_LABEL: "status"}
    # One observation per acknowledged batch, not per event; its value is the oldest event's age.
    assert 1 <= point.count < 5
    assert 39.0 <= point.max < 60.0
