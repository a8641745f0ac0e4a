"""What rules produce (detections with their evidence) and what they read from an event envelope.

No I/O here: rules run on the stream handler's hot path. Times are float epoch seconds taken from
the event (ChargeWatch's receive time, or the station's time for a late, queued event), never from
the wall clock, so replays and benchmarks give the same results as live traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from chargewatch.security_monitor.catalogue import RULES_BY_ID
from chargewatch.v1 import events_pb2

# Subject kinds of alerts and incidents.
STATION: Final = "station"
TOKEN: Final = "token"  # noqa: S105 (a subject kind, not a secret)
ADDRESS: Final = "address"
PRINCIPAL: Final = "principal"
TENANT: Final = "tenant"
CERTIFICATE: Final = "certificate"
SUBJECT_KINDS: Final = frozenset({STATION, TOKEN, ADDRESS, PRINCIPAL, TENANT, CERTIFICATE})

# Evidence kept per alert (the newest); older evidence only counts in `occurrences`.
MAX_EVIDENCE: Final = 25


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    event_id: str
    event_type: str
    station_id: str
    at: float
    summary: str


@dataclass(slots=True)
class Detection:
    """One rule firing; the alert book folds detections of the same rule and subject into one alert."""

    rule: str
    severity: int
    subject_kind: str
    subject_id: str
    tenant_id: str
    explanation: str
    evidence: list[EvidenceItem]
    # Event time of the newest evidence (epoch seconds).
    at: float
    station_ids: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    anomaly_score: float = 0.0

    @property
    def key(self) -> str:
        """The de-duplication key: one open alert per rule and subject."""
        return f"{self.rule}|{self.subject_kind}|{self.subject_id}"

    @property
    def title(self) -> str:
        return RULES_BY_ID[self.rule].title


def event_time(envelope: events_pb2.EventEnvelope) -> float:
    """When the fact happened by ChargeWatch's clock: the receive time, or the station's time when the
    station queued the message while offline (its receive time is when it was flushed)."""
    stamp = envelope.station_time if envelope.late else envelope.received_time
    return stamp.seconds + stamp.nanos * 1e-9


def station_offset(envelope: events_pb2.EventEnvelope) -> float:
    """Station clock minus ChargeWatch's clock for this event, seconds."""
    station = envelope.station_time
    received = envelope.received_time
    return (station.seconds - received.seconds) + (station.nanos - received.nanos) * 1e-9


def evidence(envelope: events_pb2.EventEnvelope, summary: str) -> EvidenceItem:
    return EvidenceItem(envelope.event_id, envelope.event_type, envelope.station_id, event_time(envelope), summary)


def security_summary(envelope: events_pb2.EventEnvelope) -> str:
    event = envelope.security
    parts = [event.type]
    if event.remote_address:
        parts.append(f"from {event.remote_address}")
    if event.tech_info:
        parts.append(f"({event.tech_info[:120]})")
    return " ".join(parts)
