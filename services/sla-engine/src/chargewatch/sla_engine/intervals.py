"""Half-open time intervals [start, end) in epoch milliseconds, and the set operations uptime needs.

Every duration in the SLA engine is a sum over disjoint intervals, so an exclusion declared twice
or two overlapping causes can never count the same minute twice. Plain integers (not datetimes)
because the trailing-year uptime of ten thousand ports runs through these functions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

Span = tuple[int, int]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint, non-empty spans covering exactly what the inputs cover (touching ones merged)."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(left: Sequence[Span], right: Sequence[Span]) -> list[Span]:
    """Where both hold. Both inputs must already be unions (sorted, disjoint)."""
    out: list[Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(left: Sequence[Span], right: Sequence[Span]) -> list[Span]:
    """What `left` covers and `right` does not. Both inputs must already be unions."""
    out: list[Span] = []
    j = 0
    for start, end in left:
        cursor = start
        while j < len(right) and right[j][1] <= cursor:
            j += 1
        k = j
        while k < len(right) and right[k][0] < end:
            if right[k][0] > cursor:
                out.append((cursor, right[k][0]))
            cursor = max(cursor, right[k][1])
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(spans: Iterable[Span], window: Span) -> list[Span]:
    """Each span cut to `window`, those outside dropped (order kept)."""
    lo, hi = window
    return [(max(s, lo), min(e, hi)) for s, e in spans if s < hi and e > lo and max(s, lo) < min(e, hi)]


def total(spans: Iterable[Span]) -> int:
    """Covered milliseconds, counting overlapping stretches once."""
    return sum(e - s for s, e in union(spans))


def covered_within(sorted_spans: Sequence[Span], starts: Sequence[int], window: Span) -> list[Span]:
    """The part of a union that overlaps `window`, found by bisection (`starts` = the spans' starts).

    For long lists such as a year of outside-opening-hours spans intersected with a few outages.
    """
    lo, hi = window
    index = max(0, bisect_right(starts, lo) - 1)
    out: list[Span] = []
    while index < len(sorted_spans) and sorted_spans[index][0] < hi:
        start, end = sorted_spans[index]
        if end > lo:
            out.append((max(start, lo), min(end, hi)))
        index += 1
    return out


class SpanIndex:
    """A union prepared for repeated intersection with short span lists."""

    __slots__ = ("spans", "starts")

    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans = union(spans)
        self.starts = [s for s, _ in self.spans]

    def __bool__(self) -> bool:
        return bool(self.spans)

    def overlap(self, spans: Sequence[Span]) -> list[Span]:
        """Where `spans` (a union) and this index both hold."""
        out: list[Span] = []
        for span in spans:
            out.extend(covered_within(self.spans, self.starts, span))
        return out
