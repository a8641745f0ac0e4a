"""The stream consumer of one partition: events -> station timelines -> incidents and alerts.

One process owns a partition at a time (see engine.py); while it does, the state of the partition's
stations lives in memory, so a status change reaches the alert stream within one batch. Durability,
before any entry is acknowledged:

1. apply the batch to memory (timelines, incidents, sessions);
2. return the alerts it raised and the batch's envelopes for the partition's journal (one Redis
   stream entry per batch, see journal.py: MongoDB is never on the path from an event to its alert)
   as stream appends;
3. the consumer appends them - alerts first, then the journal entry - and acknowledges the batch in
   one server-side script, one round trip: the acknowledgement happens only if every append did.

Every `flush_interval` (longer under load) the changed stations are written to MongoDB as snapshots,
with the read models (port states, packed outage segments per port and year, incidents, sessions);
then the journal up to that point is trimmed. A new owner loads the snapshots and replays the
journal after them, without re-sending alerts (those were sent before the journal was written; a
batch whose journal write was lost is redelivered and raises the same alerts, under the same event
ids, again).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pymongo import UpdateOne

from chargewatch.sla_engine import codec, incidents, model
from chargewatch.sla_engine.incidents import IncidentFacts
from chargewatch.sla_engine.intervals import from_ms
from chargewatch.sla_engine.journal import Journal, newer
from chargewatch.sla_engine.model import PortKey
from chargewatch.sla_engine.profiles import ProfileCache
from chargewatch.sla_engine.sessions import token_hash
from chargewatch.sla_engine.store import FlushBatch, SlaStore, fence
from chargewatch.sla_engine.timeline import Change, Segment, StationTimeline, judge_power
from chargewatch.streams import Event, EventPublisher, StreamAppend, StreamFamily
from chargewatch.v1 import common_pb2, events_pb2

log = logging.getLogger(__name__)

FAMILIES: Final = (
    StreamFamily.CONNECTION,
    StreamFamily.BOOT,
    StreamFamily.STATUS,
    StreamFamily.METER,
    StreamFamily.TRANSACTION,
)
PRODUCER: Final = "sla-engine"
# The gateway closes a station's older socket when it connects again: not an outage.
REPLACED_REASON: Final = "replaced by a new connection"
_LENGTH = struct.Struct("<I")
# Stations a flush handles between two returns to the event loop (about a millisecond of work).
_SLICE_STATIONS: Final = 10

POWER_IMPORT = "Power.Active.Import"
POWER_OFFERED = "Power.Offered"
ENERGY_REGISTER = "Energy.Active.Import.Register"
SOC = "SoC"


@dataclass(frozen=True, slots=True)
class ProcessorSettings:
    heartbeat_interval_ms: int = 300_000
    heartbeat_grace_ms: int = 120_000
    flap_window_ms: int = 300_000
    reorder_horizon_ms: int = 3_600_000
    tail_max: int = 256
    retention_ms: int = 400 * 86_400_000
    clock_skew_ms: int = 300_000
    soc_limit_percent: float = 80.0
    alert_horizon_ms: int = 86_400_000


def ms(stamp: Any) -> int:
    return int(stamp.seconds) * 1000 + int(stamp.nanos) // 1_000_000


def _arrival(envelope: events_pb2.EventEnvelope) -> tuple[int, int, int, int, str]:
    received, station = envelope.received_time, envelope.station_time
    return received.seconds, received.nanos, station.seconds, station.nanos, envelope.event_id


def event_time(envelope: events_pb2.EventEnvelope, skew_ms: int) -> int:
    """When a fact happened: the station's time, unless that cannot be right.

    Never after receipt (a station cannot report the future); the receive time when the station's
    clock is off by more than the tolerance and the message was not queued offline (`late`).
    """
    station = ms(envelope.station_time)
    received = ms(envelope.received_time)
    if not received:
        return station
    if station > received or not station:
        return received
    if not envelope.late and received - station > skew_ms:
        return received
    return station


def sample_time(stamp_ms: int, envelope: events_pb2.EventEnvelope, skew_ms: int) -> int:
    received = ms(envelope.received_time)
    if not stamp_ms:
        return event_time(envelope, skew_ms)
    if received and stamp_ms > received:
        return received
    if received and not envelope.late and received - stamp_ms > skew_ms:
        return received
    return stamp_ms


def pack_envelopes(envelopes: Iterable[events_pb2.EventEnvelope]) -> bytes:
    parts = []
    for envelope in envelopes:
        data = envelope.SerializeToString()
        parts.append(_LENGTH.pack(len(data)))
        parts.append(data)
    return b"".join(parts)


def unpack_envelopes(blob: bytes) -> list[events_pb2.EventEnvelope]:
    out = []
    offset = 0
    while offset < len(blob):
        (length,) = _LENGTH.unpack_from(blob, offset)
        offset += _LENGTH.size
        out.append(events_pb2.EventEnvelope.FromString(blob[offset : offset + length]))
        offset += length
    return out


@dataclass
class SessionDelta:
    """Updates to one session since the last flush, as MongoDB operators (each idempotent)."""

    key: str
    fields: dict[str, Any] = field(default_factory=dict)
    mins: dict[str, float] = field(default_factory=dict)
    maxs: dict[str, float] = field(default_factory=dict)
    errors: set[str] = field(default_factory=set)

    def minimum(self, name: str, value: float) -> None:
        self.mins[name] = min(value, self.mins.get(name, value))

    def maximum(self, name: str, value: float) -> None:
        self.maxs[name] = max(value, self.maxs.get(name, value))

    def operation(self) -> UpdateOne:
        update: dict[str, Any] = {"$set": dict(self.fields)}
        if self.mins:
            update["$min"] = dict(self.mins)
        if self.maxs:
            update["$max"] = dict(self.maxs)
        if self.errors:
            update["$addToSet"] = {"error_codes": {"$each": sorted(self.errors)}}
        return UpdateOne({"_id": self.key}, update, upsert=True)


@dataclass
class StationEntry:
    timeline: StationTimeline
    tenant_id: str = ""
    site_id: str = ""
    open_sessions: dict[int, str] = field(default_factory=dict)  # evse -> transaction id
    tx_evse: dict[str, int] = field(default_factory=dict)  # open transaction -> evse
    incidents: dict[int, dict[str, IncidentFacts]] = field(default_factory=dict)
    dirty: bool = False
    dirty_ports: set[int] = field(default_factory=set)
    dirty_incidents: dict[str, tuple[int, IncidentFacts | None]] = field(default_factory=dict)
    # Ports whose every outage year must be written (their site changed).
    all_years: set[int] = field(default_factory=set)
    # Ports whose down segments changed since the last flush (a status change between two up states
    # changes the port's state, not its outages).
    dirty_outages: set[int] = field(default_factory=set)
    # What each port's read-model document says (skip rewriting it unchanged).
    written_states: dict[int, tuple[int, str, int, int, str, str, str]] = field(default_factory=dict)
    # Ports written at least once, and the freeze boundary when the station was last written:
    # segments from there on may have changed since.
    written_ports: set[int] = field(default_factory=set)
    written_boundary: int = 0

    def extra(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "site_id": self.site_id,
            "open_sessions": {str(k): v for k, v in self.open_sessions.items()},
            "tx_evse": dict(self.tx_evse),
        }


class PartitionProcessor:
    def __init__(
        self,
        partition: int,
        gen: int,
        store: SlaStore,
        publisher: EventPublisher | None,
        profiles: ProfileCache,
        settings: ProcessorSettings,
        *,
        journal: Journal | None = None,
        site_of: Callable[[str], str | None] = lambda _station: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.partition = partition
        self.gen = gen
        self.store = store
        self.publisher = publisher
        self.profiles = profiles
        self.settings = settings
        self.journal = journal
        self.site_of = site_of
        self.clock = clock
        self.stations: dict[str, StationEntry] = {}
        self.sessions: dict[str, SessionDelta] = {}
        self.watermark = 0  # newest receive time seen
        self.caught_up = False
        self._journaled = ""  # newest journal id whose write completed
        self._flushing_sessions: list[SessionDelta] = []
        # Counters, for metrics and the benchmark.
        self.events_applied = 0
        self.alerts_published = 0
        self.recomputes = 0

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- loading --------------------------------------------------------------------------------
    async def load(self) -> int:
        """Snapshots of the partition's stations, then the journal after them; returns events replayed."""
        grace = self.settings.heartbeat_grace_ms
        now = self.now_ms()
        for document in await self.store.snapshots(self.partition):
            timeline, extra = codec.load_timeline(str(document["_id"]), document["blob"], grace_ms=grace)
            entry = StationEntry(
                timeline,
                tenant_id=str(extra.get("tenant_id") or document.get("tenant_id") or ""),
                site_id=str(extra.get("site_id") or ""),
                open_sessions={int(k): str(v) for k, v in (extra.get("open_sessions") or {}).items()},
                tx_evse={str(k): int(v) for k, v in (extra.get("tx_evse") or {}).items()},
            )
            entry.written_ports = set(timeline.ports)
            entry.written_boundary = timeline.boundary
            for evse, port in timeline.ports.items():
                key = PortKey(timeline.station_id, evse).key
                folded = incidents.fold(key, port.segments(), self.settings.flap_window_ms, now)
                entry.incidents[evse] = {f.incident_id: f for f in folded}
            self.stations[timeline.station_id] = entry
        covered = await self.store.covered(self.partition)
        self._journaled = covered
        replayed = 0
        if self.journal is not None:
            for journal_id, blob in await self.journal.after(covered):
                envelopes = unpack_envelopes(blob)
                self.apply(envelopes, live=False)
                replayed += len(envelopes)
                self._journaled = journal_id
        log.info(
            "partition loaded",
            extra={"partition": self.partition, "stations": len(self.stations), "replayed": replayed},
        )
        return replayed

    # -- the stream handler ---------------------------------------------------------------------
    async def handle(self, events: Sequence[Event]) -> list[StreamAppend]:
        """Apply a batch; returns its alerts and journal entry, for the worker to append with its ack."""
        envelopes = [event.envelope for event in events]
        alerts = self.apply(envelopes, live=True)
        appends: list[StreamAppend] = []
        publisher = self.publisher
        if alerts and publisher is not None:
            appends += (alert_append(publisher, alert, self._alert_added) for alert in alerts)
        if self.journal is not None:
            appends.append(self.journal.entry(pack_envelopes(envelopes), self._journal_added))
        return appends

    def _alert_added(self, _entry_id: str) -> None:
        self.alerts_published += 1

    def _journal_added(self, journal_id: str) -> None:
        self._journaled = newer(self._journaled, journal_id)

    def apply(self, envelopes: Sequence[events_pb2.EventEnvelope], *, live: bool) -> list[events_pb2.EventEnvelope]:
        """Apply events to memory; returns the alert envelopes to publish (none when not `live`)."""
        alerts: list[events_pb2.EventEnvelope] = []
        now = self.now_ms()
        ordered = sorted(envelopes, key=_arrival)
        for envelope in ordered:
            if not envelope.station_id:
                continue
            entry = self._entry(envelope)
            changes = self._apply_one(entry, envelope)
            self.events_applied += 1
            if changes:
                self._changed(entry, changes, envelope.event_id, live, now, alerts)
            if entry.timeline.tail_length() > self.settings.tail_max:
                self._shrink(entry)
        return alerts

    def _entry(self, envelope: events_pb2.EventEnvelope) -> StationEntry:
        entry = self.stations.get(envelope.station_id)
        if entry is None:
            timeline = StationTimeline(
                envelope.station_id,
                interval_ms=self.settings.heartbeat_interval_ms,
                grace_ms=self.settings.heartbeat_grace_ms,
            )
            entry = self.stations[envelope.station_id] = StationEntry(timeline, tenant_id=envelope.tenant_id)
            entry.dirty = True
        if envelope.tenant_id and envelope.tenant_id != entry.tenant_id:
            entry.tenant_id = envelope.tenant_id
            entry.dirty = True
            entry.dirty_ports.update(entry.timeline.ports)
        return entry

    def _apply_one(self, entry: StationEntry, envelope: events_pb2.EventEnvelope) -> list[Change]:
        timeline = entry.timeline
        kind = envelope.WhichOneof("payload")
        received = ms(envelope.received_time)
        self.watermark = max(self.watermark, received)
        changes: list[Change] = []
        closing = kind == "connection" and envelope.connection.kind != events_pb2.StationConnection.KIND_CONNECTED
        if not closing:
            changes += timeline.heard_at(received)
        t = event_time(envelope, self.settings.clock_skew_ms)
        eid = envelope.event_id
        if kind == "connection":
            connection = envelope.connection
            if connection.kind == events_pb2.StationConnection.KIND_CONNECTED:
                changes += timeline.connection(t, eid, connected=True)
            elif (
                connection.kind == events_pb2.StationConnection.KIND_DISCONNECTED
                and connection.reason != REPLACED_REASON
            ):
                changes += timeline.connection(t, eid, connected=False)
        elif kind == "boot":
            boot = envelope.boot
            if boot.interval_seconds and boot.registration_status == common_pb2.REGISTRATION_STATUS_ACCEPTED:
                changes += timeline.set_interval(boot.interval_seconds * 1000)
            changes += timeline.connection(t, eid, connected=True)
        elif kind == "status":
            status = envelope.status
            if status.evse_id == 0:
                changes += timeline.station_status(t, eid, int(status.status), status.error_code)
            else:
                changes += timeline.status(
                    t, eid, status.evse_id, status.connector_id or 1, int(status.status), status.error_code
                )
                if status.status == common_pb2.CONNECTOR_STATUS_FAULTED:
                    transaction = entry.open_sessions.get(status.evse_id)
                    if transaction:
                        code = status.error_code if status.error_code not in model.NO_ERROR_CODES else "Faulted"
                        self._session(entry, transaction).errors.add(code)
        elif kind == "meter_values":
            changes += self._meter(entry, envelope)
        elif kind == "transaction":
            self._transaction(entry, envelope, t)
        return changes

    def _meter(self, entry: StationEntry, envelope: events_pb2.EventEnvelope) -> list[Change]:
        values = envelope.meter_values
        evse = values.evse_id
        transaction = values.transaction_id or entry.open_sessions.get(evse, "")
        groups: dict[int, dict[str, float]] = {}
        for sample in values.samples:
            at = ms(sample.timestamp)
            group = groups.setdefault(at, {})
            measurand = sample.measurand or ENERGY_REGISTER
            if measurand in (POWER_IMPORT, POWER_OFFERED):
                # A total (no phase) wins; per-phase readings add up to one.
                if not sample.phase:
                    group[measurand] = sample.value
                    group[f"{measurand}#total"] = 1
                elif f"{measurand}#total" not in group and not sample.phase.endswith("-N") and sample.phase != "N":
                    group[measurand] = group.get(measurand, 0.0) + sample.value
            elif (measurand == ENERGY_REGISTER and not sample.phase) or measurand == SOC:
                group[measurand] = sample.value
        changes: list[Change] = []
        key = PortKey(entry.timeline.station_id, evse).key
        min_power = self.profiles.min_power(entry.site_id, key) if evse else 0.0
        for at, group in sorted(groups.items()):
            if transaction:
                delta = self._session(entry, transaction)
                if ENERGY_REGISTER in group:
                    delta.minimum("register_min_wh", group[ENERGY_REGISTER])
                    delta.maximum("register_max_wh", group[ENERGY_REGISTER])
                if POWER_IMPORT in group:
                    delta.maximum("peak_power_w", group[POWER_IMPORT])
            if min_power > 0 and evse:
                below = judge_power(
                    group.get(POWER_IMPORT),
                    group.get(POWER_OFFERED),
                    group.get(SOC),
                    min_power,
                    self.settings.soc_limit_percent,
                )
                if below is not None:
                    t = sample_time(at, envelope, self.settings.clock_skew_ms)
                    changes += entry.timeline.power(t, envelope.event_id, evse, below)
        return changes

    def _transaction(self, entry: StationEntry, envelope: events_pb2.EventEnvelope, t: int) -> None:
        tx = envelope.transaction
        if not tx.transaction_id:
            return
        evse = tx.evse_id or entry.tx_evse.get(tx.transaction_id, 0)
        delta = self._session(entry, tx.transaction_id)
        if evse:
            delta.fields["evse_id"] = evse
            delta.fields["connector_id"] = tx.connector_id or 1
        delta.minimum("started_ms", t)
        if tx.id_token:
            delta.fields["token_hash"] = token_hash(tx.id_token)
            delta.fields["token_type"] = tx.id_token_type
        if tx.meter_wh:
            delta.minimum("register_min_wh", tx.meter_wh)
            delta.maximum("register_max_wh", tx.meter_wh)
        if tx.kind == events_pb2.TransactionEvent.KIND_STARTED:
            if tx.meter_wh:
                delta.fields["meter_start_wh"] = tx.meter_wh
            if evse:
                entry.open_sessions[evse] = tx.transaction_id
                entry.tx_evse[tx.transaction_id] = evse
                entry.dirty = True
        elif tx.kind == events_pb2.TransactionEvent.KIND_ENDED:
            delta.maximum("ended_ms", t)
            if tx.meter_wh:
                delta.fields["meter_end_wh"] = tx.meter_wh
            if tx.stop_reason:
                delta.fields["stop_reason"] = tx.stop_reason
            entry.tx_evse.pop(tx.transaction_id, None)
            if evse and entry.open_sessions.get(evse) == tx.transaction_id:
                del entry.open_sessions[evse]
            entry.dirty = True
        elif evse and tx.transaction_id not in entry.tx_evse and evse not in entry.open_sessions:
            entry.open_sessions[evse] = tx.transaction_id
            entry.tx_evse[tx.transaction_id] = evse
            entry.dirty = True

    def _session(self, entry: StationEntry, transaction_id: str) -> SessionDelta:
        key = f"{entry.timeline.station_id}|{transaction_id}"
        delta = self.sessions.get(key)
        if delta is None:
            delta = self.sessions[key] = SessionDelta(key)
        delta.fields.update(
            station_id=entry.timeline.station_id, transaction_id=transaction_id, tenant_id=entry.tenant_id
        )
        return delta

    # -- incidents and alerts -------------------------------------------------------------------
    def _changed(
        self,
        entry: StationEntry,
        changes: Sequence[Change],
        event_id: str,
        live: bool,
        now: int,
        alerts: list[events_pb2.EventEnvelope],
    ) -> None:
        entry.dirty = True
        for change in changes:
            if change.rewritten:
                self.recomputes += 1
            entry.dirty_ports.add(change.evse_id)
            if change.segments:
                self._incidents(entry, change.evse_id, event_id, live, now, alerts)

    def _incidents(
        self,
        entry: StationEntry,
        evse: int,
        event_id: str,
        live: bool,
        now: int,
        alerts: list[events_pb2.EventEnvelope],
    ) -> None:
        port = entry.timeline.ports[evse]
        key = PortKey(entry.timeline.station_id, evse).key
        folded = {f.incident_id: f for f in incidents.fold(key, port.segments(), self.settings.flap_window_ms, now)}
        before = entry.incidents.get(evse, {})
        for incident_id, facts in folded.items():
            old = before.get(incident_id)
            if old is None or _differs(old, facts):
                entry.dirty_incidents[incident_id] = (evse, facts)
                entry.dirty_outages.add(evse)
            if not live or now - facts.opened_ms > self.settings.alert_horizon_ms:
                continue
            if old is None:
                alerts.append(self._alert(entry, evse, facts, event_id, opened=True))
                if facts.restored_ms is not None:
                    alerts.append(self._alert(entry, evse, facts, event_id, opened=False))
            elif old.restored_ms is None and facts.restored_ms is not None:
                alerts.append(self._alert(entry, evse, facts, event_id, opened=False))
            elif old.restored_ms is not None and facts.restored_ms is None:
                alerts.append(self._alert(entry, evse, facts, event_id, opened=True))
        for incident_id in before.keys() - folded.keys():
            entry.dirty_incidents[incident_id] = (evse, None)  # superseded by a recomputation
            entry.dirty_outages.add(evse)
        entry.incidents[evse] = folded

    def _alert(
        self, entry: StationEntry, evse: int, facts: IncidentFacts, event_id: str, *, opened: bool
    ) -> events_pb2.EventEnvelope:
        station = entry.timeline.station_id
        port = f"{station}/{evse}"
        kind = model.cause_kind(facts.cause)
        code = model.cause_error_code(facts.cause)
        what = f"{kind.replace('_', ' ')}{f' ({code})' if code else ''}"
        if opened:
            title = f"Port {port} is down: {what}"
            explanation = (
                f"Port {port} went down at {from_ms(facts.last_down_ms).isoformat()} ({facts.cause})"
                + (f"; outage {facts.flaps + 1} of a flapping incident" if facts.flaps else "")
                + ". It counts against the port's uptime until it recovers or an exclusion is approved."
            )
        else:
            assert facts.restored_ms is not None
            title = f"Port {port} recovered"
            explanation = (
                f"Port {port} recovered at {from_ms(facts.restored_ms).isoformat()} after "
                f"{facts.down_ms / 60_000:.1f} minutes down ({', '.join(facts.causes)})."
            )
        alert = events_pb2.Alert(
            alert_id=facts.incident_id,
            source_service=PRODUCER,
            rule="sla.port_down",
            severity=facts.severity,  # type: ignore[arg-type]
            title=title,
            explanation=explanation,
            subject_kind="port",
            subject_id=port,
            state=events_pb2.ALERT_STATE_OPEN if opened else events_pb2.ALERT_STATE_RESOLVED,
            evidence_event_ids=[event_id] if event_id else [],
        )
        changed_at = facts.last_down_ms if opened else (facts.restored_ms or facts.last_down_ms)
        alert.raised_at.FromDatetime(datetime.now(UTC))
        # Deterministic: the same change found again (a redelivered batch) raises the same event.
        event_id = f"{facts.incident_id}:{'open' if opened else 'resolved'}:{facts.flaps}"
        return alert_envelope(self.publisher, station, entry.tenant_id, alert, event_id, changed_at)

    # -- periodic work --------------------------------------------------------------------------
    def check_silence(self) -> list[events_pb2.EventEnvelope]:
        """Open silences for stations not heard from beyond their limit (by wall clock once caught up)."""
        now = self.now_ms()
        moment = now if self.caught_up else self.watermark
        alerts: list[events_pb2.EventEnvelope] = []
        for entry in self.stations.values():
            changes = entry.timeline.check_silence(moment)
            if changes:
                self._changed(entry, changes, "", True, now, alerts)
        return alerts

    def refresh_sites(self) -> None:
        for station_id, entry in self.stations.items():
            site = self.site_of(station_id)
            if site is not None and site != entry.site_id:
                entry.site_id = site
                entry.dirty = True
                entry.dirty_ports.update(entry.timeline.ports)
                entry.all_years.update(entry.timeline.ports)
                for evse, facts_by_id in entry.incidents.items():
                    for incident_id, facts in facts_by_id.items():
                        entry.dirty_incidents[incident_id] = (evse, facts)

    def _shrink(self, entry: StationEntry) -> None:
        """Freeze the older half of a station's observations when its tails grow past the limit."""
        timeline = entry.timeline
        times = sorted(_observation_times(timeline))
        keep = self.settings.tail_max // 2
        if len(times) > keep:
            timeline.freeze(times[len(times) - keep])
            entry.dirty = True

    def due_stations(self) -> list[str]:
        """Stations to write now: changed ones, and those with observations past the reorder horizon
        (frozen here, so snapshots stay small)."""
        horizon = self.now_ms() - self.settings.reorder_horizon_ms
        return [station_id for station_id, entry in self.stations.items() if _due(entry, horizon)]

    async def _due_stations_sliced(self) -> list[str]:
        """`due_stations`, yielding to the event loop every `_SLICE_STATIONS` stations."""
        horizon = self.now_ms() - self.settings.reorder_horizon_ms
        due: list[str] = []
        for number, (station_id, entry) in enumerate(list(self.stations.items()), 1):
            if _due(entry, horizon):
                due.append(station_id)
            if number % _SLICE_STATIONS == 0:
                await asyncio.sleep(0)
        return due

    def build_flush(self, station_ids: Sequence[str] | None = None) -> tuple[FlushBatch, str, list[str]]:
        """The writes of the given stations (default: every one due), built now from memory.

        Each station is serialized whole at one instant, so a snapshot always includes every event
        journaled before it was built. Returns the writes, the journal id they cover (when all due
        stations are included), and the stations they include (to mark dirty again should the writes
        fail). Session updates go with the first call after they were queued.
        """
        covered = self._journaled
        batch = FlushBatch([], [], [], [], [])
        flushed = self._build_stations(self.due_stations() if station_ids is None else station_ids, batch)
        self._take_sessions(batch)
        return batch, covered, flushed

    def _take_sessions(self, batch: FlushBatch) -> None:
        """Move the queued session updates into `batch` (requeued by `_unflushed` should it fail)."""
        self._flushing_sessions = list(self.sessions.values())
        self.sessions = {}
        batch.sessions.extend(delta.operation() for delta in self._flushing_sessions)

    def _build_stations(self, station_ids: Iterable[str], batch: FlushBatch) -> list[str]:
        """Add the writes of the given (dirty) stations to `batch`; returns the stations included."""
        now = self.now_ms()
        stations = batch.stations
        ports = batch.ports
        outages = batch.outages
        incident_ops = batch.incidents
        flushed: list[str] = []
        for station_id in station_ids:
            entry = self.stations.get(station_id)
            if entry is None or not entry.dirty:
                continue
            timeline = entry.timeline
            since = min(entry.written_boundary, timeline.boundary)
            timeline.forget_before(now - self.settings.retention_ms)
            flushed.append(station_id)
            stations.append(
                UpdateOne(
                    fence(station_id, self.gen),
                    {
                        "$set": {
                            "partition": self.partition,
                            "gen": self.gen,
                            "tenant_id": entry.tenant_id,
                            "site_id": entry.site_id,
                            "updated_ms": now,
                            "blob": codec.dump_timeline(timeline, entry.extra()),
                        }
                    },
                    upsert=True,
                )
            )
            for evse in entry.dirty_ports:
                port = timeline.ports.get(evse)
                if port is None or not port.seen:
                    continue
                key = PortKey(station_id, evse).key
                connector_id = min([*port.tails, *port.anchors] or [1])
                open_incident = next(
                    (f.incident_id for f in entry.incidents.get(evse, {}).values() if f.restored_ms is None), ""
                )
                state = (int(port.state), port.cause, port.since, port.first_seen, open_incident, *_owners(entry))
                if entry.written_states.get(evse) != state:
                    entry.written_states[evse] = state
                    ports.append(
                        UpdateOne(
                            {"_id": key},
                            {
                                "$set": {
                                    "station_id": station_id,
                                    "evse_id": evse,
                                    "connector_id": connector_id,
                                    "tenant_id": entry.tenant_id,
                                    "site_id": entry.site_id,
                                    "state": int(port.state),
                                    "cause": port.cause,
                                    "since_ms": port.since,
                                    "first_seen_ms": port.first_seen,
                                    "open_incident_id": open_incident,
                                    "updated_ms": now,
                                }
                            },
                            upsert=True,
                        )
                    )
                every_year = evse in entry.all_years or evse not in entry.written_ports
                if every_year or evse in entry.dirty_outages:
                    outages.extend(
                        _outage_operations(entry, evse, key, connector_id, now, every_year=every_year, since=since)
                    )
                entry.written_ports.add(evse)
            for incident_id, (evse, facts) in entry.dirty_incidents.items():
                incident_ops.append(_incident_operation(entry, evse, incident_id, facts, now))
            entry.dirty = False
            entry.dirty_ports = set()
            entry.dirty_incidents = {}
            entry.all_years = set()
            entry.dirty_outages = set()
            entry.written_boundary = timeline.boundary
        return flushed

    async def flush(self, chunk: int = 25) -> int:
        """Write what changed, a chunk of stations at a time; then drop the journal every written
        snapshot covers. Returns the stations written.

        The consumer shares this event loop, and an event waits for whatever runs when it arrives:
        so the stations due are found, and a chunk's writes built, `_SLICE_STATIONS` stations at a
        time with the loop given back in between (each station is still serialized whole at one
        instant), and the chunk's writes are awaited without holding the loop.
        """
        covered = self._journaled  # every event journaled so far is in memory before this pass starts
        due = await self._due_stations_sliced()
        written = 0
        for offset in range(0, max(1, len(due)), chunk):
            batch = FlushBatch([], [], [], [], [])
            chunk_ids = due[offset : offset + chunk]
            flushed: list[str] = []
            for start in range(0, len(chunk_ids), _SLICE_STATIONS):
                flushed += self._build_stations(chunk_ids[start : start + _SLICE_STATIONS], batch)
                await asyncio.sleep(0)
            self._take_sessions(batch)
            if batch:
                try:
                    await self.store.flush(batch)
                except Exception:
                    self._unflushed(flushed)
                    raise
            written += len(flushed)
        if covered:
            await self.store.set_covered(self.partition, self.gen, covered)
            if self.journal is not None:
                await self.journal.trim(covered)
        return written

    def _unflushed(self, flushed: Sequence[str]) -> None:
        """Write it all again next time (every write is an idempotent upsert)."""
        for station_id in flushed:
            entry = self.stations[station_id]
            entry.written_boundary = 0  # rewrite every year that may have changed
            entry.written_states.clear()
            entry.all_years.update(entry.timeline.ports)
            entry.dirty = True
            entry.dirty_ports.update(entry.timeline.ports)
            for evse, facts_by_id in entry.incidents.items():
                for incident_id, facts in facts_by_id.items():
                    entry.dirty_incidents.setdefault(incident_id, (evse, facts))
        for delta in self._flushing_sessions:
            self._requeue(delta)
        self._flushing_sessions = []

    def _requeue(self, delta: SessionDelta) -> None:
        merged = self.sessions.setdefault(delta.key, SessionDelta(delta.key))
        for name, value in delta.fields.items():
            merged.fields.setdefault(name, value)  # newer values (already queued) win
        for name, value in delta.mins.items():
            merged.minimum(name, value)
        for name, value in delta.maxs.items():
            merged.maximum(name, value)
        merged.errors.update(delta.errors)

    def port_state(self, station_id: str, evse: int) -> tuple[model.Availability, str] | None:
        entry = self.stations.get(station_id)
        port = entry.timeline.ports.get(evse) if entry else None
        return (port.state, port.cause) if port else None


