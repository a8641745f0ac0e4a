"""Occupancy from status changes bucketed by day: walking the day buckets gives exactly what the
whole list of changes gives, for any range."""

import random
from datetime import UTC, datetime

from chargewatch.telemetry.occupancy import (
    DAY_MS,
    HOUR_MS,
    HourTally,
    change_key,
    connector_tally,
    day_start,
    ordered_changes,
    utilization,
)
from chargewatch.v1 import common_pb2

AVAILABLE = common_pb2.CONNECTOR_STATUS_AVAILABLE
PREPARING = common_pb2.CONNECTOR_STATUS_PREPARING
CHARGING = common_pb2.CONNECTOR_STATUS_CHARGING
FINISHING = common_pb2.CONNECTOR_STATUS_FINISHING
FAULTED = common_pb2.CONNECTOR_STATUS_FAULTED
MONDAY_MS = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp() * 1000)


def by_day(changes: list[tuple[int, int]]) -> dict[int, list[list[int]]]:
    """As the store holds them: one bucket per day that has changes, each in event order."""
    days: dict[int, dict[str, list[int]]] = {}
    for index, (ms, status) in enumerate(changes):
        days.setdefault(day_start(ms), {})[f"{index:06d}"] = [ms, status]
    return {day: ordered_changes({"c": c}) for day, c in days.items()}


def tally_by_days(changes: list[tuple[int, int]], start: int, end: int) -> HourTally:
    """As `StatusDays.changes` + `Analytics.tallies` do it: the buckets of the range, and the
    last status of the last bucket before it."""
    days = by_day(changes)
    inside = {day: c for day, c in days.items() if day_start(start) <= day < end}
    earlier = [day for day in days if day < day_start(start)]
    before = days[max(earlier)][-1][1] if earlier else None
    return connector_tally(inside, before, start, end)


def tally_by_changes(changes: list[tuple[int, int]], start: int, end: int) -> HourTally:
    before = [status for ms, status in changes if ms < start]
    return utilization(changes, before[-1] if before else None, start, end)


def test_day_buckets_agree_with_the_changes_for_any_range() -> None:
    rng = random.Random(5)
    statuses = [AVAILABLE, PREPARING, CHARGING, FINISHING, FAULTED]
    for case in range(40):
        moment = MONDAY_MS + rng.randrange(DAY_MS)
        changes: list[tuple[int, int]] = []
        for _ in range(rng.randrange(1, 40)):
            # Mostly minutes apart, sometimes days (quiet connectors), sometimes the same instant.
            moment += rng.choice([0, rng.randrange(60_000, 4 * HOUR_MS), rng.randrange(DAY_MS, 4 * DAY_MS)])
            changes.append((moment, rng.choice(statuses)))
        for _ in range(25):
            start = MONDAY_MS - DAY_MS + rng.randrange(20 * DAY_MS)
            if rng.random() < 0.3:
                start = day_start(start)  # whole days only
            end = start + rng.randrange(1, 10 * DAY_MS)
            assert tally_by_days(changes, start, end) == tally_by_changes(changes, start, end), (case, start, end)


def test_a_synthetic_week_is_exact() -> None:
    # Every day: preparing 07:45-08:00, charging 08:00-09:30, finishing 09:30-10:00, else available;
    # Wednesday also faulted 14:00-15:20 (observed, neither occupied nor charging).
    changes: list[tuple[int, int]] = [(MONDAY_MS - 3 * DAY_MS, AVAILABLE)]
    for day in range(7):
        base = MONDAY_MS + day * DAY_MS
        changes += [
            (base + 7 * HOUR_MS + 45 * 60_000, PREPARING),
            (base + 8 * HOUR_MS, CHARGING),
            (base + 9 * HOUR_MS + 30 * 60_000, FINISHING),
            (base + 10 * HOUR_MS, AVAILABLE),
        ]
        if day == 2:
            changes += [(base + 14 * HOUR_MS, FAULTED), (base + 15 * HOUR_MS + 20 * 60_000, AVAILABLE)]
    tally = tally_by_days(changes, MONDAY_MS, MONDAY_MS + 7 * DAY_MS)
    assert tally.observed == [HOUR_MS] * 168
    assert tally.occupied_ratio == (7 * 2.25 * HOUR_MS) / (168 * HOUR_MS)
    assert tally.charging_ratio == (7 * 1.5 * HOUR_MS) / (168 * HOUR_MS)
    for day in range(7):
        assert tally.occupied[day * 24 + 7] == 15 * 60_000
        assert tally.charging[day * 24 + 7] == 0
        assert tally.occupied[day * 24 + 8] == tally.charging[day * 24 + 8] == HOUR_MS
        assert (tally.occupied[day * 24 + 9], tally.charging[day * 24 + 9]) == (HOUR_MS, 30 * 60_000)
        assert tally.occupied[day * 24 + 10] == 0
    assert sum(tally.occupied) == 7 * (2 * HOUR_MS + 15 * 60_000)


def test_a_quiet_connector_keeps_its_status_and_an_unknown_one_is_not_observed() -> None:
    changes = [(MONDAY_MS + HOUR_MS, CHARGING)]
    later = MONDAY_MS + 10 * DAY_MS
    tally = tally_by_days(changes, later, later + DAY_MS)  # no bucket in the range: it continues
    assert sum(tally.observed) == sum(tally.charging) == DAY_MS
    early = tally_by_days(changes, MONDAY_MS - DAY_MS, MONDAY_MS + 2 * HOUR_MS)
    assert sum(early.observed) == sum(early.charging) == HOUR_MS  # nothing before the first change
    assert early == tally_by_changes(changes, MONDAY_MS - DAY_MS, MONDAY_MS + 2 * HOUR_MS)


def test_changes_at_the_same_instant_are_ordered_by_event_id() -> None:
    at = MONDAY_MS + 5 * HOUR_MS
    document = {"c": {"b-event": [at, FAULTED], "a-event": [at, CHARGING], "c-event": [at - 1, AVAILABLE]}}
    assert ordered_changes(document) == [[at - 1, AVAILABLE], [at, CHARGING], [at, FAULTED]]
    assert change_key("0f3a9c") == "0f3a9c" and len(change_key("evt.with$dots")) == 64
