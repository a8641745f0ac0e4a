"""Half-open time intervals [start, end) and the set operations uptime needs.

Every duration in the SLA engine is a sum over disjoint intervals, so an exclusion declared twice
or two overlapping causes can never count the same minute twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A half-open window [start, end) of tz-aware UTC datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"interval ends before it starts: {self.start.isoformat()} > {self.end.isoformat()}")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def minutes(self) -> float:
        return self.duration.total_seconds() / 60

    def clip(self, window: Interval) -> Interval | None:
        """The part of this interval inside `window`, None when they do not overlap."""
        start, end = max(self.start, window.start), min(self.end, window.end)
        return Interval(start, end) if start < end else None


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, non-empty intervals covering exactly what the inputs cover."""
    merged: list[Interval] = []
    for interval in sorted(i for i in intervals if i.start < i.end):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def intersect(left: Iterable[Interval], right: Iterable[Interval]) -> list[Interval]:
    """Where both interval sets hold (each side is merged first, so overlaps count once)."""
    a, b = union(left), union(right)
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i].start, b[j].start), min(a[i].end, b[j].end)
        if start < end:
            out.append(Interval(start, end))
        if a[i].end < b[j].end:
            i += 1
        else:
            j += 1
    return out


def clip_all(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """Each interval cut to `window`, the ones outside dropped."""
    return [c for c in (i.clip(window) for i in intervals) if c is not None]


def total(intervals: Iterable[Interval]) -> timedelta:
    """Covered time, counting overlapping stretches once."""
    return sum((i.duration for i in union(intervals)), timedelta())
