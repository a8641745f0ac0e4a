"""Reads for the API and reports: ports in a scope, their outages, exclusions and hours, and uptime.

Everything is read from the collections the partition owners write (state lags events by at most
a flush interval). Uptime of any scope is: the scope's ports (the `ports` collection), their
packed outage segments for the years the window touches (`outages`, one document per port and
year), the approved exclusions and the sites' declared hours, combined with interval arithmetic
in uptime.py. No minute-by-minute loops: the cost grows with outages, not with the window.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chargewatch.mongo import Document
from chargewatch.sla_engine import codec, hours
from chargewatch.sla_engine.access import BadRequest
from chargewatch.sla_engine.forecast import Budget, budget
from chargewatch.sla_engine.hours import WeeklyWindow
from chargewatch.sla_engine.intervals import Span, SpanIndex
from chargewatch.sla_engine.model import UP_STATES, Availability, PortKey
from chargewatch.sla_engine.profiles import SiteProfile
from chargewatch.sla_engine.store import SlaStore
from chargewatch.sla_engine.timeline import Segment
from chargewatch.sla_engine.uptime import PortFigures, counted_window, port_figures
from chargewatch.v1 import sla_pb2

APPROVED = sla_pb2.EXCLUSION_STATE_APPROVED


@dataclass(frozen=True, slots=True)
class Scope:
    """Which ports: the caller's tenant confinement plus what the request names."""

    tenant_id: str | None = None
    site_id: str | None = None
    station_id: str | None = None
    evse_id: int | None = None

    def port_filter(self) -> Document:
        conditions: Document = {}
        if self.tenant_id is not None:
            conditions["tenant_id"] = self.tenant_id
        if self.site_id is not None:
            conditions["site_id"] = self.site_id
        if self.station_id is not None:
            conditions["station_id"] = self.station_id
        if self.evse_id is not None:
            conditions["evse_id"] = self.evse_id
        return conditions


@dataclass(slots=True)
class PortRow:
    key: str
    station_id: str
    evse_id: int
    connector_id: int
    tenant_id: str
    site_id: str
    first_seen: int
    state: Availability
    cause: str
    since: int
    open_incident_id: str
    updated_ms: int

    @property
    def label(self) -> str:
        return f"{self.station_id}/{self.evse_id}"

    @classmethod
    def from_document(cls, document: Document) -> PortRow:
        return cls(
            key=str(document["_id"]),
            station_id=str(document.get("station_id", "")),
            evse_id=int(document.get("evse_id", 0)),
            connector_id=int(document.get("connector_id") or 1),
            tenant_id=str(document.get("tenant_id", "")),
            site_id=str(document.get("site_id", "")),
            first_seen=int(document.get("first_seen_ms") or 0),
            state=Availability(int(document.get("state", 0))),
            cause=str(document.get("cause", "")),
            since=int(document.get("since_ms") or 0),
            open_incident_id=str(document.get("open_incident_id", "")),
            updated_ms=int(document.get("updated_ms") or 0),
        )


@dataclass(slots=True)
class PortResult:
    row: PortRow
    figures: PortFigures
    target: float
    segments: list[Segment] = field(default_factory=list)

    @property
    def meets_target(self) -> bool:
        return self.figures.window_ms == 0 or self.figures.uptime_percent >= self.target


@dataclass(slots=True)
class UptimeResult:
    window: Span
    ports: list[PortResult]
    target: float

    @property
    def pooled(self) -> PortFigures:
        pooled = PortFigures()
        for port in self.ports:
            pooled = pooled + port.figures
        return pooled


def years_of(window: Span) -> list[int]:
    first = datetime.fromtimestamp(window[0] / 1000, UTC).year
    last = datetime.fromtimestamp(max(window[0], window[1] - 1) / 1000, UTC).year
    return list(range(first, last + 1))


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise BadRequest("page_token is not one this API issued") from error
    if not isinstance(values, list):
        raise BadRequest("page_token is not one this API issued")
    return values


