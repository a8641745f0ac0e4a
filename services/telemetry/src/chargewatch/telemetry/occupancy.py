"""Connector occupancy by hour of week, from status changes bucketed per connector and UTC day.

A connector is *occupied* while a vehicle is plugged in (Preparing, Charging, SuspendedEV/EVSE,
Finishing, Occupied) and *charging* while Charging. Time before the first known status of a
connector is not observed and counts in neither numerator nor denominator. Hours of the week are
UTC, 0 = Monday 00:00-01:00. All arithmetic is in integer milliseconds, so ratios are exact.

Storage (read by `_id` only: the local MongoDB-wire store answers nothing else from an index):

* `status_days`: one document per connector and UTC day on which its status changed, `_id` =
  "<station>|<evse>|<connector>|<day ms>", the changes under `c.<event id>` = [ms, status].
* `status_index`: one document per connector, `_id` = "<station>|<evse>|<connector>", naming
  the days that have a `status_days` document (`d.<day ms>`).

Recording a change sets two fields keyed by the event id and the day, so redelivery and
reordering leave the same documents; nothing is derived at write time. A heat map reads each
connector's index and the day documents of its range plus the last one before it (the status in
force at the start), then walks the days: a day without a document keeps the status it began
with. A 30-day heat map of a 20-connector site reads about 650 small documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.mongo import Document, IndexSpec
from chargewatch.telemetry.keys import field_key, find_by_ids
from chargewatch.v1 import common_pb2

STATUS_DAYS = "status_days"
STATUS_INDEX = "status_index"
HOURS_PER_WEEK = 168
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
OCCUPIED_STATUSES = frozenset(
    {
        common_pb2.CONNECTOR_STATUS_PREPARING,
        common_pb2.CONNECTOR_STATUS_CHARGING,
        common_pb2.CONNECTOR_STATUS_SUSPENDED_EVSE,
        common_pb2.CONNECTOR_STATUS_SUSPENDED_EV,
        common_pb2.CONNECTOR_STATUS_FINISHING,
        common_pb2.CONNECTOR_STATUS_OCCUPIED,
    }
)
CHARGING_STATUSES = frozenset({common_pb2.CONNECTOR_STATUS_CHARGING})


def indexes(history_days: int) -> list[IndexSpec]:
    """TTL only: every read is by `_id`."""
    return [IndexSpec(STATUS_DAYS, [("day", 1)], name="ttl", expire_after_seconds=history_days * 86_400)]


def hour_of_week(ms: int) -> int:
    hours = ms // HOUR_MS
    weekday = (hours // 24 + 3) % 7  # 1970-01-01 was a Thursday
    return int(weekday * 24 + hours % 24)


def day_start(ms: int) -> int:
    return ms - ms % DAY_MS


@dataclass
class HourTally:
    """Milliseconds observed, occupied and charging, per hour of week."""

    observed: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    occupied: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    charging: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)

    def add_interval(self, start_ms: int, end_ms: int, status: int) -> None:
        is_occupied = status in OCCUPIED_STATUSES
        is_charging = status in CHARGING_STATUSES
        moment = start_ms
        while moment < end_ms:
            boundary = min(end_ms, (moment // HOUR_MS + 1) * HOUR_MS)
            slot = hour_of_week(moment)
            span = boundary - moment
            self.observed[slot] += span
            if is_occupied:
                self.occupied[slot] += span
            if is_charging:
                self.charging[slot] += span
            moment = boundary

    def merge(self, other: HourTally) -> None:
        for slot in range(HOURS_PER_WEEK):
            self.observed[slot] += other.observed[slot]
            self.occupied[slot] += other.occupied[slot]
            self.charging[slot] += other.charging[slot]

    @property
    def occupied_ratio(self) -> float:
        total = sum(self.observed)
        return sum(self.occupied) / total if total else 0.0

    @property
    def charging_ratio(self) -> float:
        total = sum(self.observed)
        return sum(self.charging) / total if total else 0.0

    def cells(self) -> list[tuple[int, float, float, float]]:
        """(hour of week, observed seconds, occupied ratio, charging ratio) for all 168 hours."""
        return [
            (
                slot,
                self.observed[slot] / 1000,
                self.occupied[slot] / self.observed[slot] if self.observed[slot] else 0.0,
                self.charging[slot] / self.observed[slot] if self.observed[slot] else 0.0,
            )
            for slot in range(HOURS_PER_WEEK)
        ]


def utilization(
    changes: Iterable[Sequence[int]],
    initial_status: int | None,
    start_ms: int,
    end_ms: int,
    *,
    into: HourTally | None = None,
) -> HourTally:
    """A connector's tally over [start, end) from its status changes (ms, status), added to `into`
    (a new tally when None).

    `initial_status` is the status in force at `start` (the last change before it), if known.
    Changes are taken in time order; changes at the same instant keep the order given (the
    stores give them in event-id order, the registry's tie-break), so the last one wins.
    """
    tally = into if into is not None else HourTally()
    current = initial_status
    since = start_ms
    for at_ms, status in sorted((c for c in changes if start_ms <= c[0] < end_ms), key=lambda c: c[0]):
        if current is not None and at_ms > since:
            tally.add_interval(since, at_ms, current)
        current, since = status, at_ms
    if current is not None and end_ms > since:
        tally.add_interval(since, end_ms, current)
    return tally


def connector_tally(
    days: Mapping[int, Sequence[Sequence[int]]], before: int | None, start_ms: int, end_ms: int
) -> HourTally:
    """A connector's tally over [start, end) from its changes by day (day start ms -> [ms, status]
    in order) and the status in force before the first of those days (`before`)."""
    tally = HourTally()
    carry = before
    day = day_start(start_ms)
    while day < end_ms:
        low, high = max(start_ms, day), min(end_ms, day + DAY_MS)
        changes = days.get(day)
        if changes:
            at_low = carry
            for ms, status in changes:
                if ms >= low:
                    break
                at_low = status
            utilization(changes, at_low, low, high, into=tally)
            carry = changes[-1][1]
        elif carry is not None:
            tally.add_interval(low, high, carry)
        day += DAY_MS
    return tally


def change_key(event_id: str) -> str:
    """The change's key inside its day document: its event id (see `keys.field_key`)."""
    return field_key(event_id)