def _due(entry: StationEntry, horizon: int) -> bool:
    """Whether a station is to be written: changed, or holding observations past the reorder
    horizon (frozen here, so snapshots stay small)."""
    timeline = entry.timeline
    if horizon > timeline.boundary:
        oldest = timeline.oldest_observation()
        if oldest is not None and oldest < horizon:
            timeline.freeze(horizon)
            entry.dirty = True
    return entry.dirty


def _owners(entry: StationEntry) -> tuple[str, str]:
    return entry.tenant_id, entry.site_id


def _differs(old: IncidentFacts, new: IncidentFacts) -> bool:
    if new.restored_ms is None and old.restored_ms is None:
        # An ongoing incident's down time grows with the clock: not a change worth a write.
        a, b = old.document(), new.document()
        a.pop("down_ms")
        b.pop("down_ms")
        return a != b
    return old.document() != new.document()


def _observation_times(timeline: StationTimeline) -> list[int]:
    times = [o[0] for o in timeline.conn] + [o[0] for o in timeline.station_obs]
    for port in timeline.ports.values():
        for tail in port.tails.values():
            times.extend(o[0] for o in tail)
        times.extend(o[0] for o in port.power)
    return times


def _year_of(ms_value: int) -> int:
    return datetime.fromtimestamp(ms_value / 1000, UTC).year


