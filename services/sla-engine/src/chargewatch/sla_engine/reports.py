"""Reports per port, site, tenant or operator: uptime, NEVI quarterly data, KPIs, incidents.

Each report is a JSON document with every section; CSV gives one section as a table. Times are
ISO 8601 UTC, durations in minutes (three decimals: the underlying figures are exact to the
millisecond), energy in kWh and power in kW, as 23 CFR 680.112 asks.

NEVI quarterly (23 CFR 680.112(a)): per charging session its start and end, energy, peak power,
payment method and, when unsuccessful, its error codes; per charging port its uptime (23 CFR
680.116(b)), T_outage and T_excluded for each of the quarter's three months (with the trailing
twelve-month uptime NEVI's 97% floor applies to), and the duration of each outage.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from chargewatch.mongo import Document
from chargewatch.sla_engine import incidents, sessions
from chargewatch.sla_engine.intervals import MINUTE_MS, Span, from_ms
from chargewatch.sla_engine.model import cause_error_code, cause_kind
from chargewatch.sla_engine.queries import PortResult, Queries, Scope, UptimeResult
from chargewatch.sla_engine.sessions import SessionRecord
from chargewatch.sla_engine.uptime import PeriodKind, month_label, months_of, outages, period_window

JSON = "application/json"
CSV = "text/csv"


def iso(ms_value: int | None) -> str | None:
    return None if ms_value is None else from_ms(ms_value).isoformat().replace("+00:00", "Z")


def minutes(ms_value: int) -> float:
    return round(ms_value / MINUTE_MS, 3)


def quarter_label(window: Span) -> str:
    start = datetime.fromtimestamp(window[0] / 1000, UTC)
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def _window(window: Span) -> dict[str, Any]:
    return {"start": iso(window[0]), "end": iso(window[1])}


def port_uptime_row(result: PortResult) -> dict[str, Any]:
    row = result.row
    figures = result.figures
    return {
        "station_id": row.station_id,
        "evse_id": row.evse_id,
        "site_id": row.site_id,
        "tenant_id": row.tenant_id,
        "uptime_percent": round(figures.uptime_percent, 4),
        "window_minutes": minutes(figures.window_ms),
        "t_outage_minutes": minutes(figures.outage_ms),
        "t_excluded_minutes": minutes(figures.excluded_ms),
        "target_percent": result.target,
        "meets_target": result.meets_target,
    }


def outage_rows(result: PortResult, window: Span, now: int) -> list[dict[str, Any]]:
    rows = []
    for start, end, cause in outages(result.segments, window, now):
        rows.append(
            {
                "station_id": result.row.station_id,
                "evse_id": result.row.evse_id,
                "site_id": result.row.site_id,
                "start": iso(start),
                "end": iso(end) if end < now else None,
                "duration_minutes": minutes(end - start),
                "cause": cause_kind(cause),
                "error_code": cause_error_code(cause),
            }
        )
    return rows


def summary(result: UptimeResult) -> dict[str, Any]:
    pooled = result.pooled
    return {
        "uptime_percent": round(pooled.uptime_percent, 4),
        "window_minutes": minutes(pooled.window_ms),
        "t_outage_minutes": minutes(pooled.outage_ms),
        "t_excluded_minutes": minutes(pooled.excluded_ms),
        "ports": len(result.ports),
        "ports_below_target": sum(not p.meets_target for p in result.ports),
        "min_port_uptime_percent": round(min((p.figures.uptime_percent for p in result.ports), default=100.0), 4),
    }


def session_row(record: SessionRecord, min_energy_wh: float) -> dict[str, Any]:
    duration = (record.ended_ms - record.started_ms) if record.ended_ms and record.started_ms else None
    return {
        "station_id": record.station_id,
        "evse_id": record.evse_id,
        "session_id": record.transaction_id,
        "start": iso(record.started_ms),
        "end": iso(record.ended_ms),
        "duration_minutes": minutes(duration) if duration is not None else None,
        "energy_kwh": round(record.energy_wh / 1000.0, 3),
        "peak_power_kw": round(record.peak_power_w / 1000.0, 3),
        "payment_method": sessions.payment_method(record.token_type),
        "successful": record.successful(min_energy_wh),
        "error_codes": sessions.unsuccessful_codes(record, min_energy_wh),
    }


def incident_row(document: Document, now: int) -> dict[str, Any]:
    opened = int(document["opened_ms"])
    acked = document.get("ack_ms")
    resolved = incidents.resolved_at(document)
    return {
        "incident_id": document["_id"],
        "station_id": document.get("station_id"),
        "evse_id": document.get("evse_id"),
        "site_id": document.get("site_id"),
        "cause": document.get("cause"),
        "severity": document.get("severity"),
        "state": incidents.state_name(document),
        "opened_at": iso(opened),
        "acknowledged_at": iso(acked),
        "resolved_at": iso(resolved),
        "restored_at": iso(document.get("restored_ms")),
        "flaps": document.get("flaps", 0),
        "down_minutes": minutes(int(document.get("down_ms") or 0)),
        "minutes_to_acknowledge": minutes((acked or resolved or now) - opened),
        "minutes_to_restore": minutes((resolved or now) - opened),
    }


def render(
    kind: str, document: Mapping[str, Any], format_csv: bool, section: str, default_section: str
) -> tuple[str, str, bytes]:
    """(content type, file name, body)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if not format_csv:
        return JSON, f"{kind}-{stamp}.json", json.dumps(document, indent=2).encode()
    name = section or default_section
    table = document.get(name)
    if not isinstance(table, list):
        available = sorted(k for k, v in document.items() if isinstance(v, list))
        raise ValueError(f"no CSV section {name!r} in this report; choose one of {', '.join(available)}")
    return CSV, f"{kind}-{name}-{stamp}.csv", to_csv(table)