def ordered_changes(document: Mapping[str, Any]) -> list[list[int]]:
    """A day document's changes in time order, ties in event-id order (the registry's: the last wins)."""
    return [list(value) for _, value in sorted(document.get("c", {}).items(), key=lambda kv: (kv[1][0], kv[0]))]


class StatusDays:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.days = db[STATUS_DAYS]
        self.index = db[STATUS_INDEX]

    async def record(
        self, station_id: str, evse_id: int, connector_id: int, event_id: str, at_ms: int, status: int
    ) -> None:
        """Keep one status change (idempotent: the same event sets the same two fields)."""
        connector = f"{station_id}|{evse_id}|{connector_id}"
        day = day_start(at_ms)
        await self.days.update_one(
            {"_id": f"{connector}|{day}"},
            {
                "$set": {f"c.{change_key(event_id)}": [at_ms, status]},
                # The day only on insert: the local store turns a datetime written by $set on an
                # existing document into a string, and the TTL index needs a datetime.
                "$setOnInsert": {
                    "station_id": station_id,
                    "evse_id": evse_id,
                    "connector_id": connector_id,
                    "day": datetime.fromtimestamp(day / 1000, UTC),
                },
            },
            upsert=True,
        )
        # After the day document: a day the index names always has one (until it expires).
        await self.index.update_one({"_id": connector}, {"$set": {f"d.{day}": 1}}, upsert=True)

    async def changes(
        self, connectors: Sequence[str], start_ms: int, end_ms: int
    ) -> dict[str, tuple[int | None, dict[int, list[list[int]]]]]:
        """connector ("<station>|<evse>|<connector>") -> (status in force before the range's first
        day, changes by day within [start, end)). Connectors never seen are left out."""
        first_day = day_start(start_ms)
        indexes = await find_by_ids(self.index, connectors)
        wanted: list[str] = []
        plan: dict[str, tuple[int | None, list[int]]] = {}
        for connector, document in indexes.items():
            known = sorted(int(day) for day in document.get("d", {}))
            earlier = [day for day in known if day < first_day]
            inside = [day for day in known if first_day <= day < end_ms]
            before_day = earlier[-1] if earlier else None
            plan[connector] = (before_day, inside)
            wanted += [f"{connector}|{day}" for day in ([before_day] if before_day is not None else []) + inside]
        documents = await find_by_ids(self.days, wanted)
        result: dict[str, tuple[int | None, dict[int, list[list[int]]]]] = {}
        for connector, (before_day, inside) in plan.items():
            before: int | None = None
            if before_day is not None and (found := documents.get(f"{connector}|{before_day}")) is not None:
                ordered = ordered_changes(found)
                before = ordered[-1][1] if ordered else None
            by_day = {
                day: ordered_changes(documents[f"{connector}|{day}"])
                for day in inside
                if f"{connector}|{day}" in documents
            }
            result[connector] = (before, by_day)
        return result