def _year_span(year: int) -> tuple[int, int]:
    return (
        int(datetime(year, 1, 1, tzinfo=UTC).timestamp() * 1000),
        int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp() * 1000),
    )


def _outage_operations(
    entry: StationEntry, evse: int, key: str, connector_id: int, now: int, *, every_year: bool, since: int
) -> list[UpdateOne]:
    """The port's packed outage segments per calendar year (UTC), for the years that may have changed.

    Only segments at or after the freeze boundary can change, so the years from the boundary's to
    now are written; every year of the port's retention when it is new or its site changed.
    """
    port = entry.timeline.ports[evse]
    segments = port.segments()
    current = _year_of(now)
    first = _year_of(port.first_seen) if every_year else _year_of(min(max(since, port.first_seen), now))
    operations = []
    for year in range(max(first, current - 2), current + 1):
        lo, hi = _year_span(year)
        if port.first_seen >= hi:
            continue
        clipped = []
        for segment in segments:
            if segment.start >= hi or (segment.end is not None and segment.end <= lo):
                continue
            end = segment.end
            if end is None and year < current:
                end = hi  # an outage still going on is closed at the end of the earlier years
            elif end is not None:
                end = min(end, hi)
            clipped.append(Segment(max(segment.start, lo), end, segment.cause))
        blob, causes = codec.pack_segments(clipped)
        operations.append(
            UpdateOne(
                {"_id": f"{key}|{year}"},
                {
                    "$set": {
                        "port_key": key,
                        "station_id": entry.timeline.station_id,
                        "evse_id": evse,
                        "connector_id": connector_id,
                        "tenant_id": entry.tenant_id,
                        "site_id": entry.site_id,
                        "year": year,
                        "first_seen_ms": port.first_seen,
                        "segs": blob,
                        "causes": causes,
                        "updated_ms": now,
                    }
                },
                upsert=True,
            )
        )
    return operations


