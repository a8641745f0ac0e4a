"""The SLA engine's port gauge: read from the owned partitions' memory at collection time."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from chargewatch.sla_engine import instruments
from chargewatch.sla_engine.model import Availability
from chargewatch.sla_engine.processor import PartitionProcessor
from chargewatch.v1 import events_pb2
from tests.unit.sla_engine.test_processor import AVAILABLE, CHARGING, FAULTED, envelope, processor, status


def _gauge(reader: InMemoryMetricReader) -> dict[str, float]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        str((point.attributes or {})[instruments.STATE_LABEL]): float(point.value)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "chargewatch.sla.ports"
        for point in metric.data.data_points
        if isinstance(point, NumberDataPoint)
    }


CONNECTED = events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_CONNECTED)


def _fleet(station: str, statuses: list[int]) -> list[events_pb2.EventEnvelope]:
    batch = [envelope(f"{station}-c", 0, CONNECTED, station=station)]
    batch += [
        envelope(f"{station}-s{i}", 1 + i, status(i + 1, value), station=station) for i, value in enumerate(statuses)
    ]
    return batch


def test_ports_are_counted_by_state_over_the_owned_partitions_at_each_collection() -> None:
    first, second = processor(), processor()
    first.apply(_fleet("S1", [AVAILABLE, FAULTED]), live=True)
    second.apply(_fleet("S2", [CHARGING]), live=True)
    owned: list[PartitionProcessor] = [first, second]
    reader = InMemoryMetricReader()
    instruments.observe_ports(lambda: owned, meter=MeterProvider(metric_readers=[reader]).get_meter("test"))

    counts = _gauge(reader)
    assert counts["available"] == 1 and counts["faulted"] == 1 and counts["occupied"] == 1
    assert set(counts) == {s.name.lower() for s in Availability if s is not Availability.UNKNOWN}
    assert sum(counts.values()) == 3

    # A partition handed over takes its ports with it; the remaining states read 0, not their last value.
    owned.remove(first)
    counts = _gauge(reader)
    assert counts["available"] == 0 and counts["faulted"] == 0 and counts["occupied"] == 1


def test_ports_without_a_status_are_not_counted() -> None:
    p = processor()
    p.apply([envelope("c", 0, CONNECTED)], live=True)
    assert sum(instruments.port_states([p]).values()) == 0
