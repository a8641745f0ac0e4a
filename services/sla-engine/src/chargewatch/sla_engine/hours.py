"""Weekly opening hours in a site's time zone, turned into UTC spans (DST-correct, via zoneinfo).

Declared hours of operation exclude outages outside them from the uptime (23 CFR 680.116(b)); a
contract's business hours stop its response clocks; its maintenance windows exclude outages inside
them. All three are weekly windows in local time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chargewatch.sla_engine.intervals import DAY_MS, Span, from_ms, subtract, to_ms, union

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """From `start_minute` to `end_minute` (0-1440) of a local day, Monday = 0.

    An end at or before the start runs past midnight into the next day.
    """

    day: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.day <= 6:
            raise ValueError("day must be 0 (Monday) to 6 (Sunday)")
        if not (0 <= self.start_minute < MINUTES_PER_DAY and 0 <= self.end_minute <= MINUTES_PER_DAY):
            raise ValueError("minutes of the day are 0-1439 for the start and 0-1440 for the end")


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def _local_ms(day: date, minute: int, tz: ZoneInfo) -> int:
    # Adding a timedelta to a zoneinfo datetime is wall-clock arithmetic: the offset of the
    # resulting local time applies, so a window keeps its local hours across a DST change.
    return to_ms(datetime.combine(day, time(), tzinfo=tz) + timedelta(minutes=minute))


def open_spans(windows: Sequence[WeeklyWindow], timezone: str, span: Span) -> list[Span]:
    """The UTC spans inside `span` covered by the weekly windows."""
    start, end = span
    if start >= end or not windows:
        return []
    tz = zone(timezone)
    first = from_ms(start - DAY_MS).astimezone(tz).date()
    last = from_ms(end + DAY_MS).astimezone(tz).date()
    by_day: dict[int, list[WeeklyWindow]] = {}
    for window in windows:
        by_day.setdefault(window.day, []).append(window)
    spans: list[Span] = []
    day = first
    while day <= last:
        for window in by_day.get(day.weekday(), ()):
            end_minute = window.end_minute
            if end_minute <= window.start_minute:
                end_minute += MINUTES_PER_DAY
            local_start = _local_ms(day, window.start_minute, tz)
            local_end = _local_ms(day, end_minute, tz)
            lo, hi = max(local_start, start), min(local_end, end)
            if lo < hi:
                spans.append((lo, hi))
        day += timedelta(days=1)
    return union(spans)


def closed_spans(windows: Sequence[WeeklyWindow], timezone: str, span: Span) -> list[Span]:
    """The UTC spans inside `span` outside the weekly windows; none when no windows are declared (24/7)."""
    if not windows:
        return []
    return subtract([span], open_spans(windows, timezone, span)) if span[0] < span[1] else []


def always_open(windows: Sequence[WeeklyWindow]) -> bool:
    """True when the windows cover every minute of the week."""
    if not windows:
        return True
    week = open_spans(windows, "UTC", (_MONDAY_MS, _MONDAY_MS + 7 * DAY_MS))
    return week == [(_MONDAY_MS, _MONDAY_MS + 7 * DAY_MS)]


_MONDAY_MS = to_ms(datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC")))  # a Monday
