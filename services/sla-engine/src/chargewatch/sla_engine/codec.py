"""How state is written: a station's timeline as one JSON blob, segments as packed integers.

Packed, because a year of outages of ten thousand ports is read for one uptime report: the MongoDB-wire
store reads a document with one binary field about five times faster than one holding the same
numbers as an array (bench/bench_sla.py), and a real MongoDB decodes it faster too.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from bson import Binary

from chargewatch.sla_engine.model import Availability
from chargewatch.sla_engine.timeline import PortState, Segment, StationTimeline

FORMAT = 1
_BIG_ENDIAN = sys.byteorder == "big"


def pack_segments(segments: Iterable[Segment]) -> tuple[Binary, list[str]]:
    """(start, end or -1 while ongoing, index into the returned cause table) as little-endian int64."""
    causes: list[str] = []
    index: dict[str, int] = {}
    numbers = array("q")
    for start, end, cause in segments:
        position = index.get(cause)
        if position is None:
            position = index[cause] = len(causes)
            causes.append(cause)
        numbers.extend((start, -1 if end is None else end, position))
    if _BIG_ENDIAN:
        numbers.byteswap()
    return Binary(numbers.tobytes()), causes


def unpack_segments(blob: bytes, causes: Sequence[str]) -> list[Segment]:
    numbers = array("q")
    numbers.frombytes(bytes(blob))
    if _BIG_ENDIAN:
        numbers.byteswap()
    return [
        Segment(numbers[i], None if numbers[i + 1] < 0 else numbers[i + 1], causes[numbers[i + 2]])
        for i in range(0, len(numbers), 3)
    ]


def unpack_spans(blob: bytes) -> list[tuple[int, int | None]]:
    """Only (start, end) of packed segments: what uptime needs, without building cause strings."""
    numbers = array("q")
    numbers.frombytes(bytes(blob))
    if _BIG_ENDIAN:
        numbers.byteswap()
    starts = numbers[0::3]
    ends = numbers[1::3]
    return [(s, None if e < 0 else e) for s, e in zip(starts, ends, strict=True)]


# -- timelines ---------------------------------------------------------------------------------------
def _segments(segments: Sequence[Segment]) -> list[list[Any]]:
    return [[s.start, s.end, s.cause] for s in segments]


def _port(port: PortState) -> dict[str, Any]:
    return {
        "first_seen": port.first_seen,
        "anchors": {str(c): list(v) for c, v in port.anchors.items()},
        "tails": {str(c): [list(o) for o in tail] for c, tail in port.tails.items()},
        "power_anchor": port.power_anchor,
        "power": [list(o) for o in port.power],
        "frozen": _segments(port.frozen),
        "recent": _segments(port.recent),
        "state": int(port.state),
        "cause": port.cause,
        "since": port.since,
    }


def dump_timeline(timeline: StationTimeline, extra: dict[str, Any] | None = None) -> Binary:
    document = {
        "format": FORMAT,
        "interval_ms": timeline.interval_ms,
        "boundary": timeline.boundary,
        "conn_anchor": timeline.conn_anchor,
        "conn": [list(o) for o in timeline.conn],
        "runs": [list(r) for r in timeline.runs],
        "silent_from": timeline.silent_from,
        "station_anchor": list(timeline.station_anchor) if timeline.station_anchor else None,
        "station_obs": [list(o) for o in timeline.station_obs],
        "ports": {str(evse): _port(port) for evse, port in timeline.ports.items()},
        "last": list(timeline.last),
        "clamped": timeline.clamped,
        "extra": extra or {},
    }
    return Binary(json.dumps(document, separators=(",", ":")).encode())


def load_timeline(station_id: str, blob: bytes, *, grace_ms: int) -> tuple[StationTimeline, dict[str, Any]]:
    document = json.loads(bytes(blob))
    if document.get("format") != FORMAT:
        raise ValueError(f"station {station_id}: unknown snapshot format {document.get('format')!r}")
    timeline = StationTimeline(station_id, interval_ms=int(document["interval_ms"]), grace_ms=grace_ms)
    timeline.boundary = int(document["boundary"])
    timeline.conn_anchor = document["conn_anchor"]
    timeline.conn = [(int(t), str(e), int(k)) for t, e, k in document["conn"]]
    timeline.runs = [[int(a), int(b)] for a, b in document["runs"]]
    silent_from = document.get("silent_from")
    timeline.silent_from = None if silent_from is None else int(silent_from)
    anchor = document["station_anchor"]
    timeline.station_anchor = (int(anchor[0]), str(anchor[1])) if anchor else None
    timeline.station_obs = [(int(t), str(e), int(s), str(c)) for t, e, s, c in document["station_obs"]]
    for evse, raw in document["ports"].items():
        port = PortState(int(evse), first_seen=int(raw["first_seen"]))
        port.anchors = {int(c): (int(v[0]), str(v[1])) for c, v in raw["anchors"].items()}
        port.tails = {
            int(c): [(int(t), str(e), int(s), str(x)) for t, e, s, x in tail] for c, tail in raw["tails"].items()
        }
        port.power_anchor = bool(raw["power_anchor"])
        port.power = [(int(t), str(k), bool(b)) for t, k, b in raw["power"]]
        port.frozen = [Segment(int(s), None if e is None else int(e), str(c)) for s, e, c in raw["frozen"]]
        port.recent = [Segment(int(s), None if e is None else int(e), str(c)) for s, e, c in raw["recent"]]
        port.state = Availability(int(raw["state"]))
        port.cause = str(raw["cause"])
        port.since = int(raw["since"])
        timeline.ports[port.evse_id] = port
    timeline.last = (int(document["last"][0]), str(document["last"][1]))
    timeline.clamped = int(document.get("clamped", 0))
    timeline.freeze(timeline.boundary)  # counts what is kept
    timeline.resync()
    return timeline, dict(document.get("extra") or {})
