"""Stream consumer: applies every telemetry-relevant event family to the store, a batch at a time.

* connection, boot, status: the station registry and connector live state (conditional on
  event time, so safe to repeat in any order);
* meter: the batch's readings are checked for data quality and logged in a few large inserts
  (pipelined chunks) that the downsampler folds, idempotently by event id, into the hour and
  roll-up documents (see `meters`); quality flags that matter for security are published as
  SecurityEvents with deterministic event ids (a redelivery republishes the same ids);
* transaction: kept per event and folded into sessions; the connector's current session;
* authorization: kept per decision for the session success rate.

The handler returns only after every write is durable, so the worker's ack follows the effect.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

from chargewatch.mongo import Document
from chargewatch.streams import Event, EventPublisher, StreamFamily, event_context
from chargewatch.telemetry.meters import MeterStore, reading_key, reading_values
from chargewatch.telemetry.readings import (
    SECURITY_EVENT_OF_FLAG,
    LastReading,
    QualityChecker,
    QualityLimits,
    Reading,
    readings_from,
)
from chargewatch.telemetry.registry import StationRegistry
from chargewatch.telemetry.sessions import SessionStore
from chargewatch.v1 import events_pb2

FAMILIES = (
    StreamFamily.CONNECTION,
    StreamFamily.BOOT,
    StreamFamily.STATUS,
    StreamFamily.METER,
    StreamFamily.TRANSACTION,
    StreamFamily.AUTHORIZATION,
)
PRODUCER = "telemetry"


class TelemetryIngest:
    def __init__(
        self,
        registry: StationRegistry,
        meters: MeterStore,
        sessions: SessionStore,
        publisher: EventPublisher | None,
        limits: QualityLimits,
        *,
        last_seen_resolution_ms: int = 60_000,
        spec_cache_seconds: float = 60.0,
        chunk_size: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.meters = meters
        self.sessions = sessions
        self.publisher = publisher
        self.checker = QualityChecker(limits)
        self.last_seen_resolution_ms = last_seen_resolution_ms
        self.spec_cache_seconds = spec_cache_seconds
        self.chunk_size = chunk_size
        self._clock = clock
        self._last_seen_written: dict[str, int] = {}
        self._specs: dict[str, tuple[float, Document]] = {}
        # Running totals, for metrics and the benchmark.
        self.readings_stored = 0
        self.sampled_values_stored = 0

    async def __call__(self, events: Sequence[Event]) -> None:
        meter: list[Event] = []
        transactions: list[Event] = []
        authorizations: list[Event] = []
        for event in events:
            kind = event.payload_kind
            if kind == "meter_values":
                meter.append(event)
            elif kind == "transaction":
                transactions.append(event)
            elif kind == "authorization":
                authorizations.append(event)
            else:
                # Per-station order holds inside a partition, and every registry write is
                # conditional on event time, so applying these in order is correct and repeatable.
                with event_context(event):
                    await self.registry.apply(event.envelope)
        if meter:
            await self._meter_values(meter)
        if transactions:
            await self.sessions.record([e.envelope for e in transactions])
            for event in transactions:
                tx = event.envelope.transaction
                evse_id, connector_id = tx.evse_id, tx.connector_id
                if not evse_id:
                    session = await self.sessions.get(event.envelope.station_id, tx.transaction_id)
                    evse_id, connector_id = (session or {}).get("evse_id", 0), (session or {}).get("connector_id", 0)
                with event_context(event):
                    await self.registry.apply_transaction(event.envelope, evse_id, connector_id)
            await self._touch(transactions)
        if authorizations:
            await self.sessions.record_authorizations([e.envelope for e in authorizations])
            await self._touch(authorizations)

    async def _meter_values(self, events: Sequence[Event]) -> None:
        """Check a batch of MeterValues and log its readings for the downsampler.

        The batch is logged in chunks, one document each: a chunk's insert is sent before the
        next chunk is decoded and checked, so this process's CPU work overlaps the store's write
        instead of alternating with it. Every insert has finished, successfully, before this
        returns (and the worker acknowledges).
        """
        stations = await self._stations({e.envelope.station_id for e in events})
        alerts: dict[str, events_pb2.EventEnvelope] = {}
        inserts: list[asyncio.Task[None]] = []
        counts: list[tuple[int, int]] = []  # (readings, sampled values) per chunk
        try:
            for offset in range(0, len(events), self.chunk_size):
                parsed = [(e.envelope, readings_from(e.envelope)) for e in events[offset : offset + self.chunk_size]]
                self._prime([reading for _, readings in parsed for reading in readings], stations)
                entries: list[tuple[str, str, Document]] = []
                samples = 0
                for envelope, readings in parsed:
                    station_ms = envelope.station_time.ToMilliseconds()
                    received_ms = envelope.received_time.ToMilliseconds()
                    specs = stations.get(envelope.station_id, {}).get("connector_specs", {})
                    for index, reading in enumerate(readings):
                        spec = specs.get(f"{reading.evse_id}-{reading.connector_id}", {})
                        raised = self.checker.check(
                            reading,
                            station_ms=station_ms,
                            received_ms=received_ms,
                            late=envelope.late,
                            max_power_w=spec.get("max_power_w") or None,
                        )
                        for flag in raised:
                            if flag in SECURITY_EVENT_OF_FLAG and self.publisher is not None:
                                alert = self._security_event(envelope, reading, flag, spec.get("max_power_w"))
                                alerts[alert.event_id] = alert
                        entries.append(
                            (reading.connector, reading_key(envelope.event_id, index), reading_values(reading))
                        )
                        samples += reading.sampled_values
                inserts.append(asyncio.create_task(self.meters.append(entries)))
                counts.append((len(entries), samples))
                await asyncio.sleep(0)  # let the insert go out before the next chunk's work
        finally:
            # Never leave an insert running behind a failure: the batch is retried as a whole.
            results = await asyncio.gather(*inserts, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        for readings_count, samples in counts:
            self.readings_stored += readings_count
            self.sampled_values_stored += samples
        await self._touch(events)
        if alerts and self.publisher is not None:
            await self.publisher.publish_many(alerts.values())

    def _security_event(
        self, envelope: events_pb2.EventEnvelope, reading: Reading, flag: str, max_power_w: float | None
    ) -> events_pb2.EventEnvelope:
        assert self.publisher is not None
        name, severity = SECURITY_EVENT_OF_FLAG[flag]
        attributes = {
            "quality_flag": flag,
            "source_event_id": envelope.event_id,
            "evse_id": str(reading.evse_id),
            "connector_id": str(reading.connector_id),
        }
        if reading.energy_wh is not None:
            attributes["energy_wh"] = f"{reading.energy_wh:.3f}"
        if reading.power_w is not None:
            attributes["power_w"] = f"{reading.power_w:.1f}"
        if max_power_w:
            attributes["max_power_w"] = f"{max_power_w:.1f}"
        if reading.transaction_id:
            attributes["transaction_id"] = reading.transaction_id
        payload = events_pb2.SecurityEvent(
            type=name,
            tech_info=f"meter data quality: {flag} on connector {reading.evse_id}/{reading.connector_id}",
            severity=severity,  # type: ignore[arg-type]
            reported_by=PRODUCER,
            attributes=attributes,
        )
        return self.publisher.envelope(
            envelope.station_id,
            payload,
            tenant_id=envelope.tenant_id,
            station_time=reading.at,
            # Deterministic: a redelivered MeterValues event raises the very same security event.
            event_id=f"{envelope.event_id}:{flag}:{reading.at_ms}",
        )

    def _prime(self, readings: Sequence[Reading], stations: Mapping[str, Document]) -> None:
        """Remember, for connectors this process has not seen yet, the newest reading the
        registry knows (written by the downsampler), so the first reading after a restart is
        compared with the last one before it."""
        for reading in readings:
            if reading.connector in self.checker.last:
                continue
            last = stations.get(reading.station_id, {}).get("last_readings", {})
            known = last.get(f"{reading.evse_id}-{reading.connector_id}")
            if known is not None:
                self.checker.last[reading.connector] = LastReading(int(known["t"]), known.get("e"))

    async def _stations(self, station_ids: set[str]) -> dict[str, Document]:
        """Connector ratings and last readings of the stations (cached `spec_cache_seconds`)."""
        now = self._clock()
        stale = [s for s in station_ids if s not in self._specs or now - self._specs[s][0] > self.spec_cache_seconds]
        if stale:
            fetched = await self.registry.ingest_view(stale)
            for station_id in stale:
                self._specs[station_id] = (now, fetched.get(station_id, {}))
        return {s: self._specs[s][1] for s in station_ids}

    async def _touch(self, events: Sequence[Event]) -> None:
        """last_seen from frequent traffic: per station at most once per resolution of this
        process's clock (a backlog replays with few writes), all of a batch in one bulk write."""
        newest: dict[str, int] = {}
        for event in events:
            envelope = event.envelope
            received_ms = envelope.received_time.ToMilliseconds()
            newest[envelope.station_id] = max(received_ms, newest.get(envelope.station_id, 0))
        now_ms = int(self._clock() * 1000)
        due = {
            station_id: received_ms
            for station_id, received_ms in newest.items()
            if now_ms - self._last_seen_written.get(station_id, -(1 << 62)) >= self.last_seen_resolution_ms
        }
        if due:
            await self.registry.touch_many(due)
            self._last_seen_written.update(dict.fromkeys(due, now_ms))