def _incident_operation(
    entry: StationEntry, evse: int, incident_id: str, facts: IncidentFacts | None, now: int
) -> UpdateOne:
    if facts is None:
        return UpdateOne({"_id": incident_id}, {"$set": {"superseded": 1, "open": 0, "updated_ms": now}})
    station_id = entry.timeline.station_id
    port = entry.timeline.ports.get(evse)
    connector_id = min([*port.tails, *port.anchors] or [1]) if port else 1
    return UpdateOne(
        {"_id": incident_id},
        {
            "$set": {
                **facts.document(),
                "port_key": facts.port_key,
                "station_id": station_id,
                "evse_id": evse,
                "connector_id": connector_id,
                "tenant_id": entry.tenant_id,
                "site_id": entry.site_id,
                "open": 1 if facts.restored_ms is None else 0,
                "superseded": 0,
                "updated_ms": now,
            }
        },
        upsert=True,
    )


def alert_append(
    publisher: EventPublisher, envelope: events_pb2.EventEnvelope, on_added: Callable[[str], None]
) -> StreamAppend:
    """An alert as the entry the publisher would append (same stream, fields and length guard)."""
    return StreamAppend(
        publisher.stream_for(envelope),
        {
            "id": envelope.event_id,
            "type": envelope.event_type,
            "station": envelope.station_id,
            "traceparent": envelope.traceparent,
            "data": envelope.SerializeToString(),
        },
        max_len=publisher.max_len,
        family=StreamFamily.ALERT,
        on_added=on_added,
    )


def alert_envelope(
    publisher: EventPublisher | None,
    station_id: str,
    tenant_id: str,
    alert: events_pb2.Alert,
    event_id: str,
    at_ms: int,
) -> events_pb2.EventEnvelope:
    """An alert's envelope; built by the publisher when there is one (it records the trace context)."""
    if publisher is not None:
        return publisher.envelope(
            station_id, alert, tenant_id=tenant_id, station_time=from_ms(at_ms), event_id=event_id
        )
    envelope = events_pb2.EventEnvelope(
        event_id=event_id,
        event_type="alert.raised",
        schema_version=1,
        station_id=station_id,
        tenant_id=tenant_id,
        producer=PRODUCER,
    )
    envelope.alert.CopyFrom(alert)
    envelope.station_time.FromMilliseconds(at_ms)
    envelope.received_time.FromDatetime(datetime.now(UTC))
    return envelope
