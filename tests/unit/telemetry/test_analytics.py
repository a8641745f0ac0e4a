"""Utilization by hour of week, energy per day and demand, on known inputs."""

from datetime import UTC, datetime, timedelta

import pytest

from chargewatch.telemetry.analytics import connector_energy, demand
from chargewatch.telemetry.meters import BUCKET_MS, Aggregate, aggregate_readings, merge_buckets
from chargewatch.telemetry.occupancy import HOUR_MS, HourTally, hour_of_week, utilization
from chargewatch.v1 import common_pb2

AVAILABLE = common_pb2.CONNECTOR_STATUS_AVAILABLE
CHARGING = common_pb2.CONNECTOR_STATUS_CHARGING
FINISHING = common_pb2.CONNECTOR_STATUS_FINISHING
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
MONDAY_MS = int(MONDAY.timestamp() * 1000)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_hour_of_week_starts_on_monday_midnight_utc() -> None:
    assert hour_of_week(MONDAY_MS) == 0
    assert hour_of_week(MONDAY_MS + 25 * HOUR_MS + 59_999) == 25
    assert hour_of_week(ms(MONDAY + timedelta(days=6, hours=23, minutes=30))) == 167
    assert hour_of_week(ms(MONDAY + timedelta(days=7))) == 0


def test_a_synthetic_week_gives_exact_ratios() -> None:
    # Every day: charging 08:00-09:30, finishing 09:30-10:00, otherwise available.
    changes = []
    for day in range(7):
        base = MONDAY + timedelta(days=day)
        changes += [
            (ms(base + timedelta(hours=8)), CHARGING),
            (ms(base + timedelta(hours=9, minutes=30)), FINISHING),
            (ms(base + timedelta(hours=10)), AVAILABLE),
        ]
    end = MONDAY_MS + 7 * 24 * HOUR_MS
    tally = utilization(reversed(changes), AVAILABLE, MONDAY_MS, end)
    assert tally.occupied_ratio == pytest.approx(2 / 24)
    assert tally.charging_ratio == pytest.approx(1.5 / 24)
    cells = {slot: cell for slot, *cell in tally.cells()}
    for day in range(7):
        assert cells[day * 24 + 8] == [3600.0, 1.0, 1.0]
        assert cells[day * 24 + 9] == [3600.0, 1.0, 0.5]
        assert cells[day * 24 + 10] == [3600.0, 0.0, 0.0]


def test_time_before_the_first_known_status_is_not_observed() -> None:
    tally = utilization([(MONDAY_MS + HOUR_MS // 2, CHARGING)], None, MONDAY_MS, MONDAY_MS + HOUR_MS)
    assert tally.observed[0] == HOUR_MS // 2 and tally.charging_ratio == 1.0


def readings(values: list[tuple[int, float, float]]) -> list[dict[str, object]]:
    return [{"t": ms(MONDAY + timedelta(minutes=minute)), "e": wh, "p": w, "x": "tx"} for minute, wh, w in values]


def test_rollups_and_daily_energy_count_every_rise_once() -> None:
    # Day 1 23:50 .. day 2 00:20, register rising 100 Wh a minute; one fall (meter swap) adds nothing.
    values = [(24 * 60 - 10 + i, 1000.0 + 100 * i, 6000.0) for i in range(31)]
    values.append((24 * 60 + 25, 50.0, 6000.0))
    values.append((24 * 60 + 26, 150.0, 7000.0))
    buckets = aggregate_readings(readings(values), BUCKET_MS)
    assert sum(b.samples for b in buckets) == 33
    days = connector_energy(buckets, MONDAY_MS, MONDAY_MS + 3 * 24 * HOUR_MS)
    tuesday = MONDAY_MS + 24 * HOUR_MS
    assert days[MONDAY_MS] == 900.0  # 23:50..23:59: nine rises
    assert days[tuesday] == 2100.0 + 100.0  # 00:00..00:20 and the rise after the swap
    # Merging into hours keeps the totals and the peak.
    hourly = merge_buckets(buckets, HOUR_MS)
    assert sum(h.energy_delta_wh for h in hourly) + (hourly[1].energy_first_wh - hourly[0].energy_last_wh) == 3100.0
    assert max(h.power_max_w or 0 for h in hourly) == 7000.0


def test_rollup_slots_round_trip() -> None:
    (bucket,) = aggregate_readings(readings([(0, 10.0, 1.0), (1, 20.0, 3.0)]), BUCKET_MS)
    bucket.flags.update({"gap", "clock_skew"})
    again = Aggregate.from_slot(bucket.start_ms, bucket.slot())
    assert again == bucket and again.power_avg_w == 2.0 and again.slot() == bucket.slot()
    assert again.soc_last_percent is None and again.current_count == 0
    # Registers as sent (no rounding), every None kept, separators inside a flag neutralised.
    odd = Aggregate(BUCKET_MS, 3, 123456.789012345, 0.1 + 0.2, 1e-7, 2.5, 1, 7000.0, flags={"a,b;c"})
    back = Aggregate.from_slot(odd.start_ms, odd.slot())
    assert (back.energy_first_wh, back.energy_last_wh, back.energy_delta_wh) == (123456.789012345, 0.1 + 0.2, 0.0)
    assert back.power_max_w == 7000.0 and back.temperature_max_c is None and back.flags == {"a_b_c"}


def test_demand_counts_back_to_back_sessions_and_median_gap() -> None:
    hour = HOUR_MS
    sessions = [
        {"station_id": "A", "evse_id": 1, "connector_id": 1, "started_ms": 0, "stopped_ms": hour},
        {"station_id": "A", "evse_id": 1, "connector_id": 1, "started_ms": hour + 300_000, "stopped_ms": 2 * hour},
        {"station_id": "A", "evse_id": 1, "connector_id": 1, "started_ms": 4 * hour, "stopped_ms": 5 * hour},
        {"station_id": "A", "evse_id": 2, "connector_id": 1, "started_ms": 0, "stopped_ms": None},
    ]
    tally = HourTally()
    tally.add_interval(0, 4 * hour, CHARGING)
    tally.add_interval(4 * hour, 8 * hour, AVAILABLE)
    result = demand("site", tally, 2, sessions, 900_000)
    assert (result.sessions, result.back_to_back) == (4, 1)
    assert result.median_gap_seconds == (300 + 7200) / 2
    assert result.occupied_ratio == 0.5
    assert result.score == pytest.approx(0.5 * 1.25)
