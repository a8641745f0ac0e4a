"""Uptime by the NEVI rule (23 CFR 680.116(b)), for any window: plain functions, no I/O.

    u = ((525,600 - (T_outage - T_excluded)) / 525,600) x 100

per port, where 525,600 is the minutes of a year. For any other window the window's minutes take
its place. T_outage is the port's down time inside the window; T_excluded the part of it that falls
inside an approved exclusion, outside the station's declared hours of operation, or (for a contract)
inside a maintenance window - each minute once, however many of those cover it. A port counts from
its first reported status (a port commissioned mid-window is measured over the part it existed), and
a window that reaches into the future counts up to now.

Sites, tenants and the operator pool their ports' minutes: the aggregate is the uptime of all
their port-minutes together, which for ports observed over the same window is the mean of the
ports' uptimes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from chargewatch.sla_engine.intervals import Span, SpanIndex, clip, intersect, to_ms, total, union

NEVI_YEAR_MINUTES = 525_600
NEVI_TARGET_PERCENT = 97.0


@dataclass(frozen=True, slots=True)
class PortFigures:
    """The measured minutes of one port (or pooled ports) in a window, in milliseconds."""

    window_ms: int = 0
    outage_ms: int = 0
    excluded_ms: int = 0

    @property
    def counted_outage_ms(self) -> int:
        """T_outage - T_excluded."""
        return self.outage_ms - self.excluded_ms

    @property
    def uptime_percent(self) -> float:
        if self.window_ms <= 0:
            return 100.0
        return 100.0 * (self.window_ms - self.counted_outage_ms) / self.window_ms

    def __add__(self, other: PortFigures) -> PortFigures:
        return PortFigures(
            self.window_ms + other.window_ms,
            self.outage_ms + other.outage_ms,
            self.excluded_ms + other.excluded_ms,
        )


def down_spans(segments: Iterable[tuple[int, int | None]], window: Span, now: int) -> list[Span]:
    """The down time of segments (start, end or None while ongoing) inside `window`, as a union."""
    lo, hi = window
    spans = []
    for start, end in segments:
        stop = now if end is None else end
        if start < hi and stop > lo:
            spans.append((max(start, lo), min(stop, hi)))
    return union(spans)


def counted_window(window: Span, first_seen: int | None, now: int) -> Span:
    """The part of `window` a port is measured over: after its first status and not in the future."""
    start = max(window[0], first_seen) if first_seen is not None else window[1]
    return (start, max(start, min(window[1], now)))


def port_figures(
    segments: Iterable[tuple[int, int | None]],
    window: Span,
    *,
    first_seen: int | None,
    now: int,
    excluded: Sequence[Span] = (),
    excluded_index: Sequence[SpanIndex] = (),
) -> PortFigures:
    """A port's window, T_outage and T_excluded.

    `excluded`: short lists of spans (the port's approved exclusions); `excluded_index`: long ones
    prepared for bisection (a year of outside-hours spans, shared by a site's ports).
    """
    counted = counted_window(window, first_seen, now)
    window_ms = counted[1] - counted[0]
    if window_ms <= 0:
        return PortFigures()
    down = down_spans(segments, counted, now)
    if not down:
        return PortFigures(window_ms)
    outage = total(down)
    covered: list[Span] = []
    if excluded:
        covered.extend(intersect(down, union(clip(excluded, counted))))
    for index in excluded_index:
        if index:
            covered.extend(index.overlap(down))
    return PortFigures(window_ms, outage, total(covered) if covered else 0)


def outages(segments: Iterable[tuple[int, int | None, str]], window: Span, now: int) -> list[tuple[int, int, str]]:
    """Each outage episode in the window (touching segments joined), with its first cause."""
    out: list[tuple[int, int, str]] = []
    for start, end, cause in segments:
        stop = now if end is None else end
        lo, hi = max(start, window[0]), min(stop, window[1])
        if lo >= hi:
            continue
        if out and out[-1][1] >= lo:
            out[-1] = (out[-1][0], max(out[-1][1], hi), out[-1][2])
        else:
            out.append((lo, hi, cause))
    return out


# -- periods ---------------------------------------------------------------------------------------
class PeriodKind(enum.IntEnum):
    CUSTOM = 0
    MONTH = 1
    QUARTER = 2
    YEAR = 3
    TRAILING_12_MONTHS = 4


def _month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def period_window(kind: PeriodKind, at: datetime) -> Span:
    """The UTC window of a period containing `at`.

    MONTH, QUARTER, YEAR: the calendar period. TRAILING_12_MONTHS: the twelve calendar months
    ending with the month of `at` (NEVI's annual uptime, computed monthly).
    """
    at = at.astimezone(UTC)
    if kind is PeriodKind.MONTH:
        return to_ms(_month_start(at.year, at.month)), to_ms(_month_start(at.year, at.month + 1))
    if kind is PeriodKind.QUARTER:
        first = (at.month - 1) // 3 * 3 + 1
        return to_ms(_month_start(at.year, first)), to_ms(_month_start(at.year, first + 3))
    if kind is PeriodKind.YEAR:
        return to_ms(_month_start(at.year, 1)), to_ms(_month_start(at.year + 1, 1))
    if kind is PeriodKind.TRAILING_12_MONTHS:
        return to_ms(_month_start(at.year, at.month - 11)), to_ms(_month_start(at.year, at.month + 1))
    raise ValueError(f"period {kind!r} has no calendar window")


def months_of(window: Span) -> list[Span]:
    """The calendar months (UTC) a window touches, each cut to the window."""
    out: list[Span] = []
    start = datetime.fromtimestamp(window[0] / 1000, UTC)
    cursor = _month_start(start.year, start.month)
    while to_ms(cursor) < window[1]:
        following = _month_start(cursor.year, cursor.month + 1)
        lo, hi = max(to_ms(cursor), window[0]), min(to_ms(following), window[1])
        if lo < hi:
            out.append((lo, hi))
        cursor = following
    return out


def month_label(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{moment.year:04d}-{moment.month:02d}"
