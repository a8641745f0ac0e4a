"""The SLA engine's metric instruments (names declared in chargewatch.observability.attributes).

`chargewatch.sla.ports` is read at scrape time from the partitions this replica owns: each
partition has one owner, so summing the gauge over the replicas gives the whole fleet, and a
partition handed over moves its ports with it (nothing stale is left behind).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from chargewatch.observability import attributes as attrs
from chargewatch.sla_engine.model import Availability
from chargewatch.sla_engine.processor import PartitionProcessor

# Metric attribute key: short, because it becomes a Prometheus label.
STATE_LABEL: Final = "state"

_meter = metrics.get_meter("chargewatch.sla_engine")


def port_states(processors: Iterable[PartitionProcessor]) -> Counter[Availability]:
    """Ports that have reported a status, by their current availability."""
    states: Counter[Availability] = Counter()
    for processor in processors:
        for entry in processor.stations.values():
            for port in entry.timeline.ports.values():
                if port.seen:
                    states[port.state] += 1
    return states


def observe_ports(
    processors: Callable[[], Sequence[PartitionProcessor]], *, meter: metrics.Meter | None = None
) -> None:
    """Publish the port counts of `processors()` (the engine's owned partitions) at every collection."""

    def observe(_options: CallbackOptions) -> Iterable[Observation]:
        states = port_states(processors())
        # Every state, zeros included, so a state that empties drops to 0 instead of keeping its last value.
        return [
            Observation(states.get(state, 0), {STATE_LABEL: state.name.lower()})
            for state in Availability
            if state is not Availability.UNKNOWN
        ]

    (meter or _meter).create_observable_gauge(
        attrs.METRIC_SLA_PORTS,
        callbacks=[observe],
        unit="{port}",
        description="Charging ports of this replica's partitions by availability state (up: available, occupied, "
        "reserved; down: faulted, unavailable, offline, degraded).",
    )
