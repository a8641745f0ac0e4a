"""Usage analytics: utilization by hour of week, energy per site per day, peak power, session
success rate and a ranking of high-demand sites.

The arithmetic is plain code over plain records (`occupancy.connector_tally`,
`connector_energy`, `demand`), so tests drive it with known inputs; `Analytics` only fetches
those records from MongoDB: occupancy from the per-connector-day documents of `occupancy`,
energy and power from the per-connector-day roll-up documents of `meters`.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chargewatch.mongo import Document
from chargewatch.telemetry.meters import Aggregate, MeterStore
from chargewatch.telemetry.occupancy import DAY_MS, HourTally, connector_tally
from chargewatch.telemetry.readings import connector_key
from chargewatch.telemetry.registry import StationRegistry
from chargewatch.telemetry.sessions import ENDED, SessionStore, successful


def connector_energy(aggregates: Sequence[Aggregate], start_ms: int, end_ms: int) -> dict[int, float]:
    """Energy per UTC day (day start ms -> Wh) from a connector's 15-minute roll-ups in time order.

    A bucket counts its register rises plus the rise since the previous bucket's last reading
    (a register that fell, e.g. a replaced meter, adds nothing). Buckets before `start` only
    provide that previous reading.
    """
    days: dict[int, float] = {}
    previous: Aggregate | None = None
    for bucket in aggregates:
        if start_ms <= bucket.start_ms < end_ms:
            delta = bucket.energy_delta_wh
            if (
                previous is not None
                and previous.energy_last_wh is not None
                and bucket.energy_first_wh is not None
                and bucket.energy_first_wh > previous.energy_last_wh
            ):
                delta += bucket.energy_first_wh - previous.energy_last_wh
            day = bucket.start_ms - bucket.start_ms % DAY_MS
            days[day] = days.get(day, 0.0) + delta
        if bucket.energy_last_wh is not None:
            previous = bucket
    return days


@dataclass(frozen=True)
class Demand:
    site_id: str
    occupied_ratio: float
    charging_ratio: float
    sessions: int
    back_to_back: int
    median_gap_seconds: float
    connectors: int

    @property
    def score(self) -> float:
        share = self.back_to_back / self.sessions if self.sessions else 0.0
        return self.occupied_ratio * (1.0 + share)


def demand(
    site_id: str, tally: HourTally, connectors: int, sessions: Iterable[Mapping[str, Any]], gap_ms: int
) -> Demand:
    """Sessions are back to back when one starts within `gap_ms` of the previous one's stop on
    the same connector; the median gap is over all consecutive pairs."""
    by_connector: dict[tuple[str, int, int], list[tuple[int, int | None]]] = {}
    count = 0
    for session in sessions:
        count += 1
        key = (session["station_id"], session.get("evse_id", 0), session.get("connector_id", 0))
        by_connector.setdefault(key, []).append((session["started_ms"], session.get("stopped_ms")))
    gaps: list[int] = []
    back_to_back = 0
    for runs in by_connector.values():
        runs.sort()
        for (_, stopped), (started, _) in itertools.pairwise(runs):
            if stopped is None:
                continue
            gap = max(0, started - stopped)
            gaps.append(gap)
            if gap <= gap_ms:
                back_to_back += 1
    return Demand(
        site_id,
        tally.occupied_ratio,
        tally.charging_ratio,
        count,
        back_to_back,
        statistics.median(gaps) / 1000 if gaps else 0.0,
        connectors,
    )


@dataclass
class SiteEnergy:
    days: dict[tuple[str, int], float] = field(default_factory=dict)
    day_peaks: dict[tuple[str, int], float] = field(default_factory=dict)
    peak_power_w: float = 0.0
    peak_connector: str = ""
    peak_at_ms: int = 0


@dataclass(frozen=True)
class ConnectorInfo:
    station_id: str
    site_id: str
    evse_id: int
    connector_id: int

    @property
    def key(self) -> str:
        return connector_key(self.station_id, self.evse_id, self.connector_id)


def station_connectors(stations: Iterable[Document]) -> list[ConnectorInfo]:
    """Charging connectors (not connector 0) known from status reports or declared specs."""
    found: dict[str, ConnectorInfo] = {}
    for station in stations:
        for source in (station.get("connectors", {}), station.get("connector_specs", {})):
            for entry in source.values():
                if entry["evse_id"] == 0:
                    continue
                info = ConnectorInfo(
                    station["_id"], station.get("site_id", ""), entry["evse_id"], entry["connector_id"]
                )
                found.setdefault(info.key, info)
    return sorted(found.values(), key=lambda c: c.key)


class Analytics:
    def __init__(self, registry: StationRegistry, meters: MeterStore, sessions: SessionStore) -> None:
        self.registry = registry
        self.meters = meters
        self.sessions = sessions

    async def tallies(self, connectors: Sequence[ConnectorInfo], start_ms: int, end_ms: int) -> dict[str, HourTally]:
        """Each connector's occupancy over [start, end), from its status days (fetched by `_id`)."""
        found = await self.registry.occupancy.changes([c.key for c in connectors], start_ms, end_ms)
        result: dict[str, HourTally] = {}
        for connector in connectors:
            before, days = found.get(connector.key, (None, {}))
            result[connector.key] = connector_tally(days, before, start_ms, end_ms)
        return result

    async def energy(self, connectors: Sequence[ConnectorInfo], start_ms: int, end_ms: int) -> SiteEnergy:
        report = SiteEnergy()
        if not connectors:
            return report
        site_of = {c.key: c.site_id for c in connectors}
        # One day earlier: the last reading before the range is where the first rise starts.
        rolled = await self.meters.rolled([c.key for c in connectors], start_ms - DAY_MS, end_ms)
        power_by_bucket: dict[tuple[str, int], float] = {}
        for connector in sorted(rolled):
            aggregates = rolled[connector]
            site = site_of[connector]
            for aggregate in aggregates:
                if not start_ms <= aggregate.start_ms < end_ms:
                    continue
                if aggregate.power_avg_w is not None:
                    slot = (site, aggregate.start_ms)
                    power_by_bucket[slot] = power_by_bucket.get(slot, 0.0) + aggregate.power_avg_w
                if aggregate.power_max_w is not None and aggregate.power_max_w > report.peak_power_w:
                    report.peak_power_w = aggregate.power_max_w
                    report.peak_connector = connector
                    report.peak_at_ms = aggregate.start_ms
            for day, wh in connector_energy(aggregates, start_ms, end_ms).items():
                report.days[(site, day)] = report.days.get((site, day), 0.0) + wh
        for (site, bucket), power in power_by_bucket.items():
            slot = (site, bucket - bucket % DAY_MS)
            report.day_peaks[slot] = max(report.day_peaks.get(slot, 0.0), power)
            report.days.setdefault(slot, 0.0)
        return report

    async def session_stats(
        self, station_ids: Sequence[str], start_ms: int, end_ms: int, min_energy_wh: float
    ) -> tuple[int, int, int, float, int]:
        """(sessions started in range, successful, refused authorizations, energy Wh, ended)."""
        sessions = [
            s for s in await self.sessions.in_window(station_ids, start_ms, end_ms) if s["started_ms"] >= start_ms
        ]
        good = sum(1 for s in sessions if successful(s, min_energy_wh))
        refused = await self.sessions.refused_authorizations(station_ids, start_ms, end_ms)
        energy = sum(s.get("energy_wh", 0.0) for s in sessions)
        ended = sum(1 for s in sessions if s.get("state") == ENDED)
        return len(sessions), good, refused, energy, ended

    async def demand(
        self, connectors: Sequence[ConnectorInfo], start_ms: int, end_ms: int, gap_ms: int
    ) -> list[Demand]:
        tallies = await self.tallies(connectors, start_ms, end_ms)
        by_site: dict[str, list[ConnectorInfo]] = {}
        for connector in connectors:
            by_site.setdefault(connector.site_id, []).append(connector)
        station_ids = sorted({c.station_id for c in connectors})
        sessions = await self.sessions.in_window(station_ids, start_ms, end_ms) if station_ids else []
        site_of_station = {c.station_id: c.site_id for c in connectors}
        results: list[Demand] = []
        for site, members in by_site.items():
            tally = HourTally()
            for member in members:
                tally.merge(tallies[member.key])
            site_sessions = [
                s for s in sessions if site_of_station.get(s["station_id"]) == site and s["started_ms"] >= start_ms
            ]
            results.append(demand(site, tally, len(members), site_sessions, gap_ms))
        return results


def day_label(day_ms: int) -> str:
    return datetime.fromtimestamp(day_ms / 1000, UTC).strftime("%Y-%m-%d")
