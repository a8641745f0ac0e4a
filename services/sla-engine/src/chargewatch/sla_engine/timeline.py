"""The availability state machine of one station and its ports: plain synchronous code, no I/O.

Inputs are observations with a time and an event id: connections and disconnections, boots, every
message's receive time (proof of life), connector statuses and power samples. The output per port
is a list of *down segments* `(start, end, cause)` and the port's current availability.

Order independence. The segments are a function of the *set* of observations: they are ordered by
(time, event id) and swept. An observation that arrives in order (not older than the newest one
applied) is applied incrementally; one that arrives out of order is inserted into the station's
recent observations and the sweep is re-run over them from the freeze boundary. The same sweep
code does both, so they agree (tests/unit/sla_engine/test_timeline_properties.py checks it on
random shuffles). A redelivered observation (same event id) changes nothing.

Freezing. Observations older than the *freeze boundary* are folded into per-component anchors (the
state they left) and the segments before it become final; the boundary moves forward with time
(`reorder horizon`) and when a tail grows too long. An observation older than the boundary cannot
rewrite final history: it takes effect at the boundary (counted in `clamped`).

Connectivity. A disconnection makes every port of the station OFFLINE until it connects (a BootNotification
counts as a connection). A disconnection the gateway reports for a socket *replaced by a new connection*
is not an outage. Silence: a station not heard from (any message, by receive time) for longer than its
heartbeat interval plus the grace is OFFLINE (cause `heartbeat_missed`) from the moment its missed
heartbeat was due (last message + interval) until it is heard from again.

Precedence of causes on a port: offline > heartbeat missed > station-level fault (connector 0) >
station-level unavailable > the port's own connectors (a port is up while any connector is up; else
faulted before unavailable) > charging below the required minimum power.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from chargewatch.sla_engine import model
from chargewatch.sla_engine.model import UP_STATES, Availability

CONNECT: Final = 1
DISCONNECT: Final = 0

# Sort order of simultaneous breakpoints (all of one instant are applied before classifying).
_K_CONN, _K_SILENT, _K_STATION, _K_STATUS, _K_POWER = 0, 1, 2, 3, 4

_CLAMPED_IDS: Final = 64
NEVER: Final = 1 << 62  # first_seen of a port that has reported no status yet


class Segment(NamedTuple):
    start: int
    end: int | None  # None: still going on
    cause: str


def is_down(state: Availability) -> bool:
    return state not in UP_STATES and state is not Availability.UNKNOWN


@dataclass(slots=True)
class PortState:
    """One port: its observations since the boundary, its segments and its current availability."""

    evse_id: int
    first_seen: int
    # connector id -> (status, error code) just before the boundary, and the tail after it.
    anchors: dict[int, tuple[int, str]] = field(default_factory=dict)
    tails: dict[int, list[tuple[int, str, int, str]]] = field(default_factory=dict)
    power_anchor: bool = False
    power: list[tuple[int, str, bool]] = field(default_factory=list)
    frozen: list[Segment] = field(default_factory=list)
    recent: list[Segment] = field(default_factory=list)
    state: Availability = Availability.UNKNOWN
    cause: str = ""
    since: int = 0

    @property
    def seen(self) -> bool:
        """Whether the port has reported a status (only then is it measured)."""
        return self.first_seen < NEVER

    def segments(self) -> list[Segment]:
        """Every down segment known (final and recent), adjacent pieces of one cause joined."""
        out: list[Segment] = []
        for segment in (*self.frozen, *self.recent):
            if out and out[-1].end == segment.start and out[-1].cause == segment.cause:
                out[-1] = Segment(out[-1].start, segment.end, segment.cause)
            else:
                out.append(segment)
        return out

    def observation_count(self) -> int:
        return sum(len(t) for t in self.tails.values()) + len(self.power)


class _Sweep:
    """Component states at one instant, and the classification of a port from them."""

    __slots__ = ("below", "connectors", "online", "silent", "station")

    def __init__(self) -> None:
        self.online = True  # a station we hear from is connected until told otherwise
        self.silent = False
        self.station: tuple[int, str] | None = None
        self.connectors: dict[int, dict[int, tuple[int, str]]] = {}
        self.below: dict[int, bool] = {}

    def classify(self, evse_id: int) -> tuple[Availability, str]:
        connectors = self.connectors.get(evse_id)
        if not connectors:
            return Availability.UNKNOWN, ""
        if not self.online:
            return Availability.OFFLINE, model.OFFLINE
        if self.silent:
            return Availability.OFFLINE, model.HEARTBEAT_MISSED
        if self.station is not None:
            station_state = model.availability_of(self.station[0])
            if station_state is Availability.FAULTED:
                return Availability.FAULTED, model.fault_cause(model.STATION_FAULTED, self.station[1])
            if station_state is Availability.UNAVAILABLE:
                return Availability.UNAVAILABLE, model.STATION_UNAVAILABLE
        up: Availability | None = None
        charging = False
        fault: str | None = None
        unavailable = False
        for status, error in connectors.values():
            state = model.availability_of(status)
            if state in UP_STATES:
                # Occupied wins over reserved over available: the port's one vehicle slot is taken.
                if (
                    up is None
                    or state is Availability.OCCUPIED
                    or (state is Availability.RESERVED and up is Availability.AVAILABLE)
                ):
                    up = state
                charging = charging or status == model.CHARGING
            elif state is Availability.FAULTED and fault is None:
                fault = model.fault_cause(model.FAULTED, error)
            elif state is Availability.UNAVAILABLE:
                unavailable = True
        if up is not None:
            if charging and self.below.get(evse_id, False):
                return Availability.DEGRADED, model.BELOW_MIN_POWER
            return up, ""
        if fault is not None:
            return Availability.FAULTED, fault
        if unavailable:
            return Availability.UNAVAILABLE, model.UNAVAILABLE
        return Availability.UNKNOWN, ""


@dataclass(slots=True)
class Change:
    """What one application did to a port (for incidents, alerts and persistence)."""

    evse_id: int
    # The port's segments changed before its newest instant (a recompute), not only at the end.
    rewritten: bool = False
    # Its down segments changed (a change between two up states changes only the state).
    segments: bool = True


class StationTimeline:
    """Availability of one station's ports from its observations (see the module docstring)."""

    def __init__(self, station_id: str, *, interval_ms: int, grace_ms: int) -> None:
        self.station_id = station_id
        self.interval_ms = interval_ms
        self.grace_ms = grace_ms
        self.boundary = 0
        self.conn_anchor: int | None = None
        self.conn: list[tuple[int, str, int]] = []
        # Alive runs [first, last] of receive times, sorted; see heard_at.
        self.runs: list[list[int]] = []
        # Set when a silence is detected on the clock (check_silence): the last run's end then.
        self.silent_from: int | None = None
        self.station_anchor: tuple[int, str] | None = None
        self.station_obs: list[tuple[int, str, int, str]] = []
        self.ports: dict[int, PortState] = {}
        # Newest instant applied: an observation older than this (or as old with a smaller id) is out of order.
        self.last: tuple[int, str] = (0, "")
        self.clamped = 0
        self._sweep = _Sweep()
        self._clamped_ids: OrderedDict[str, None] = OrderedDict()
        self._kept = 0

    # -- public API ---------------------------------------------------------------------------
    @property
    def limit_ms(self) -> int:
        return self.interval_ms + self.grace_ms

    def connection(self, t: int, event_id: str, connected: bool) -> list[Change]:
        """A connection (or a boot: the station is connected) or a disconnection at `t`."""
        at = self._clamp(t, event_id)
        if at is None:
            return []
        t = at
        item = (t, event_id, CONNECT if connected else DISCONNECT)
        if not _insort_unique(self.conn, item):
            return []
        self._kept += 1
        return self._after_insert(t, event_id, (_K_CONN, item[2]), all_ports=True)

    def station_status(self, t: int, event_id: str, status: int, error_code: str) -> list[Change]:
        """A status of connector 0 (the whole station)."""
        at = self._clamp(t, event_id)
        if at is None:
            return []
        t = at
        if not _insort_unique(self.station_obs, (t, event_id, status, error_code)):
            return []
        self._kept += 1
        return self._after_insert(t, event_id, (_K_STATION, status, error_code), all_ports=True)

    def status(
        self, t: int, event_id: str, evse_id: int, connector_id: int, status: int, error_code: str
    ) -> list[Change]:
        """A connector's status; creates the port on first sight."""
        at = self._clamp(t, event_id)
        if at is None:
            return []
        t = at
        port = self.ports.get(evse_id)
        if port is None:
            port = self.ports[evse_id] = PortState(evse_id, first_seen=t, since=t)
        port.first_seen = min(port.first_seen, t)
        tail = port.tails.setdefault(connector_id, [])
        if not _insort_unique(tail, (t, event_id, status, error_code)):
            return []
        self._kept += 1
        return self._after_insert(t, event_id, (_K_STATUS, evse_id, connector_id, status, error_code), evse_id=evse_id)

    def power(self, t: int, event_id: str, evse_id: int, below: bool) -> list[Change]:
        """A power sample of a port judged against its required minimum (see `judge_power`)."""
        port = self.ports.get(evse_id)
        if port is None:
            # Kept even before the port's first status (events arrive in any order); the port is
            # counted only from its first status.
            port = self.ports[evse_id] = PortState(evse_id, first_seen=NEVER, since=t)
        key = f"{event_id}@{t}"  # one meter event carries samples at several instants
        clamped = self._clamp(t, key)
        if clamped is None:
            return []
        t = clamped
        if not _insort_unique(port.power, (t, key, below)):
            return []
        self._kept += 1
        return self._after_insert(t, key, (_K_POWER, evse_id, int(below)), evse_id=evse_id)

    def heard_at(self, received: int) -> list[Change]:
        """Any message received at `received`: proof of life.

        Receive times are kept as *alive runs*: maximal stretches in which consecutive messages are
        no further apart than the limit. The silences are the spaces between runs, so whatever order
        the times arrive in, the runs (and the outages) are the same.
        """
        if received <= 0 or received < self.boundary:
            return []  # before the boundary it could only change final history
        runs = self.runs
        if not runs:
            runs.append([received, received])
            return []
        last = runs[-1]
        if received >= last[0]:
            if received <= last[1]:
                return []
            detected = self.silent_from is not None and self.silent_from == last[1]
            if received - last[1] <= self.limit_ms:
                last[1] = received
                if detected:  # a silence seen on a wall clock ahead of the events: not a real one
                    self.silent_from = None
                    return self._recompute()
                return []
            previous = last[1]
            runs.append([received, received])
            self.silent_from = None
            if detected:
                return self._after_insert(received, "~", (_K_SILENT, 0), all_ports=True)
            silent_from = max(previous + self.interval_ms, self.boundary)
            if silent_from > self.last[0]:
                # Nothing applied since the silence began: its start and end apply in order.
                changes = self._after_insert(silent_from, "", (_K_SILENT, 1), all_ports=True)
                return changes + self._after_insert(received, "~", (_K_SILENT, 0), all_ports=True)
            return self._recompute()
        self._insert_run(received)
        return self._recompute()

    def _insert_run(self, received: int) -> None:
        runs = self.runs
        index = bisect.bisect_right(runs, received, key=_first) - 1
        left = runs[index] if index >= 0 else None
        if left is not None and received <= left[1]:
            return
        right = runs[index + 1] if index + 1 < len(runs) else None
        join_left = left is not None and received - left[1] <= self.limit_ms
        join_right = right is not None and right[0] - received <= self.limit_ms
        if left is not None and right is not None and join_left and join_right:
            left[1] = right[1]
            del runs[index + 1]
        elif left is not None and join_left:
            left[1] = received
        elif right is not None and join_right:
            right[0] = received
        else:
            runs.insert(index + 1, [received, received])

    @property
    def heard(self) -> int:
        """The latest receive time."""
        return self.runs[-1][1] if self.runs else 0

    def gaps(self) -> list[tuple[int, int | None]]:
        """Silences longer than the limit: (last heard before, first heard after; None while it lasts)."""
        out: list[tuple[int, int | None]] = [(a[1], b[0]) for a, b in zip(self.runs, self.runs[1:], strict=False)]
        if self.silent_from is not None and self.runs and self.silent_from == self.runs[-1][1]:
            out.append((self.silent_from, None))
        return out

    def check_silence(self, now: int) -> list[Change]:
        """Open a silence when the station has not been heard from for longer than the limit by `now`."""
        if not self.runs or self.silent_from is not None:
            return []
        if now - self.heard > self.limit_ms:
            self.silent_from = self.heard
            return self._after_insert(self.heard + self.interval_ms, "", (_K_SILENT, 1), all_ports=True)
        return []

    def set_interval(self, interval_ms: int) -> list[Change]:
        if interval_ms <= 0 or interval_ms == self.interval_ms:
            return []
        self.interval_ms = interval_ms
        return self._recompute() if self.gaps() else []

    def freeze(self, boundary: int) -> None:
        """Fold every observation before `boundary` into anchors and final segments."""
        if boundary <= self.boundary:
            return
        cut = (boundary, "")
        index = bisect.bisect_left(self.conn, cut)
        if index:
            self.conn_anchor = self.conn[index - 1][2]
            del self.conn[:index]
        index = bisect.bisect_left(self.station_obs, cut)
        if index:
            last = self.station_obs[index - 1]
            self.station_anchor = (last[2], last[3])
            del self.station_obs[:index]
        # Keep the run just before the boundary: it is the left edge of a silence across it.
        first_kept = bisect.bisect_left(self.runs, boundary, key=_last)
        del self.runs[: max(0, first_kept - 1)]
        for port in self.ports.values():
            last_status: int | None = None
            for connector_id, tail in port.tails.items():
                index = bisect.bisect_left(tail, cut)
                if index:
                    last = tail[index - 1]
                    port.anchors[connector_id] = (last[2], last[3])
                    last_status = max(last_status or last[0], last[0])
                    del tail[:index]
            index = bisect.bisect_left(port.power, cut)
            # The power judgement standing at the boundary, as the sweep has it: a status resets it,
            # a sample at the same instant as a status applies after it.
            if index:
                sample_time, _, below = port.power[index - 1]
                port.power_anchor = below and (last_status is None or last_status <= sample_time)
                del port.power[:index]
            elif last_status is not None:
                port.power_anchor = False
            keep: list[Segment] = []
            for segment in port.recent:
                if segment.end is not None and segment.end <= boundary:
                    port.frozen.append(segment)
                elif segment.start < boundary:
                    port.frozen.append(Segment(segment.start, boundary, segment.cause))
                    keep.append(Segment(boundary, segment.end, segment.cause))
                else:
                    keep.append(segment)
            port.recent = keep
        self.boundary = boundary
        self._kept = len(self.conn) + len(self.station_obs) + sum(p.observation_count() for p in self.ports.values())

    def resync(self) -> None:
        """Rebuild the live sweep from the observations (after loading a snapshot); same segments."""
        self._recompute()

    def forget_before(self, cutoff: int) -> None:
        """Drop final segments that ended before `cutoff` (retention)."""
        for port in self.ports.values():
            port.frozen = [s for s in port.frozen if s.end is None or s.end > cutoff]

    def tail_length(self) -> int:
        """Observations kept since the boundary (what a recomputation replays)."""
        return self._kept

    def oldest_observation(self) -> int | None:
        times = [self.conn[0][0]] if self.conn else []
        if self.station_obs:
            times.append(self.station_obs[0][0])
        for port in self.ports.values():
            times.extend(tail[0][0] for tail in port.tails.values() if tail)
            if port.power:
                times.append(port.power[0][0])
        return min(times) if times else None

    # -- internals ------------------------------------------------------------------------------
    def _clamp(self, t: int, event_id: str) -> int | None:
        """`t`, or the boundary for an observation older than it; None for one already applied there.

        Inside the boundary the tails recognise a redelivery by its (time, event id); before it only
        the ids of recently clamped observations are remembered.
        """
        if t >= self.boundary:
            return t
        if event_id in self._clamped_ids:
            return None
        self._clamped_ids[event_id] = None
        if len(self._clamped_ids) > _CLAMPED_IDS:
            self._clamped_ids.popitem(last=False)
        self.clamped += 1
        return self.boundary

    def _after_insert(
        self,
        t: int,
        event_id: str,
        payload: tuple[Any, ...],
        *,
        evse_id: int | None = None,
        all_ports: bool = False,
    ) -> list[Change]:
        # Strictly newer instants are applied incrementally; an older or simultaneous one re-runs the
        # sweep, so every observation of one instant is classified together whatever their order.
        if t <= self.last[0]:
            return self._recompute()
        self.last = (t, event_id)
        self._apply(self._sweep, payload)
        evses = list(self.ports) if all_ports else [evse_id] if evse_id is not None else []
        changes = []
        for evse in evses:
            port = self.ports[evse]
            state, cause = self._sweep.classify(evse)
            was_down = is_down(port.state)
            if _transition(port, t, state, cause):
                changes.append(Change(evse, segments=was_down or is_down(state)))
        return changes

    @staticmethod
    def _apply(sweep: _Sweep, payload: tuple[Any, ...]) -> None:
        kind = payload[0]
        if kind == _K_CONN:
            sweep.online = payload[1] == CONNECT
        elif kind == _K_SILENT:
            sweep.silent = bool(payload[1])
        elif kind == _K_STATION:
            sweep.station = (payload[1], payload[2])
        elif kind == _K_STATUS:
            _, evse, connector, status, error = payload
            sweep.connectors.setdefault(evse, {})[connector] = (status, error)
            # A new status ends a power judgement: the next sample decides again.
            sweep.below[evse] = False
        elif kind == _K_POWER:
            sweep.below[payload[1]] = bool(payload[2])

    def _points(self) -> list[tuple[int, int, str, tuple[Any, ...]]]:
        points: list[tuple[int, int, str, tuple[Any, ...]]] = []
        points.extend((t, _K_CONN, eid, (_K_CONN, kind)) for t, eid, kind in self.conn)
        for start, end in self.gaps():
            silent_from = max(start + self.interval_ms, self.boundary)
            if end is not None and end <= silent_from:
                continue
            points.append((silent_from, _K_SILENT, "", (_K_SILENT, 1)))
            if end is not None:
                points.append((end, _K_SILENT, "~", (_K_SILENT, 0)))
        points.extend((t, _K_STATION, eid, (_K_STATION, s, e)) for t, eid, s, e in self.station_obs)
        for evse, port in self.ports.items():
            for connector, tail in port.tails.items():
                points.extend((t, _K_STATUS, eid, (_K_STATUS, evse, connector, s, e)) for t, eid, s, e in tail)
            points.extend((t, _K_POWER, key, (_K_POWER, evse, int(b))) for t, key, b in port.power)
        points.sort(key=lambda p: (p[0], p[1], p[2]))
        return points

    def _initial_sweep(self) -> _Sweep:
        sweep = _Sweep()
        sweep.online = self.conn_anchor != DISCONNECT
        sweep.station = self.station_anchor
        for evse, port in self.ports.items():
            if port.anchors:
                sweep.connectors[evse] = dict(port.anchors)
            sweep.below[evse] = port.power_anchor
        # A silence that began before the boundary and is still on at it.
        for start, end in self.gaps():
            if start + self.interval_ms < self.boundary and (end is None or end > self.boundary):
                sweep.silent = True
        return sweep

    def _recompute(self) -> list[Change]:
        """Re-run the sweep over every observation since the boundary; report the ports that changed."""
        before = {evse: (list(p.recent), p.state, p.cause, p.since) for evse, p in self.ports.items()}
        sweep = self._initial_sweep()
        for port in self.ports.values():
            port.recent = []
            state, cause = sweep.classify(port.evse_id)
            port.state, port.cause = Availability.UNKNOWN, ""
            _transition(port, self.boundary, state, cause)
        points = self._points()
        last: tuple[int, str] = (self.boundary, "")
        index = 0
        while index < len(points):
            t = points[index][0]
            while index < len(points) and points[index][0] == t:
                self._apply(sweep, points[index][3])
                # Every breakpoint counts, a silence's too: the sweep has moved past it.
                last = max(last, (t, points[index][2]))
                index += 1
            for evse, port in self.ports.items():
                state, cause = sweep.classify(evse)
                _transition(port, t, state, cause)
        self._sweep = sweep
        self.last = max(last, self.last)
        changes = []
        for evse, port in self.ports.items():
            old = before.get(evse)
            if old is not None and old[1] is port.state and port.since == self.boundary:
                port.since = min(port.since, old[3])  # the state began before the boundary
            if old is None or old[0] != port.recent or old[1] != port.state or old[2] != port.cause:
                changes.append(Change(evse, rewritten=True, segments=old is None or old[0] != port.recent))
        return changes


