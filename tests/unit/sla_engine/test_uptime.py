"""NEVI uptime (23 CFR 680.116(b)) on outages whose minutes are counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargewatch.sla_engine import hours
from chargewatch.sla_engine.hours import WeeklyWindow
from chargewatch.sla_engine.intervals import MINUTE_MS, SpanIndex, intersect, subtract, to_ms, total, union
from chargewatch.sla_engine.uptime import (
    NEVI_YEAR_MINUTES,
    PeriodKind,
    PortFigures,
    months_of,
    outages,
    period_window,
    port_figures,
)


def ms(*args: int) -> int:
    return to_ms(datetime(*args, tzinfo=UTC))  # type: ignore[misc]


def minutes(value: int) -> float:
    return value / MINUTE_MS


def test_an_outage_across_a_month_boundary_counts_in_each_month_to_the_minute() -> None:
    outage = [(ms(2026, 1, 31, 23, 0), ms(2026, 2, 1, 1, 30))]
    january = port_figures(
        outage, period_window(PeriodKind.MONTH, datetime(2026, 1, 10, tzinfo=UTC)), first_seen=0, now=ms(2027, 1, 1)
    )
    february = port_figures(
        outage, period_window(PeriodKind.MONTH, datetime(2026, 2, 10, tzinfo=UTC)), first_seen=0, now=ms(2027, 1, 1)
    )
    assert minutes(january.window_ms) == 31 * 1440 == 44_640
    assert minutes(january.outage_ms) == 60
    assert january.uptime_percent == pytest.approx((44_640 - 60) / 44_640 * 100)
    assert minutes(february.window_ms) == 28 * 1440 == 40_320
    assert minutes(february.outage_ms) == 90
    assert february.uptime_percent == pytest.approx((40_320 - 90) / 40_320 * 100)


def test_an_outage_across_new_year_counts_in_each_year_by_the_nevi_formula() -> None:
    outage = [(ms(2025, 12, 31, 22, 0), ms(2026, 1, 1, 3, 0))]
    year_2025 = port_figures(
        outage, period_window(PeriodKind.YEAR, datetime(2025, 6, 1, tzinfo=UTC)), first_seen=0, now=ms(2027, 1, 1)
    )
    assert minutes(year_2025.window_ms) == NEVI_YEAR_MINUTES
    assert minutes(year_2025.outage_ms) == 120
    # u = ((525,600 - (120 - 0)) / 525,600) x 100
    assert year_2025.uptime_percent == pytest.approx((525_600 - 120) / 525_600 * 100)
    january = port_figures(
        outage, period_window(PeriodKind.MONTH, datetime(2026, 1, 1, tzinfo=UTC)), first_seen=0, now=ms(2027, 1, 1)
    )
    assert minutes(january.outage_ms) == 180


def test_overlapping_exclusions_count_each_excluded_minute_once() -> None:
    # Down 10:00-14:00 (240 minutes). Utility interruption 09:00-11:00, maintenance 10:30-12:00 (overlaps
    # the first) and vandalism 13:00-13:30: excluded 10:00-12:00 and 13:00-13:30 = 150 minutes.
    day = (ms(2026, 5, 4), ms(2026, 5, 5))
    down = [(ms(2026, 5, 4, 10), ms(2026, 5, 4, 14))]
    excluded = [
        (ms(2026, 5, 4, 9), ms(2026, 5, 4, 11)),
        (ms(2026, 5, 4, 10, 30), ms(2026, 5, 4, 12)),
        (ms(2026, 5, 4, 13), ms(2026, 5, 4, 13, 30)),
        (ms(2026, 5, 4, 13), ms(2026, 5, 4, 13, 30)),  # declared twice
    ]
    figures = port_figures(down, day, first_seen=0, now=ms(2027, 1, 1), excluded=excluded)
    assert minutes(figures.outage_ms) == 240
    assert minutes(figures.excluded_ms) == 150
    assert minutes(figures.counted_outage_ms) == 90
    assert figures.uptime_percent == pytest.approx((1440 - 90) / 1440 * 100)


def test_an_exclusion_outside_any_outage_excludes_nothing() -> None:
    day = (ms(2026, 5, 4), ms(2026, 5, 5))
    figures = port_figures(
        [(ms(2026, 5, 4, 10), ms(2026, 5, 4, 11))],
        day,
        first_seen=0,
        now=ms(2027, 1, 1),
        excluded=[(ms(2026, 5, 4, 15), ms(2026, 5, 4, 18))],
    )
    assert (minutes(figures.outage_ms), figures.excluded_ms) == (60, 0)


def test_outages_outside_declared_hours_are_excluded_in_local_time() -> None:
    # Open Monday-Friday 08:00-20:00 Amsterdam time (CEST, UTC+2 in June). Down from Friday 19:00 to
    # Saturday 10:00 local: 19:00-20:00 counts, 20:00 Friday to 10:00 Saturday (14 h) is excluded.
    open_hours = [WeeklyWindow(day, 8 * 60, 20 * 60) for day in range(5)]
    june = period_window(PeriodKind.MONTH, datetime(2026, 6, 1, tzinfo=UTC))
    closed = SpanIndex(hours.closed_spans(open_hours, "Europe/Amsterdam", june))
    down = [(ms(2026, 6, 5, 17, 0), ms(2026, 6, 6, 8, 0))]  # Fri 19:00 - Sat 10:00 local
    figures = port_figures(down, june, first_seen=0, now=ms(2027, 1, 1), excluded_index=[closed])
    assert minutes(figures.outage_ms) == 15 * 60
    assert minutes(figures.excluded_ms) == 14 * 60
    assert minutes(figures.counted_outage_ms) == 60


def test_a_port_counts_from_its_first_status_and_up_to_now() -> None:
    january = (ms(2026, 1, 1), ms(2026, 2, 1))
    late_start = port_figures([], january, first_seen=ms(2026, 1, 16), now=ms(2027, 1, 1))
    assert minutes(late_start.window_ms) == 16 * 1440
    in_progress = port_figures([(ms(2026, 1, 10), None)], january, first_seen=ms(2025, 1, 1), now=ms(2026, 1, 10, 2))
    assert minutes(in_progress.window_ms) == 9 * 1440 + 120
    assert minutes(in_progress.outage_ms) == 120  # an ongoing outage counts up to now
    never_seen = port_figures([], january, first_seen=None, now=ms(2027, 1, 1))
    assert never_seen == PortFigures()
    assert never_seen.uptime_percent == 100.0


def test_touching_and_overlapping_segments_count_once() -> None:
    day = (ms(2026, 5, 4), ms(2026, 5, 5))
    down = [
        (ms(2026, 5, 4, 1), ms(2026, 5, 4, 2)),  # faulted
        (ms(2026, 5, 4, 2), ms(2026, 5, 4, 3)),  # then offline, touching
        (ms(2026, 5, 4, 2, 30), ms(2026, 5, 4, 3, 30)),  # overlapping (defensive)
    ]
    assert minutes(port_figures(down, day, first_seen=0, now=ms(2027, 1, 1)).outage_ms) == 150


def test_trailing_twelve_months_is_525600_minutes_or_a_leap_day_more() -> None:
    window = period_window(PeriodKind.TRAILING_12_MONTHS, datetime(2026, 3, 15, tzinfo=UTC))
    assert window == (ms(2025, 4, 1), ms(2026, 4, 1))
    assert minutes(window[1] - window[0]) == NEVI_YEAR_MINUTES
    leap = period_window(PeriodKind.TRAILING_12_MONTHS, datetime(2028, 3, 15, tzinfo=UTC))
    assert minutes(leap[1] - leap[0]) == NEVI_YEAR_MINUTES + 1440
    assert period_window(PeriodKind.QUARTER, datetime(2026, 8, 20, tzinfo=UTC)) == (ms(2026, 7, 1), ms(2026, 10, 1))
    assert months_of(period_window(PeriodKind.QUARTER, datetime(2026, 11, 1, tzinfo=UTC))) == [
        (ms(2026, 10, 1), ms(2026, 11, 1)),
        (ms(2026, 11, 1), ms(2026, 12, 1)),
        (ms(2026, 12, 1), ms(2027, 1, 1)),
    ]


def test_pooled_figures_are_the_uptime_of_all_port_minutes() -> None:
    a = PortFigures(window_ms=1000 * MINUTE_MS, outage_ms=30 * MINUTE_MS, excluded_ms=10 * MINUTE_MS)
    b = PortFigures(window_ms=1000 * MINUTE_MS, outage_ms=0, excluded_ms=0)
    pooled = a + b
    assert pooled.uptime_percent == pytest.approx((2000 - 20) / 2000 * 100)
    assert pooled.uptime_percent == pytest.approx((a.uptime_percent + b.uptime_percent) / 2)


def test_outage_episodes_join_touching_causes_and_keep_the_first() -> None:
    segments = [
        (ms(2026, 5, 4, 1), ms(2026, 5, 4, 2), "faulted:GroundFailure"),
        (ms(2026, 5, 4, 2), ms(2026, 5, 4, 3), "offline"),
        (ms(2026, 5, 4, 5), None, "unavailable"),
    ]
    day = (ms(2026, 5, 4), ms(2026, 5, 5))
    assert outages(segments, day, now=ms(2026, 5, 4, 6)) == [
        (ms(2026, 5, 4, 1), ms(2026, 5, 4, 3), "faulted:GroundFailure"),
        (ms(2026, 5, 4, 5), ms(2026, 5, 4, 6), "unavailable"),
    ]


def test_interval_set_operations() -> None:
    assert union([(5, 7), (1, 3), (2, 4), (7, 8)]) == [(1, 4), (5, 8)]
    assert intersect([(1, 4), (5, 8)], [(3, 6)]) == [(3, 4), (5, 6)]
    assert subtract([(0, 10), (20, 30)], [(2, 3), (5, 25)]) == [(0, 2), (3, 5), (25, 30)]
    assert total([(0, 10), (5, 15), (20, 21)]) == 16
