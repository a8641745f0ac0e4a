"""Risk scores: how much a station's open alerts (and its behaviour model) say it is under attack.

Each open alert touching the station contributes by its severity, halved once acknowledged and decaying
with the time since it last fired (half-life `RISK_HALF_LIFE_HOURS`); contributions combine like
independent probabilities, so the score stays within 0..100 and many low alerts never outweigh one
critical. A behaviour-anomaly score near 1 adds up to 20 on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from chargewatch.mongo import Document
from chargewatch.v1 import common_pb2, events_pb2

SEVERITY_WEIGHT: Final[dict[int, float]] = {
    common_pb2.SEVERITY_UNSPECIFIED: 0.0,
    common_pb2.SEVERITY_INFO: 2.0,
    common_pb2.SEVERITY_LOW: 8.0,
    common_pb2.SEVERITY_MEDIUM: 20.0,
    common_pb2.SEVERITY_HIGH: 40.0,
    common_pb2.SEVERITY_CRITICAL: 70.0,
}
RISK_HALF_LIFE_HOURS: Final = 24.0
ANOMALY_WEIGHT: Final = 20.0


def alert_weight(severity: int, anomaly_score: float = 0.0) -> float:
    """An alert's own risk (0..100): its severity's weight, scaled by the model's confidence for anomalies."""
    weight = float(SEVERITY_WEIGHT.get(severity, 0.0))
    if anomaly_score:
        weight *= min(1.0, max(anomaly_score, 0.5))
    return weight


def contribution(doc: Document, now: datetime) -> float:
    weight = alert_weight(doc.get("severity", 0), float(doc.get("anomaly_score", 0.0)))
    last = doc.get("last_seen_at") or doc.get("raised_at") or now
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    hours = max((now - last).total_seconds() / 3600.0, 0.0)
    weight *= 0.5 ** (hours / RISK_HALF_LIFE_HOURS)
    if doc.get("state") == events_pb2.ALERT_STATE_ACKNOWLEDGED:
        weight *= 0.5
    return float(weight)


def combine(weights: Iterable[float]) -> float:
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - min(max(weight, 0.0), 100.0) / 100.0
    return round(100.0 * (1.0 - remaining), 2)


def anomaly_contribution(score: float) -> float:
    return ANOMALY_WEIGHT * max(0.0, (score - 0.9) / 0.1)


@dataclass
class StationRisk:
    station_id: str
    tenant_id: str = ""
    score: float = 0.0
    alert_ids: list[str] = field(default_factory=list)
    highest: int = 0
    anomaly_score: float = 0.0


def station_risks(
    alerts: Iterable[Document], anomaly_scores: dict[str, float], now: datetime | None = None
) -> dict[str, StationRisk]:
    """Risk of every station named by an open alert (or with an anomaly score)."""
    now = now or datetime.now(UTC)
    weights: dict[str, list[float]] = {}
    risks: dict[str, StationRisk] = {}
    for doc in alerts:
        if doc.get("state") not in (events_pb2.ALERT_STATE_OPEN, events_pb2.ALERT_STATE_ACKNOWLEDGED):
            continue
        weight = contribution(doc, now)
        for station_id in doc.get("station_ids") or []:
            risk = risks.setdefault(station_id, StationRisk(station_id))
            if doc.get("subject_kind") == "station" and doc.get("tenant_id"):
                risk.tenant_id = doc["tenant_id"]
            risk.alert_ids.append(doc["_id"])
            risk.highest = max(risk.highest, int(doc.get("severity", 0)))
            weights.setdefault(station_id, []).append(weight)
    for station_id, score in anomaly_scores.items():
        risk = risks.setdefault(station_id, StationRisk(station_id))
        risk.anomaly_score = score
        weights.setdefault(station_id, []).append(anomaly_contribution(score))
    for station_id, risk in risks.items():
        risk.score = combine(weights.get(station_id, []))
    return risks
