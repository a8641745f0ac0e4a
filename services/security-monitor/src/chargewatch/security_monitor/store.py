"""The monitor's MongoDB collections, their indexes, and the conversions between documents and messages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from google.protobuf.timestamp_pb2 import Timestamp
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.mongo import Document, IndexSpec
from chargewatch.security_monitor.catalogue import RULES_BY_ID
from chargewatch.v1 import events_pb2, security_pb2

ALERTS: Final = "alerts"
ALERT_KEYS: Final = "alert_keys"
INCIDENTS: Final = "incidents"
INCIDENT_KEYS: Final = "incident_keys"
PROFILES: Final = "profiles"
POLICIES: Final = "response_policies"
ACTIONS: Final = "response_actions"
CERTIFICATES: Final = "certificates"
AUDIT: Final = "audit"

OPEN_STATES: Final = (events_pb2.ALERT_STATE_OPEN, events_pb2.ALERT_STATE_ACKNOWLEDGED)
CLOSED_STATES: Final = (events_pb2.ALERT_STATE_RESOLVED, events_pb2.ALERT_STATE_FALSE_POSITIVE)


_last_id = [0, 0]  # the last id's millisecond and its sequence number within it


def new_id() -> str:
    """Ids that sort by creation time (newest-first pages sort on `_id`): milliseconds, a sequence that keeps
    ids of one process in order within a millisecond, and randomness against other processes."""
    ms = time.time_ns() // 1_000_000
    if ms <= _last_id[0]:
        ms = _last_id[0]
        _last_id[1] += 1
    else:
        _last_id[0], _last_id[1] = ms, 0
    return f"{ms:012x}{_last_id[1]:06x}{uuid.uuid4().hex[:10]}"


def indexes(retention_days: int) -> list[IndexSpec]:
    retention = retention_days * 86_400
    return [
        IndexSpec(ALERTS, [("tenant_id", 1), ("raised_at", -1)]),
        IndexSpec(ALERTS, [("station_ids", 1), ("state", 1)]),
        IndexSpec(ALERTS, [("subject_kind", 1), ("subject_id", 1), ("raised_at", -1)]),
        IndexSpec(ALERTS, [("state", 1), ("raised_at", -1)]),
        IndexSpec(ALERTS, [("incident_id", 1)]),
        # Closed alerts leave after the retention period (open ones never: `closed_at` is unset).
        IndexSpec(ALERTS, [("closed_at", 1)], expire_after_seconds=retention, name="alerts_retention"),
        IndexSpec(INCIDENTS, [("tenant_id", 1), ("opened_at", -1)]),
        IndexSpec(INCIDENTS, [("subject_kind", 1), ("subject_id", 1)]),
        IndexSpec(INCIDENTS, [("closed_at", 1)], expire_after_seconds=retention, name="incidents_retention"),
        IndexSpec(ACTIONS, [("alert_id", 1)]),
        IndexSpec(ACTIONS, [("subject_id", 1), ("created_at", -1)]),
        IndexSpec(ACTIONS, [("state", 1)]),
        IndexSpec(AUDIT, [("at", -1)]),
        IndexSpec(PROFILES, [("kind", 1)]),
    ]


class Collections:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.alerts: AsyncCollection[Document] = db[ALERTS]
        self.alert_keys: AsyncCollection[Document] = db[ALERT_KEYS]
        self.incidents: AsyncCollection[Document] = db[INCIDENTS]
        self.incident_keys: AsyncCollection[Document] = db[INCIDENT_KEYS]
        self.profiles: AsyncCollection[Document] = db[PROFILES]
        self.policies: AsyncCollection[Document] = db[POLICIES]
        self.actions: AsyncCollection[Document] = db[ACTIONS]
        self.certificates: AsyncCollection[Document] = db[CERTIFICATES]
        self.audit: AsyncCollection[Document] = db[AUDIT]

    async def record_audit(self, action: str, subject: str, actor: str, **details: Any) -> None:
        """Every change a person or policy makes: who, what, when (kept with the monitor's data)."""
        await self.audit.insert_one(
            {"action": action, "subject": subject, "actor": actor, "at": datetime.now(UTC), "details": details}
        )


def stamp(value: datetime | float | None) -> Timestamp | None:
    if value is None or value == 0:
        return None
    out = Timestamp()
    if isinstance(value, datetime):
        out.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    else:
        out.FromNanoseconds(int(value * 1e9))
    return out


def set_stamp(message: Any, field: str, value: datetime | float | None) -> None:
    converted = stamp(value)
    if converted is not None:
        getattr(message, field).CopyFrom(converted)


def alert_message(doc: Document) -> events_pb2.Alert:
    spec = RULES_BY_ID.get(doc["rule"])
    alert = events_pb2.Alert(
        alert_id=doc["_id"],
        source_service="security-monitor",
        rule=doc["rule"],
        severity=doc["severity"],
        title=doc.get("title") or (spec.title if spec else doc["rule"]),
        explanation=doc.get("explanation", ""),
        subject_kind=doc.get("subject_kind", ""),
        subject_id=doc.get("subject_id", ""),
        state=doc.get("state", events_pb2.ALERT_STATE_OPEN),
        evidence_event_ids=[e["event_id"] for e in doc.get("evidence", [])],
        mitre_technique=spec.mitre_technique if spec else "",
        risk_score=float(doc.get("risk_score", 0.0)),
    )
    set_stamp(alert, "raised_at", doc.get("raised_at"))
    return alert


def alert_detail(doc: Document, actions: Sequence[Document] = ()) -> security_pb2.AlertDetail:
    detail = security_pb2.AlertDetail(
        alert=alert_message(doc),
        tenant_id=doc.get("tenant_id", ""),
        incident_id=doc.get("incident_id", ""),
        occurrences=int(doc.get("occurrences", 1)),
        attributes={str(k): str(v) for k, v in (doc.get("attributes") or {}).items()},
        anomaly_score=float(doc.get("anomaly_score", 0.0)),
        station_ids=list(doc.get("station_ids", [])),
        actions=[action_message(a) for a in actions],
    )
    set_stamp(detail, "last_seen_at", doc.get("last_seen_at"))
    set_stamp(detail, "updated_at", doc.get("updated_at"))
    for item in doc.get("evidence", []):
        message = security_pb2.AlertEvidence(
            event_id=item["event_id"],
            event_type=item.get("event_type", ""),
            station_id=item.get("station_id", ""),
            summary=item.get("summary", ""),
        )
        set_stamp(message, "at", item.get("at"))
        detail.evidence.append(message)
    for change in doc.get("history", []):
        entry = security_pb2.AlertStateChange(
            state=change["state"], by=change.get("by", ""), note=change.get("note", "")
        )
        set_stamp(entry, "at", change.get("at"))
        detail.history.append(entry)
    return detail


def incident_message(doc: Document) -> security_pb2.SecurityIncident:
    incident = security_pb2.SecurityIncident(
        incident_id=doc["_id"],
        subject_kind=doc.get("subject_kind", ""),
        subject_id=doc.get("subject_id", ""),
        tenant_id=doc.get("tenant_id", ""),
        state=doc.get("state", events_pb2.ALERT_STATE_OPEN),
        severity=doc.get("severity", 0),
        risk_score=float(doc.get("risk_score", 0.0)),
        alert_ids=list(doc.get("alert_ids", [])),
        rules=list(doc.get("rules", [])),
        title=doc.get("title", ""),
        station_ids=list(doc.get("station_ids", [])),
    )
    set_stamp(incident, "opened_at", doc.get("opened_at"))
    set_stamp(incident, "updated_at", doc.get("updated_at"))
    set_stamp(incident, "closed_at", doc.get("closed_at"))
    return incident


def action_message(doc: Document) -> security_pb2.ResponseAction:
    action = security_pb2.ResponseAction(
        action_id=doc["_id"],
        alert_id=doc.get("alert_id", ""),
        incident_id=doc.get("incident_id", ""),
        policy_id=doc.get("policy_id", ""),
        kind=doc.get("kind", 0),
        subject_kind=doc.get("subject_kind", ""),
        subject_id=doc.get("subject_id", ""),
        state=doc.get("state", 0),
        dry_run=bool(doc.get("dry_run", False)),
        description=doc.get("description", ""),
        detail=doc.get("detail", ""),
        block_id=doc.get("block_id", ""),
        requested_by=doc.get("requested_by", ""),
        undone_by=doc.get("undone_by", ""),
        undo_reason=doc.get("undo_reason", ""),
        reversible=bool(doc.get("reversible", False)),
        tenant_id=doc.get("tenant_id", ""),
    )
    for field in ("created_at", "completed_at", "undone_at", "expires_at"):
        set_stamp(action, field, doc.get(field))
    return action