def _transition(port: PortState, t: int, state: Availability, cause: str) -> bool:
    """Move a port to (state, cause) at `t`: close and open down segments. True when anything changed.

    Invariant: while a port is down, the last of its recent segments is the open one.
    """
    if state is port.state and cause == port.cause:
        return False
    if is_down(port.state):
        open_segment = port.recent.pop()
        if t > open_segment.start:
            port.recent.append(Segment(open_segment.start, t, open_segment.cause))
    if is_down(state):
        port.recent.append(Segment(t, None, cause))
    if state is not port.state:
        port.since = t
    port.state, port.cause = state, cause
    return True


def _head(item: tuple[Any, ...]) -> tuple[Any, ...]:
    return item[:2]


def _first(run: list[int]) -> int:
    return run[0]


def _last(run: list[int]) -> int:
    return run[1]


def _insort_unique(tail: list[Any], item: tuple[Any, ...]) -> bool:
    """Insert keeping (time, event id) order; False when this event id is already there at that time."""
    key = item[:2]
    index = bisect.bisect_left(tail, key, key=_head)
    if index < len(tail) and tail[index][:2] == key:
        return False
    tail.insert(index, item)
    return True


def judge_power(
    power_w: float | None, offered_w: float | None, soc_percent: float | None, min_power_w: float, soc_limit: float
) -> bool | None:
    """Whether a sample shows the port charging below its required minimum power; None: cannot tell.

    The power the EVSE *offers* is the fair test (a car that accepts less is not the port's fault);
    without it the delivered power is judged, but only while the battery is below `soc_limit`
    percent (vehicles taper near full) or its state of charge is unknown.
    """
    if min_power_w <= 0:
        return None
    if offered_w is not None:
        return offered_w < min_power_w
    if power_w is None:
        return None
    if soc_percent is not None and soc_percent >= soc_limit:
        return None
    return power_w < min_power_w


def merge_segments(segments: Iterable[Segment]) -> list[Segment]:
    """Sorted segments with touching pieces of the same cause joined."""
    out: list[Segment] = []
    for segment in sorted(segments, key=lambda s: (s.start, s.end is None, s.end or 0)):
        if out and out[-1].end == segment.start and out[-1].cause == segment.cause:
            out[-1] = Segment(out[-1].start, segment.end, segment.cause)
        else:
            out.append(segment)
    return out
