"""Alerts that come from the clock rather than from an event: breaching incidents and budget forecasts.

- An open incident not acknowledged within its time to acknowledge, or not restored within its
  time to restore (from the contract covering its port, for its severity; else the service
  defaults), raises `sla.incident_acknowledge_overdue` / `sla.incident_restore_overdue` once.
- A port that is down while less than the warning share of its month's down-time budget is left
  raises `sla.uptime_at_risk` ("port X can be down at most 2 h 40 min more this month"), and
  `sla.uptime_below_target` once the budget is spent; once per port, month and kind.

Each alert is sent once however many replicas sweep: a mark is inserted first and only the replica
whose insert succeeds publishes (the mark's id is also the alert's event id).

Budgets are computed from the partition owner's memory (its ports' segments, the site profiles'
hours, and one query for the month's approved exclusions), so a sweep costs the store almost
nothing while the consumer is busy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chargewatch.sla_engine import contracts, forecast, hours, incidents
from chargewatch.sla_engine.convert import contract_from_document
from chargewatch.sla_engine.intervals import MINUTE_MS, SpanIndex, from_ms
from chargewatch.sla_engine.model import Availability, PortKey
from chargewatch.sla_engine.processor import PRODUCER, PartitionProcessor, StationEntry, alert_envelope
from chargewatch.sla_engine.profiles import ProfileCache
from chargewatch.sla_engine.queries import PortRow, Queries, Scope
from chargewatch.sla_engine.timeline import is_down
from chargewatch.sla_engine.uptime import PeriodKind, counted_window, month_label, period_window, port_figures
from chargewatch.streams import EventPublisher
from chargewatch.v1 import common_pb2, events_pb2

log = logging.getLogger(__name__)

DOWN_STATES = [
    int(s) for s in (Availability.FAULTED, Availability.UNAVAILABLE, Availability.OFFLINE, Availability.DEGRADED)
]


@dataclass(frozen=True, slots=True)
class SweepSettings:
    default_acknowledge_minutes: int = 30
    default_restore_minutes: int = 240
    warn_fraction: float = 0.25
    interval_s: float = 30.0
    retention_ms: int = 400 * 86_400_000
    retention_every_s: float = 3600.0


class Sweeper:
    def __init__(
        self,
        queries: Queries,
        publisher: EventPublisher | None,
        settings: SweepSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queries = queries
        self.store = queries.store
        self.publisher = publisher
        self.settings = settings
        self.clock = clock
        self._last = 0.0
        self._last_retention = 0.0
        self.alerts_sent = 0

    async def maybe_sweep(self, engine: object = None) -> None:
        if self.clock() - self._last >= self.settings.interval_s:
            self._last = self.clock()
            owned = getattr(engine, "owned", None)
            await self.sweep(
                getattr(engine, "processors", None),
                getattr(engine, "profiles", None),
                # Incidents are shared by every replica: one of them (partition 0's owner) looks for overdue ones.
                overdue=owned is None or 0 in owned,
            )

    async def sweep(
        self,
        processors: Sequence[PartitionProcessor] | None = None,
        profiles: ProfileCache | None = None,
        *,
        overdue: bool = True,
    ) -> list[events_pb2.EventEnvelope]:
        now = int(self.clock() * 1000)
        alerts = await self._overdue(now) if overdue else []
        if processors is not None:
            alerts += await self._budgets_in_memory(now, processors, profiles or ProfileCache())
        else:
            alerts += await self._budgets(now)
        if alerts and self.publisher is not None:
            await self.publisher.publish_many(alerts)
        self.alerts_sent += len(alerts)
        if self.clock() - self._last_retention >= self.settings.retention_every_s:
            self._last_retention = self.clock()
            await self.forget(now)
        return alerts

    async def forget(self, now: int) -> dict[str, int]:
        """Drop what is older than the retention: outage years, ended incidents, sessions, alert marks."""
        cutoff = now - self.settings.retention_ms
        oldest_year = from_ms(cutoff).year
        deleted = {
            "outages": (await self.store.outages.delete_many({"year": {"$lt": oldest_year}})).deleted_count,
            "incidents": (
                await self.store.incidents.delete_many(
                    {"$and": [{"open": 0}, {"last_down_ms": {"$lt": cutoff}}, {"opened_ms": {"$lt": cutoff}}]}
                )
            ).deleted_count,
            "sessions": (await self.store.sessions.delete_many({"started_ms": {"$lt": cutoff}})).deleted_count,
            "alert_marks": (await self.store.alert_marks.delete_many({"at_ms": {"$lt": cutoff}})).deleted_count,
        }
        if any(deleted.values()):
            log.info("history past the retention dropped", extra=deleted)
        return deleted

    async def _overdue(self, now: int) -> list[events_pb2.EventEnvelope]:
        known = [contract_from_document(d) async for d in self.store.contracts.find({})]
        limits = [self.settings.default_acknowledge_minutes, self.settings.default_restore_minutes]
        limits += [m for c in known for t in c.response_targets for m in (t.acknowledge_minutes, t.restore_minutes)]
        shortest = min((m for m in limits if m), default=0)
        if not shortest:
            return []
        alerts = []
        # Only incidents open longer than the shortest limit can be overdue.
        query = {"$and": [{"open": 1}, {"superseded": 0}, {"opened_ms": {"$lt": now - shortest * MINUTE_MS}}]}
        async for document in self.store.incidents.find(query):
            if incidents.is_resolved(document):
                continue
            station, site = str(document.get("station_id", "")), str(document.get("site_id", ""))
            severity = int(document.get("severity", 0))
            contract = next((c for c in known if c.covers(station, site) and c.target_for(severity)), None)
            target = contract.target_for(severity) if contract else None
            ack_limit = target.acknowledge_minutes if target else self.settings.default_acknowledge_minutes
            restore_limit = target.restore_minutes if target else self.settings.default_restore_minutes
            opened = int(document["opened_ms"])
            windows = contract.business_hours if contract else ()
            timezone = contract.timezone if contract else "UTC"
            if ack_limit and document.get("ack_ms") is None:
                taken = contracts.business_ms((opened, now), windows, timezone)
                if taken > ack_limit * MINUTE_MS:
                    alert = await self._once(
                        document, "acknowledge_overdue", f"not acknowledged within {ack_limit} minutes", taken
                    )
                    if alert is not None:
                        alerts.append(alert)
            if restore_limit:
                hours = windows if contract and contract.restore_in_business_hours else ()
                taken = contracts.business_ms((opened, now), hours, timezone)
                if taken > restore_limit * MINUTE_MS:
                    alert = await self._once(
                        document, "restore_overdue", f"not restored within {restore_limit} minutes", taken
                    )
                    if alert is not None:
                        alerts.append(alert)
        return alerts

    async def _once(
        self, document: dict[str, Any], kind: str, what: str, taken_ms: int
    ) -> events_pb2.EventEnvelope | None:
        incident_id = str(document["_id"])
        mark = f"{incident_id}:{kind}"
        if not await self.store.mark_once(mark, {"kind": kind, "at_ms": int(self.clock() * 1000)}):
            return None
        port = f"{document.get('station_id')}/{document.get('evse_id')}"
        alert = events_pb2.Alert(
            alert_id=mark,
            source_service=PRODUCER,
            rule=f"sla.incident_{kind}",
            severity=max(int(document.get("severity", 0)), common_pb2.SEVERITY_MEDIUM),  # type: ignore[arg-type]
            title=f"Incident on port {port} {what}",
            explanation=(
                f"Incident {incident_id} ({document.get('cause')}) opened at "
                f"{from_ms(int(document['opened_ms'])).isoformat()} is {what}: {taken_ms / MINUTE_MS:.0f} minutes "
                "counted so far."
            ),
            subject_kind="port",
            subject_id=port,
            state=events_pb2.ALERT_STATE_OPEN,
        )
        alert.raised_at.FromDatetime(datetime.now(UTC))
        return alert_envelope(
            self.publisher, str(document.get("station_id", "")), str(document.get("tenant_id", "")), alert, mark,
            int(self.clock() * 1000),
        )  # fmt: skip

    async def _budgets_in_memory(
        self, now: int, processors: Sequence[PartitionProcessor], profiles: ProfileCache
    ) -> list[events_pb2.EventEnvelope]:
        month = period_window(PeriodKind.MONTH, from_ms(now))
        down: list[tuple[StationEntry, int]] = [
            (entry, evse)
            for processor in processors
            for entry in processor.stations.values()
            for evse, port in entry.timeline.ports.items()
            if port.seen and is_down(port.state)
        ]
        if not down:
            return []
        excluded = await self.queries.exclusions({e.timeline.station_id for e, _ in down}, month, Scope())
        closed: dict[str, SpanIndex] = {}
        alerts = []
        label = month_label(month[0])
        for entry, evse in down:
            station = entry.timeline.station_id
            port = entry.timeline.ports[evse]
            profile = profiles.get(entry.site_id)
            if profile is not None and profile.hours and entry.site_id not in closed:
                closed[entry.site_id] = SpanIndex(hours.closed_spans(profile.hours, profile.timezone, month))
            index = closed.get(entry.site_id)
            figures = port_figures(
                [(s.start, s.end) for s in port.segments()],
                (month[0], max(month[0], min(month[1], now))),
                first_seen=port.first_seen,
                now=now,
                excluded=excluded.get(PortKey(station, evse).key, []) + excluded.get(PortKey(station, 0).key, []),
                excluded_index=[index] if index is not None else [],
            )
            full = counted_window(month, port.first_seen, month[1])
            target = profile.target(self.queries.default_target) if profile else self.queries.default_target
            remaining = forecast.budget(figures, full[1] - full[0], target)
            if not remaining.at_risk(self.settings.warn_fraction):
                continue
            row = PortRow(
                PortKey(station, evse).key, station, evse, 1, entry.tenant_id, entry.site_id, port.first_seen,
                port.state, port.cause, port.since, "", now,
            )  # fmt: skip
            alert = await self._budget_alert(row, remaining, label, now)
            if alert is not None:
                alerts.append(alert)
        return alerts

    async def _budget_alert(
        self, row: PortRow, remaining: forecast.Budget, label: str, now: int
    ) -> events_pb2.EventEnvelope | None:
        kind = "uptime_below_target" if remaining.exhausted else "uptime_at_risk"
        mark = f"{row.key}:{label}:{kind}"
        if not await self.store.mark_once(mark, {"kind": kind, "at_ms": now}):
            return None
        text = forecast.message(row.label, remaining, "this month")
        alert = events_pb2.Alert(
            alert_id=mark,
            source_service=PRODUCER,
            rule=f"sla.{kind}",
            severity=common_pb2.SEVERITY_HIGH if remaining.exhausted else common_pb2.SEVERITY_MEDIUM,
            title=text,
            explanation=(
                f"{text}. Target {remaining.target_percent:g}% over {label}: "
                f"{remaining.allowed_ms / MINUTE_MS:.0f} minutes of counted down time allowed, "
                f"{remaining.used_ms / MINUTE_MS:.0f} used; the port is down now ({row.cause})."
            ),
            subject_kind="port",
            subject_id=row.label,
            state=events_pb2.ALERT_STATE_OPEN,
        )
        alert.raised_at.FromDatetime(datetime.now(UTC))
        return alert_envelope(self.publisher, row.station_id, row.tenant_id, alert, mark, now)

    async def _budgets(self, now: int) -> list[events_pb2.EventEnvelope]:
        """The same from the store (a replica sweeping without owning partitions, and tests)."""
        rows = [PortRow.from_document(d) async for d in self.store.ports.find({"state": {"$in": DOWN_STATES}})]
        if not rows:
            return []
        month = period_window(PeriodKind.MONTH, from_ms(now))
        label = month_label(month[0])
        alerts = []
        for result, remaining, down_now in await self.queries.forecast(Scope(), month, now, None, rows=rows):
            if not down_now or not remaining.at_risk(self.settings.warn_fraction):
                continue
            alert = await self._budget_alert(result.row, remaining, label, now)
            if alert is not None:
                alerts.append(alert)
        return alerts