def to_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO()
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue().encode()


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class ReportBuilder:
    def __init__(self, queries: Queries, *, min_energy_wh: float, retry_window_ms: int) -> None:
        self.queries = queries
        self.store = queries.store
        self.min_energy_wh = min_energy_wh
        self.retry_window_ms = retry_window_ms

    async def sessions(self, stations: Iterable[str], scope: Scope, window: Span) -> list[SessionRecord]:
        conditions: list[Document] = [{"started_ms": {"$gte": window[0]}}, {"started_ms": {"$lt": window[1]}}]
        if scope.tenant_id is not None:
            conditions.append({"tenant_id": scope.tenant_id})
        if scope.station_id is not None:
            conditions.append({"station_id": scope.station_id})
        wanted = set(stations)
        records = []
        async for document in self.store.sessions.find({"$and": conditions}):
            record = SessionRecord.from_document(document)
            if record.station_id not in wanted:
                continue
            if scope.evse_id is not None and record.evse_id != scope.evse_id:
                continue
            records.append(record)
        return sessions.records_sorted(records)

    async def incident_documents(self, stations: Iterable[str], scope: Scope, window: Span) -> list[Document]:
        conditions: list[Document] = [
            {"opened_ms": {"$gte": window[0]}},
            {"opened_ms": {"$lt": window[1]}},
            {"superseded": 0},
        ]
        if scope.tenant_id is not None:
            conditions.append({"tenant_id": scope.tenant_id})
        if scope.station_id is not None:
            conditions.append({"station_id": scope.station_id})
        wanted = set(stations)
        out = []
        async for document in self.store.incidents.find({"$and": conditions}).sort("opened_ms", 1):
            if document.get("station_id") not in wanted:
                continue
            if scope.evse_id is not None and document.get("evse_id") != scope.evse_id:
                continue
            out.append(document)
        return out

    async def uptime(self, scope: Scope, window: Span, now: int) -> dict[str, Any]:
        result = await self.queries.uptime(scope, window, now, with_segments=True)
        return {
            "kind": "uptime",
            "rule": "23 CFR 680.116(b): ((525,600 - (T_outage - T_excluded)) / 525,600) x 100, per window",
            "generated_at": iso(now),
            "window": _window(window),
            "summary": summary(result),
            "ports": [port_uptime_row(p) for p in result.ports],
            "outages": [row for p in result.ports for row in outage_rows(p, window, now)],
        }

    async def nevi_quarterly(self, scope: Scope, at: datetime, now: int) -> dict[str, Any]:
        quarter = period_window(PeriodKind.QUARTER, at)
        rows = await self.queries.ports(scope)
        months = months_of(quarter)
        per_month: list[tuple[Span, UptimeResult, UptimeResult]] = []
        for month in months:
            monthly = await self.queries.uptime(scope, month, now, rows=rows)
            trailing = period_window(PeriodKind.TRAILING_12_MONTHS, from_ms(month[0]))
            annual = await self.queries.uptime(scope, trailing, now, rows=rows)
            per_month.append((month, monthly, annual))
        with_outages = await self.queries.uptime(scope, quarter, now, with_segments=True, rows=rows)
        stations = {r.station_id for r in rows}
        records = await self.sessions(stations, scope, quarter)
        month_rows = []
        for month, monthly, annual in per_month:
            annual_by_key = {p.row.key: p for p in annual.ports}
            for port in monthly.ports:
                yearly = annual_by_key.get(port.row.key)
                month_rows.append(
                    {
                        "station_id": port.row.station_id,
                        "evse_id": port.row.evse_id,
                        "site_id": port.row.site_id,
                        "month": month_label(month[0]),
                        "uptime_percent": round(port.figures.uptime_percent, 4),
                        "t_outage_minutes": minutes(port.figures.outage_ms),
                        "t_excluded_minutes": minutes(port.figures.excluded_ms),
                        "window_minutes": minutes(port.figures.window_ms),
                        "trailing_12_month_uptime_percent": round(yearly.figures.uptime_percent, 4) if yearly else None,
                    }
                )
        return {
            "kind": "nevi_quarterly",
            "regulation": "23 CFR 680.112(a); uptime per 23 CFR 680.116(b)",
            "quarter": quarter_label(quarter),
            "generated_at": iso(now),
            "window": _window(quarter),
            "stations": sorted(stations),
            "sessions": [session_row(r, self.min_energy_wh) for r in records],
            "months": month_rows,
            "outages": [row for p in with_outages.ports for row in outage_rows(p, quarter, now)],
        }

    async def kpis(self, scope: Scope, window: Span, now: int) -> dict[str, Any]:
        result = await self.queries.uptime(scope, window, now)
        stations = {p.row.station_id for p in result.ports}
        records = await self.sessions(stations, scope, window)
        stats = sessions.kpis(records, self.min_energy_wh, self.retry_window_ms)
        documents = await self.incident_documents(stations, scope, window)
        acks = [int(d["ack_ms"]) - int(d["opened_ms"]) for d in documents if d.get("ack_ms") is not None]
        restores = [
            resolved - int(d["opened_ms"]) for d in documents if (resolved := incidents.resolved_at(d)) is not None
        ]
        pooled = result.pooled
        figures = {
            "port_uptime_percent": round(pooled.uptime_percent, 4),
            "ports": len(result.ports),
            "ports_meeting_target": sum(p.meets_target for p in result.ports),
            "charging_sessions": stats.sessions,
            "successful_sessions": stats.successful,
            "successful_session_rate": round(stats.success_rate, 4),
            "charging_visits": stats.visits,
            "first_attempt_success_rate": round(stats.first_attempt_success_rate, 4),
            "energy_kwh": round(stats.energy_wh / 1000.0, 3),
            "incidents": len(documents),
            "incidents_open": sum(not incidents.is_resolved(d) for d in documents),
            "mean_time_to_acknowledge_minutes": minutes(sum(acks) // len(acks)) if acks else None,
            "mean_time_to_restore_minutes": minutes(sum(restores) // len(restores)) if restores else None,
        }
        return {
            "kind": "kpi",
            "style": "ChargeX consortium reliability KPIs, where ChargeWatch's data supports them",
            "generated_at": iso(now),
            "window": _window(window),
            "figures": figures,
            "kpis": [{"metric": k, "value": v} for k, v in figures.items()],
            "definitions": {
                "successful_session_rate": (
                    f"ended sessions that delivered at least {self.min_energy_wh:g} Wh, did not stop on a failure "
                    "reason and saw no fault on their port, over all ended sessions"
                ),
                "first_attempt_success_rate": (
                    "charging visits (a driver's attempts at one station, a retry starting within "
                    f"{self.retry_window_ms // 60_000} minutes of the previous attempt's end) whose first session "
                    "succeeded, over all visits"
                ),
                "not_counted": "authorizations refused before a session started (see telemetry's session stats)",
            },
        }

    async def incidents(self, scope: Scope, window: Span, now: int) -> dict[str, Any]:
        rows = await self.queries.ports(scope)
        documents = await self.incident_documents({r.station_id for r in rows}, scope, window)
        return {
            "kind": "incidents",
            "generated_at": iso(now),
            "window": _window(window),
            "incidents": [incident_row(d, now) for d in documents],
        }
