"""Stream consumer: applies connection, boot and status events to the registry."""

from __future__ import annotations

from collections.abc import Sequence

from chargewatch.streams import Event, StreamFamily, event_context
from chargewatch.telemetry.registry import StationRegistry

FAMILIES = (StreamFamily.CONNECTION, StreamFamily.BOOT, StreamFamily.STATUS)


class RegistryIngest:
    def __init__(self, registry: StationRegistry) -> None:
        self.registry = registry

    async def __call__(self, events: Sequence[Event]) -> None:
        # Per-station order holds inside a partition, and every write is conditional on
        # event time, so applying the batch in order is correct and safe to repeat.
        for event in events:
            with event_context(event):
                await self.registry.apply(event.envelope)
