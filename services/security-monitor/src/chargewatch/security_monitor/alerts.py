"""Alerts and incidents: de-duplication, correlation, lifecycle, and the alert stream.

* One open alert per rule and subject (`Detection.key`): while it is open (or acknowledged), further
  detections only add evidence, count an occurrence, refresh `last_seen_at` and may raise its severity.
  `alert_keys` holds the open alert of each key (its unique `_id` is the key), so a second writer (a
  leader taking over) finds the alert instead of opening a twin. Once resolved, the key is released
  and the next detection opens a new alert.
* One open incident per subject (station, token, address, principal, tenant, certificate) gathers the
  subject's alerts; its state follows theirs (open, acknowledged when every open alert is, resolved or
  false positive when all are closed) and its severity and risk score are their highest and combined.
* Documents holding dates are rewritten whole (`replace_one`, conditional on their state), never with
  `$set`: the MongoDB-wire store used locally stores a date set that way as a string
  (tests/integration/security_monitor/test_store_features.py).
* Every new alert, severity increase and state change is published on the alert stream with a
  deterministic event id (a republished change is the same event to consumers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pymongo.errors import DuplicateKeyError

from chargewatch.mongo import Document
from chargewatch.security_monitor import risk
from chargewatch.security_monitor.catalogue import RULES_BY_ID
from chargewatch.security_monitor.model import MAX_EVIDENCE, Detection
from chargewatch.security_monitor.store import CLOSED_STATES, OPEN_STATES, Collections, alert_message, new_id
from chargewatch.streams import EventPublisher
from chargewatch.v1 import events_pb2

log = logging.getLogger(__name__)

OPEN: Final = events_pb2.ALERT_STATE_OPEN
ACKNOWLEDGED: Final = events_pb2.ALERT_STATE_ACKNOWLEDGED
RESOLVED: Final = events_pb2.ALERT_STATE_RESOLVED
FALSE_POSITIVE: Final = events_pb2.ALERT_STATE_FALSE_POSITIVE
MAX_STATIONS: Final = 200
MAX_HISTORY: Final = 50


class AlertNotFound(Exception):
    pass


class InvalidTransition(Exception):
    """The alert's state does not allow this change; the message is safe to return."""


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What applying detections did to one alert."""

    doc: Document
    # "raised", "escalated" or "updated".
    change: str


def _now() -> datetime:
    return datetime.now(UTC)


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def merge(detections: Sequence[Detection]) -> list[Detection]:
    """Fold detections of the same key (a batch often holds several failures of one attack)."""
    merged: dict[str, Detection] = {}
    for detection in detections:
        known = merged.get(detection.key)
        if known is None:
            merged[detection.key] = Detection(
                detection.rule,
                detection.severity,
                detection.subject_kind,
                detection.subject_id,
                detection.tenant_id,
                detection.explanation,
                list(detection.evidence),
                detection.at,
                detection.station_ids,
                dict(detection.attributes),
                detection.anomaly_score,
            )
            continue
        seen = {item.event_id for item in known.evidence}
        known.evidence.extend(item for item in detection.evidence if item.event_id not in seen)
        known.severity = max(known.severity, detection.severity)
        known.explanation = detection.explanation
        known.at = max(known.at, detection.at)
        known.station_ids = tuple(dict.fromkeys((*known.station_ids, *detection.station_ids)))
        known.attributes.update(detection.attributes)
        known.anomaly_score = max(known.anomaly_score, detection.anomaly_score)
        known.tenant_id = known.tenant_id or detection.tenant_id
    return list(merged.values())


def _evidence_docs(detection: Detection) -> list[Document]:
    return [
        {
            "event_id": item.event_id,
            "event_type": item.event_type,
            "station_id": item.station_id,
            "at": _from_epoch(item.at),
            "summary": item.summary,
        }
        for item in detection.evidence
    ]


class AlertBook:
    """Alerts and incidents in MongoDB; the leader keeps the open ones in memory.

    The cache is authoritative for what this leader wrote (it loads every open alert and incident when
    its term starts); what analysts change through the API, on any replica, is detected by the
    revision check of every rewrite, after which the document is read again.
    """

    def __init__(self, collections: Collections, publisher: EventPublisher | None) -> None:
        self.c = collections
        self.publisher = publisher
        # Open alerts by alert key and open incidents by subject key, as last written.
        self.open: dict[str, Document] = {}
        self.incidents: dict[str, Document] = {}

    async def load_open(self) -> None:
        """Fill the caches with every open alert and incident (a new leader does this first)."""
        self.open = {}
        self.incidents = {}
        async for doc in self.c.alerts.find({"state": {"$in": list(OPEN_STATES)}}):
            if doc.get("key"):
                self.open[doc["key"]] = doc
        async for doc in self.c.incidents.find({"state": {"$in": list(OPEN_STATES)}}):
            if doc.get("key"):
                self.incidents[doc["key"]] = doc

    # -- detections -> alerts ---------------------------------------------------------------------------
    async def apply(self, detections: Sequence[Detection]) -> list[AlertChange]:
        """Write the detections as alerts and incidents; returns what changed (durable on return)."""
        changes: list[AlertChange] = []
        for detection in merge(detections):
            change = await self._apply_one(detection)
            if change is None:
                continue
            changes.append(change)
            if change.change in ("raised", "escalated"):
                await self._file(change.doc, detection)
        for change in changes:
            if change.change in ("raised", "escalated"):
                await self.publish(change.doc, change.change)
        return changes

    async def _apply_one(self, detection: Detection) -> AlertChange | None:
        key = detection.key
        for _ in range(3):
            doc = self.open.get(key)
            if doc is not None:
                change = await self._update(doc, detection)
                if change is not None:
                    return change
                # Changed by an analyst meanwhile (maybe on another replica): read it again.
                self.open.pop(key, None)
                if await self._open_alert_of(key) is not None:
                    continue
            created = await self._create(detection)
            if created is not None:
                return created
            await self._open_alert_of(key)  # someone else holds the key: update theirs
        log.error("could not record a detection", extra={"key": key})
        return None

    async def _open_alert_of(self, key: str) -> Document | None:
        marker = await self.c.alert_keys.find_one({"_id": key})
        if marker is None:
            return None
        doc = await self.c.alerts.find_one({"_id": marker["alert_id"], "state": {"$in": list(OPEN_STATES)}})
        if doc is None:
            await self.c.alert_keys.delete_one({"_id": key, "alert_id": marker["alert_id"]})
            return None
        self.open[key] = doc
        return doc

    async def _create(self, detection: Detection) -> AlertChange | None:
        alert_id = new_id()
        try:
            await self.c.alert_keys.insert_one({"_id": detection.key, "alert_id": alert_id})
        except DuplicateKeyError:
            return None  # someone opened it first: the caller updates theirs
        now = _now()
        spec = RULES_BY_ID[detection.rule]
        evidence = _evidence_docs(detection)[-MAX_EVIDENCE:]
        doc: Document = {
            "_id": alert_id,
            "key": detection.key,
            "rule": detection.rule,
            "severity": detection.severity,
            "title": spec.title,
            "explanation": detection.explanation,
            "subject_kind": detection.subject_kind,
            "subject_id": detection.subject_id,
            "tenant_id": detection.tenant_id,
            "state": OPEN,
            "evidence": evidence,
            "mitre_technique": spec.mitre_technique,
            "risk_score": risk.alert_weight(detection.severity, detection.anomaly_score),
            "raised_at": now,
            "first_event_at": _from_epoch(min(item.at for item in detection.evidence)) if detection.evidence else now,
            "last_seen_at": _from_epoch(detection.at) if detection.at else now,
            "updated_at": now,
            "occurrences": 1,
            "incident_id": "",
            "attributes": detection.attributes,
            "history": [{"state": OPEN, "by": "security-monitor", "note": "raised", "at": now}],
            "anomaly_score": detection.anomaly_score,
            "station_ids": list(detection.station_ids)[:MAX_STATIONS],
            # The severity responses were last planned for (0: not yet; see monitor.replan_unanswered).
            "responded": 0,
            # Revision: every rewrite is conditional on it (optimistic concurrency with the API).
            "rev": 0,
        }
        doc["incident_id"] = await self._incident_for(detection, doc, now)
        await self.c.alerts.insert_one(doc)
        self.open[detection.key] = doc
        return AlertChange(doc, "raised")

    async def _update(self, doc: Document, detection: Detection) -> AlertChange | None:
        known = {item["event_id"] for item in doc.get("evidence", [])}
        fresh = [item for item in _evidence_docs(detection) if item["event_id"] not in known]
        escalated = detection.severity > doc["severity"]
        if not fresh and not escalated:
            return AlertChange(doc, "updated")  # a redelivered event: nothing new
        now = _now()
        changes: Document = {
            "evidence": [*doc.get("evidence", []), *fresh][-MAX_EVIDENCE:],
            "occurrences": int(doc.get("occurrences", 1)) + max(len(fresh), 1),
            "last_seen_at": max(doc.get("last_seen_at") or now, _from_epoch(detection.at)),
            "updated_at": now,
            "explanation": detection.explanation,
            "attributes": {**doc.get("attributes", {}), **detection.attributes},
            "station_ids": list(dict.fromkeys([*doc.get("station_ids", []), *detection.station_ids]))[:MAX_STATIONS],
            "anomaly_score": max(float(doc.get("anomaly_score", 0.0)), detection.anomaly_score),
            "rev": int(doc.get("rev", 0)) + 1,
        }
        if not doc.get("tenant_id") and detection.tenant_id:
            changes["tenant_id"] = detection.tenant_id
        if escalated:
            changes["severity"] = detection.severity
            changes["risk_score"] = risk.alert_weight(detection.severity, changes["anomaly_score"])
            changes["history"] = [
                *doc.get("history", []),
                {"state": doc["state"], "by": "security-monitor", "note": "severity raised", "at": now},
            ][-MAX_HISTORY:]
        # Conditional on the revision read: an analyst's change meanwhile makes this miss, and the caller
        # reads the alert again (it may have been closed, then a new alert opens).
        result = await self.c.alerts.replace_one(
            {"_id": doc["_id"], "rev": doc.get("rev", 0), "state": {"$in": list(OPEN_STATES)}}, {**doc, **changes}
        )
        if result.matched_count == 0:
            return None
        doc.update(changes)
        return AlertChange(doc, "escalated" if escalated else "updated")

    # -- incidents --------------------------------------------------------------------------------------
    async def _incident_for(self, detection: Detection, alert: Document, now: datetime) -> str:
        """The open incident of the alert's subject, with the alert added (or a new incident holding it)."""
        key = f"{detection.subject_kind}|{detection.subject_id}"
        for _ in range(3):
            incident = self.incidents.get(key)
            if incident is None:
                incident = await self._open_incident_of(key)
            if incident is not None:
                if await self._add_to_incident(incident, alert, now):
                    return str(incident["_id"])
                self.incidents.pop(key, None)
                continue
            incident_id = new_id()
            try:
                await self.c.incident_keys.insert_one({"_id": key, "incident_id": incident_id})
            except DuplicateKeyError:
                continue
            incident = {
                "_id": incident_id,
                "key": key,
                "subject_kind": detection.subject_kind,
                "subject_id": detection.subject_id,
                "tenant_id": detection.tenant_id,
                "state": OPEN,
                "severity": detection.severity,
                "risk_score": alert["risk_score"],
                "alert_ids": [alert["_id"]],
                "rules": [detection.rule],
                "station_ids": list(alert["station_ids"]),
                "opened_at": now,
                "updated_at": now,
                "title": f"{alert['title']} ({detection.subject_kind} {detection.subject_id})",
                "rev": 0,
            }
            await self.c.incidents.insert_one(incident)
            self.incidents[key] = incident
            return incident_id
        raise RuntimeError(f"could not file an alert under an incident for {key}")

    async def _open_incident_of(self, key: str) -> Document | None:
        marker = await self.c.incident_keys.find_one({"_id": key})
        if marker is None:
            return None
        incident = await self.c.incidents.find_one({"_id": marker["incident_id"]})
        if incident is None or incident.get("state") not in OPEN_STATES:
            await self.c.incident_keys.delete_one({"_id": key, "incident_id": marker["incident_id"]})
            return None
        self.incidents[key] = incident
        return incident

    async def _add_to_incident(self, incident: Document, alert: Document, now: datetime) -> bool:
        """Fold a new or escalated alert into an open incident (one conditional rewrite)."""
        alert_ids = list(dict.fromkeys([*incident.get("alert_ids", []), alert["_id"]]))
        rules = sorted({*incident.get("rules", []), alert["rule"]})
        changes: Document = {
            "alert_ids": alert_ids,
            "rules": rules,
            "severity": max(int(incident.get("severity", 0)), int(alert["severity"])),
            "risk_score": risk.combine([float(incident.get("risk_score", 0.0)), float(alert["risk_score"])]),
            "station_ids": list(dict.fromkeys([*incident.get("station_ids", []), *alert["station_ids"]]))[
                :MAX_STATIONS
            ],
            "state": OPEN if alert["state"] == OPEN else incident["state"],
            "updated_at": now,
            "rev": int(incident.get("rev", 0)) + 1,
        }
        if len(alert_ids) > 1:
            changes["title"] = (
                f"{len(alert_ids)} alerts ({', '.join(rules[:3])}{'…' if len(rules) > 3 else ''}) "
                f"on {incident['subject_kind']} {incident['subject_id']}"
            )
        result = await self.c.incidents.replace_one(
            {"_id": incident["_id"], "rev": incident.get("rev", 0), "state": {"$in": list(OPEN_STATES)}},
            {**incident, **changes},
        )
        if result.matched_count == 0:
            return False
        incident.update(changes)
        return True

    async def _file(self, alert: Document, detection: Detection) -> None:
        """An escalated alert raises its incident's severity (a new one was filed when created)."""
        if alert["occurrences"] == 1 and alert["rev"] == 0:
            return
        key = f"{detection.subject_kind}|{detection.subject_id}"
        incident = self.incidents.get(key)
        if incident is None or incident["_id"] != alert.get("incident_id"):
            await self.refresh_incident(alert["incident_id"])
        elif not await self._add_to_incident(incident, alert, _now()):
            self.incidents.pop(key, None)
            await self.refresh_incident(alert["incident_id"])

    async def refresh_incident(self, incident_id: str) -> Document | None:
        """Recompute an incident from its alerts (state, severity, risk, rules, stations)."""
        incident = await self.c.incidents.find_one({"_id": incident_id})
        if incident is None:
            return None
        alerts = [doc async for doc in self.c.alerts.find({"incident_id": incident_id})]
        if not alerts:
            return incident
        now = _now()
        open_alerts = [a for a in alerts if a.get("state") in OPEN_STATES]
        if open_alerts:
            state = ACKNOWLEDGED if all(a["state"] == ACKNOWLEDGED for a in open_alerts) else OPEN
        else:
            state = FALSE_POSITIVE if all(a["state"] == FALSE_POSITIVE for a in alerts) else RESOLVED
        rules = sorted({a["rule"] for a in alerts})
        changes: Document = {
            "state": state,
            "severity": max(int(a.get("severity", 0)) for a in alerts),
            "risk_score": risk.combine(risk.contribution(a, now) for a in open_alerts),
            "alert_ids": [a["_id"] for a in alerts],
            "rules": rules,
            "station_ids": list(dict.fromkeys(s for a in alerts for s in a.get("station_ids", [])))[:MAX_STATIONS],
            "updated_at": now,
            "rev": int(incident.get("rev", 0)) + 1,
        }
        if len(alerts) > 1:
            changes["title"] = (
                f"{len(alerts)} alerts ({', '.join(rules[:3])}{'…' if len(rules) > 3 else ''}) "
                f"on {incident['subject_kind']} {incident['subject_id']}"
            )
        if state in CLOSED_STATES:
            changes["closed_at"] = incident.get("closed_at") or now
            await self.c.incident_keys.delete_one({"_id": incident.get("key", ""), "incident_id": incident_id})
            self.incidents.pop(incident.get("key", ""), None)
        await self.c.incidents.replace_one({"_id": incident_id}, {**incident, **changes})
        incident.update(changes)
        if state not in CLOSED_STATES and incident.get("key") in self.incidents:
            self.incidents[incident["key"]] = incident
        return incident

    # -- lifecycle (the API) ----------------------------------------------------------------------------
    async def transition(self, alert_id: str, state: int, *, by: str, note: str) -> Document:
        """Acknowledge, resolve or mark a false positive; publishes the change and updates the incident."""
        for _ in range(5):
            doc = await self.c.alerts.find_one({"_id": alert_id})
            if doc is None:
                raise AlertNotFound(alert_id)
            current = doc.get("state")
            if current in CLOSED_STATES:
                if current == state:
                    return doc  # asked twice: the same answer
                name = events_pb2.AlertState.Name(current).removeprefix("ALERT_STATE_").lower()
                raise InvalidTransition(f"the alert is already {name}")
            if state == ACKNOWLEDGED and current == ACKNOWLEDGED:
                return doc
            now = _now()
            changes: Document = {
                "state": state,
                "updated_at": now,
                "rev": int(doc.get("rev", 0)) + 1,
                "history": [*doc.get("history", []), {"state": state, "by": by, "note": note, "at": now}][
                    -MAX_HISTORY:
                ],
            }
            if state in CLOSED_STATES:
                changes["closed_at"] = now
            result = await self.c.alerts.replace_one({"_id": alert_id, "rev": doc.get("rev", 0)}, {**doc, **changes})
            if result.matched_count == 1:
                doc.update(changes)
                break
            # The monitor added evidence meanwhile: read again and reapply.
        else:
            raise InvalidTransition("the alert keeps changing; try again")
        if state in CLOSED_STATES:
            await self.c.alert_keys.delete_one({"_id": doc.get("key", ""), "alert_id": alert_id})
            self.open.pop(doc.get("key", ""), None)
        elif doc.get("key") in self.open:
            self.open[doc["key"]] = doc
        if doc.get("incident_id"):
            await self.refresh_incident(doc["incident_id"])
        await self.publish(doc, events_pb2.AlertState.Name(state).removeprefix("ALERT_STATE_").lower())
        return doc

    # -- the alert stream -------------------------------------------------------------------------------
    async def publish(self, doc: Document, change: str) -> None:
        if self.publisher is None:
            return
        message = alert_message(doc)
        station = (doc.get("station_ids") or [""])[0] or doc.get("subject_id", "")
        envelope = self.publisher.envelope(
            station,
            message,
            tenant_id=doc.get("tenant_id", ""),
            event_id=f"{doc['_id']}:{change}:{doc.get('severity', 0)}",
        )
        try:
            await self.publisher.publish(envelope)
        except Exception:
            # The alert is stored; the stream copy is for subscribers and is not worth failing the batch.
            log.exception("could not publish an alert", extra={"alert_id": doc["_id"]})


def public_fields(doc: Document) -> dict[str, Any]:
    """The alert fields safe for logs (no evidence, no attributes)."""
    return {k: doc.get(k) for k in ("_id", "rule", "severity", "subject_kind", "subject_id", "tenant_id", "state")}