class Queries:
    def __init__(self, store: SlaStore, *, default_target: float = 97.0) -> None:
        self.store = store
        self.default_target = default_target

    # -- ports -----------------------------------------------------------------------------------
    async def ports(self, scope: Scope) -> list[PortRow]:
        cursor = self.store.ports.find(scope.port_filter()).sort("_id", 1)
        return [PortRow.from_document(d) async for d in cursor]

    async def port(self, key: str, tenant_id: str | None) -> PortRow | None:
        document = await self.store.ports.find_one({"_id": key})
        if document is None or (tenant_id is not None and document.get("tenant_id") != tenant_id):
            return None
        return PortRow.from_document(document)

    async def segments(
        self, scope: Scope, window: Span, *, with_causes: bool, keys: Sequence[str] | None = None
    ) -> dict[str, list[Any]]:
        """Packed segments of the scope's ports (or of the `keys` given) for the years the window touches."""
        years = years_of(window)
        if keys is not None:
            conditions: Document = {"_id": {"$in": [f"{k}|{y}" for k in keys for y in years]}}
        else:
            conditions = scope.port_filter()
            conditions["year"] = {"$in": years}
        projection = {"port_key": 1, "segs": 1, "causes": 1} if with_causes else {"port_key": 1, "segs": 1}
        out: dict[str, Any] = {}
        async for document in self.store.outages.find(conditions, projection):
            blob = document.get("segs")
            if not blob:
                continue
            key = str(document["port_key"])
            if with_causes:
                pieces: list[Any] = codec.unpack_segments(blob, document.get("causes") or [])
            else:
                pieces = codec.unpack_spans(blob)
            out.setdefault(key, []).extend(pieces)
        return out

    async def exclusions(self, stations: Iterable[str] | None, window: Span, scope: Scope) -> dict[str, list[Span]]:
        """Approved exclusion periods overlapping the window, by port key ("STATION|0" covers a station)."""
        conditions: list[Document] = [
            {"state": APPROVED},
            {"start_ms": {"$lt": window[1]}},
            {"end_ms": {"$gt": window[0]}},
        ]
        if scope.tenant_id is not None:
            conditions.append({"tenant_id": scope.tenant_id})
        if scope.station_id is not None:
            conditions.append({"station_id": scope.station_id})
        wanted = set(stations) if stations is not None else None
        out: dict[str, list[Span]] = {}
        async for document in self.store.exclusions.find({"$and": conditions}):
            station = str(document["station_id"])
            if wanted is not None and station not in wanted:
                continue
            key = PortKey(station, int(document.get("evse_id", 0))).key
            out.setdefault(key, []).append((int(document["start_ms"]), int(document["end_ms"])))
        return out

    async def closed_hours(self, site_ids: Iterable[str], window: Span) -> dict[str, SpanIndex]:
        """Outside-declared-hours spans of each site with a profile that declares hours."""
        profiles = await self.store.profiles(s for s in site_ids if s)
        return {
            site_id: SpanIndex(hours.closed_spans(profile.hours, profile.timezone, window))
            for site_id, profile in profiles.items()
            if profile.hours
        }

    async def site_targets(self, site_ids: Iterable[str]) -> dict[str, SiteProfile]:
        return await self.store.profiles(s for s in site_ids if s)

    # -- uptime ----------------------------------------------------------------------------------
    async def uptime(
        self,
        scope: Scope,
        window: Span,
        now: int,
        *,
        with_segments: bool = False,
        maintenance: Sequence[WeeklyWindow] = (),
        maintenance_timezone: str = "UTC",
        rows: Sequence[PortRow] | None = None,
    ) -> UptimeResult:
        explicit = rows is not None
        rows = list(rows) if rows is not None else await self.ports(scope)
        if not rows:
            return UptimeResult(window, [], self.default_target)
        # Named ports (a contract's, the ones down now) are read by id; a scope by its indexed fields.
        keys = [r.key for r in rows] if explicit and len(rows) <= 2000 else None
        segments = await self.segments(scope, window, with_causes=with_segments, keys=keys)
        sites = {r.site_id for r in rows}
        closed = await self.closed_hours(sites, window)
        profiles = await self.site_targets(sites)
        stations = {r.station_id for r in rows}
        excluded = await self.exclusions(stations, window, scope)
        maintenance_index = (
            SpanIndex(hours.open_spans(maintenance, maintenance_timezone, window)) if maintenance else None
        )
        results = []
        for row in rows:
            pieces = segments.get(row.key, [])
            spans: list[tuple[int, int | None]] = [(s[0], s[1]) for s in pieces] if with_segments else pieces
            port_exclusions = excluded.get(row.key, []) + excluded.get(PortKey(row.station_id, 0).key, [])
            indexes = [i for i in (closed.get(row.site_id), maintenance_index) if i is not None]
            figures = port_figures(
                spans,
                window,
                first_seen=row.first_seen or None,
                now=now,
                excluded=port_exclusions,
                excluded_index=indexes,
            )
            profile = profiles.get(row.site_id)
            target = profile.target(self.default_target) if profile else self.default_target
            result = PortResult(row, figures, target)
            if with_segments:
                result.segments = sorted(pieces, key=lambda s: int(s[0]))
            results.append(result)
        return UptimeResult(window, results, self.default_target)

    async def forecast(
        self, scope: Scope, period: Span, now: int, target: float | None, *, rows: Sequence[PortRow] | None = None
    ) -> list[tuple[PortResult, Budget, bool]]:
        """Per port: figures so far this period, its budget over the whole period, and whether it is down now."""
        so_far = await self.uptime(scope, (period[0], min(period[1], max(period[0], now))), now, rows=rows)
        out = []
        for result in so_far.ports:
            full = counted_window(period, result.row.first_seen or None, period[1])
            period_ms = full[1] - full[0]
            goal = target or result.target
            remaining = budget(result.figures, period_ms, goal)
            down_now = result.row.state not in UP_STATES and result.row.state is not Availability.UNKNOWN
            out.append((PortResult(result.row, result.figures, goal), remaining, down_now))
        return out

    async def covered_outage_ms(self, station_id: str, evse_id: int, span: Span, now: int) -> int:
        """Outage time of a station's ports (or one port) inside `span`: what an exclusion would cover."""
        scope = Scope(station_id=station_id, evse_id=evse_id or None)
        rows = await self.ports(scope)
        segments = await self.segments(scope, span, with_causes=False)
        total_ms = 0
        for row in rows:
            figures = port_figures(
                segments.get(row.key, []),
                span,
                first_seen=row.first_seen or None,
                now=now,
            )
            total_ms += figures.outage_ms
        return total_ms
