"""Incidents from a port's down segments: plain functions, no I/O.

An *outage episode* is a run of touching down segments (a fault that turns into an offline station
is one outage). Episodes separated by less than the flap window are folded into one incident, so a
port bouncing between Faulted and Available pages people once. An incident is identified by its
port and the start of its first episode, so deriving the incidents again from the same segments
gives the same ids: redelivery and recomputation never open a second incident for one outage.

People's actions (acknowledge, resolve, notes) are kept apart from these derived facts (see
store.IncidentStore) and combined when an incident is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chargewatch.sla_engine import model
from chargewatch.sla_engine.timeline import Segment
from chargewatch.v1 import sla_pb2


def incident_id(port_key: str, opened_ms: int) -> str:
    digest = hashlib.sha256(f"{port_key}@{opened_ms}".encode()).hexdigest()[:20]
    return f"inc-{digest}"


@dataclass(slots=True)
class IncidentFacts:
    """What the segments say about one incident."""

    incident_id: str
    port_key: str
    opened_ms: int
    restored_ms: int | None
    cause: str
    causes: list[str] = field(default_factory=list)
    severity: int = 0
    flaps: int = 0
    down_ms: int = 0
    last_down_ms: int = 0

    def document(self) -> dict[str, Any]:
        """The derived fields as stored (people's fields are never among them)."""
        return {
            "opened_ms": self.opened_ms,
            "restored_ms": self.restored_ms,
            "cause": self.cause,
            "causes": list(self.causes),
            "severity": self.severity,
            "flaps": self.flaps,
            "down_ms": self.down_ms,
            "last_down_ms": self.last_down_ms,
        }


def fold(port_key: str, segments: Sequence[Segment], flap_window_ms: int, now: int) -> list[IncidentFacts]:
    """The incidents of a port from its sorted down segments."""
    incidents: list[IncidentFacts] = []
    episode_end: int | None = -1  # end of the episode being built; None while it goes on
    for segment in segments:
        current = incidents[-1] if incidents else None
        touching = current is not None and episode_end is not None and segment.start <= episode_end
        flap = (
            current is not None
            and episode_end is not None
            and not touching
            and segment.start - episode_end <= flap_window_ms
        )
        if current is None or not (touching or flap):
            current = IncidentFacts(
                incident_id(port_key, segment.start),
                port_key,
                opened_ms=segment.start,
                restored_ms=None,
                cause=segment.cause,
                last_down_ms=segment.start,
            )
            incidents.append(current)
        elif flap:
            current.flaps += 1
            current.last_down_ms = segment.start
        if segment.cause not in current.causes:
            current.causes.append(segment.cause)
        current.severity = max(current.severity, model.severity_of(segment.cause))
        end = now if segment.end is None else segment.end
        current.down_ms += max(0, end - segment.start)
        episode_end = segment.end
        current.restored_ms = segment.end
    return incidents


def state_of(document: dict[str, Any]) -> int:
    """OPEN, ACKNOWLEDGED or RESOLVED from derived and human fields together.

    Resolved when the port recovered, or when a person resolved it after its latest episode began
    (a flap after a manual resolution reopens it).
    """
    if document.get("restored_ms") is not None:
        return sla_pb2.INCIDENT_STATE_RESOLVED
    resolved = document.get("resolved_ms")
    if resolved is not None and resolved >= document.get("last_down_ms", 0):
        return sla_pb2.INCIDENT_STATE_RESOLVED
    if document.get("ack_ms") is not None:
        return sla_pb2.INCIDENT_STATE_ACKNOWLEDGED
    return sla_pb2.INCIDENT_STATE_OPEN


def resolved_at(document: dict[str, Any]) -> int | None:
    """When it was resolved: by the port recovering or by a person, whichever came first."""
    if state_of(document) != sla_pb2.INCIDENT_STATE_RESOLVED:
        return None
    times = [t for t in (document.get("restored_ms"), document.get("resolved_ms")) if t is not None]
    return min(times) if times else None


_STATE_NAMES: dict[int, str] = {
    sla_pb2.INCIDENT_STATE_OPEN: "open",
    sla_pb2.INCIDENT_STATE_ACKNOWLEDGED: "acknowledged",
    sla_pb2.INCIDENT_STATE_RESOLVED: "resolved",
}


def state_name(document: dict[str, Any]) -> str:
    return _STATE_NAMES[state_of(document)]


def is_resolved(document: dict[str, Any]) -> bool:
    return state_of(document) == sla_pb2.INCIDENT_STATE_RESOLVED
