"""Request and response models of the security routes (the security monitor): alerts, security
incidents, risk scores, response actions and policies, rules, station profiles and certificates.
These are for the operator and security-analyst roles."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chargewatch.partner_api.models import Strict
from chargewatch.partner_api.sla_models import SeverityName

AlertStateName = Literal["open", "acknowledged", "resolved", "false_positive"]
SubjectKindName = Literal["station", "token", "address", "principal", "tenant", "certificate"]
ResponseActionKindName = Literal["quarantine_station", "block_token", "disconnect_station"]
ResponseActionStateName = Literal["pending", "applied", "dry_run", "failed", "undone", "skipped"]
QuarantineModeName = Literal["refuse_connections", "set_unavailable"]
CertificateKindName = Literal["station_client", "csms_server", "ca"]
CertificateStatusName = Literal["valid", "expiring", "expired", "revoked", "not_yet_valid"]


class AlertOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0194f3a2c1d0-0001-9f2e",
                    "source": "security-monitor",
                    "rule": "station-brute-force",
                    "severity": "high",
                    "state": "open",
                    "title": "Password brute force against a station",
                    "explanation": "6 wrong passwords for CW-B-0001 within 60 s",
                    "subject_kind": "station",
                    "subject_id": "CW-B-0001",
                    "mitre_technique": "T0859",
                    "risk_score": 40.0,
                    "raised_at": "2026-12-01T08:00:00Z",
                    "evidence_event_ids": ["5f0c3c1e"],
                }
            ]
        }
    )
    id: str
    source: str = Field(description="The service that raised it")
    rule: str = Field(description="The detection rule's id (GET /v1/security/rules)")
    severity: SeverityName
    state: AlertStateName
    title: str
    explanation: str
    subject_kind: str = Field(description="station, token, address, principal, tenant or certificate")
    subject_id: str
    mitre_technique: str | None = Field(default=None, description="MITRE ATT&CK for ICS technique id")
    risk_score: float
    raised_at: datetime | None = None
    evidence_event_ids: list[str]


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int
    next_cursor: str | None = None


class EvidenceOut(BaseModel):
    event_id: str
    event_type: str
    station_id: str | None = None
    at: datetime | None = None
    summary: str


class StateChangeOut(BaseModel):
    state: AlertStateName
    by: str
    note: str | None = None
    at: datetime | None = None


class ResponseActionOut(BaseModel):
    id: str
    alert_id: str
    incident_id: str | None = None
    policy_id: str | None = Field(default=None, description="The policy that asked for it; none for a manual one")
    kind: ResponseActionKindName | str
    subject_kind: str
    subject_id: str
    state: ResponseActionStateName | str
    dry_run: bool
    description: str
    detail: str | None = None
    requested_by: str
    created_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    undone_at: datetime | None = None
    undone_by: str | None = None
    undo_reason: str | None = None
    reversible: bool
    tenant_id: str | None = None


class ResponseActionPage(BaseModel):
    items: list[ResponseActionOut]
    total: int
    next_cursor: str | None = None


class AlertDetailOut(AlertOut):
    tenant_id: str | None = None
    incident_id: str | None = None
    occurrences: int = Field(description="Detections folded into this alert while it was open")
    last_seen_at: datetime | None = None
    updated_at: datetime | None = None
    evidence: list[EvidenceOut] = Field(description="The most recent evidence")
    attributes: dict[str, str] = Field(description="Rule-specific facts", examples=[{"failures": "6"}])
    history: list[StateChangeOut]
    actions: list[ResponseActionOut]
    anomaly_score: float
    station_ids: list[str]


class AlertAction(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "investigating"}]})
    note: str = Field(default="", max_length=500)


class AlertResponseRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"actions": ["quarantine_station"], "dry_run": True, "reason": "tampered enclosure"}]
        },
    )
    actions: list[ResponseActionKindName] = Field(min_length=1, max_length=3)
    dry_run: bool = Field(default=False, description="Only record what would be done")
    reason: str = Field(default="", max_length=500)
    duration_seconds: int = Field(default=0, ge=0, le=366 * 86_400, description="0: until undone")
    quarantine_mode: QuarantineModeName = "refuse_connections"


class ResponseActionList(BaseModel):
    items: list[ResponseActionOut]


class UndoRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "false alarm"}]})
    reason: str = Field(default="", max_length=500)


class SecurityIncidentOut(BaseModel):
    id: str
    title: str
    subject_kind: str
    subject_id: str
    tenant_id: str | None = None
    state: AlertStateName
    severity: SeverityName
    risk_score: float
    alert_ids: list[str]
    rules: list[str]
    station_ids: list[str]
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None


class SecurityIncidentPage(BaseModel):
    items: list[SecurityIncidentOut]
    total: int
    next_cursor: str | None = None


class SecurityIncidentResolve(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "contained"}]})
    note: str = Field(default="", max_length=500)
    false_positive: bool = Field(default=False, description="Mark every open alert a false positive (undoes responses)")


class RiskScoreOut(BaseModel):
    station_id: str
    tenant_id: str | None = None
    score: float = Field(description="0 (nothing open) to 100")
    highest_severity: SeverityName | None = None
    open_alerts: int
    contributing_alert_ids: list[str]
    anomaly_score: float = Field(description="The behaviour model's latest score (0..1)")
    computed_at: datetime | None = None


class RiskScoreList(BaseModel):
    items: list[RiskScoreOut]


class RuleParameterOut(BaseModel):
    name: str
    value: float
    description: str


class RuleOut(BaseModel):
    id: str
    title: str
    description: str
    severity: SeverityName
    category: str
    mitre_technique: str | None = None
    mitre_name: str | None = None
    inputs: list[str]
    enabled: bool
    parameters: list[RuleParameterOut]


class RuleList(BaseModel):
    items: list[RuleOut]


class FeatureBaselineOut(BaseModel):
    name: str
    mean: float
    stddev: float
    last_value: float
    last_score: float


class StationSecurityProfileOut(BaseModel):
    station_id: str
    tenant_id: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    known_addresses: list[str]
    known_certificates: list[str]
    firmware_version: str | None = None
    security_profile: int
    windows_learned: int
    warmed_up: bool
    anomaly_score: float
    anomaly_window_seconds: int
    features: list[FeatureBaselineOut]


class CertificateOut(BaseModel):
    sha256_fingerprint: str
    kind: CertificateKindName | str
    status: CertificateStatusName | str
    subject: str
    issuer: str
    serial_number: str
    not_before: datetime | None = None
    not_after: datetime | None = None
    days_remaining: int
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    station_ids: list[str]
    affected_stations: int
    source: str


class CertificateList(BaseModel):
    items: list[CertificateOut]
    scanned_at: datetime | None = None


class ResponsePolicyIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "block cloned cards",
                    "rules": ["token-clone"],
                    "min_severity": "high",
                    "actions": ["block_token"],
                    "duration_seconds": 86400,
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=120)
    enabled: bool = True
    rules: list[str] = Field(default_factory=list, max_length=100, description="Empty: every rule")
    min_severity: SeverityName | None = Field(default=None, description="Empty: every severity")
    actions: list[ResponseActionKindName] = Field(min_length=1, max_length=3)
    quarantine_mode: QuarantineModeName = "refuse_connections"
    duration_seconds: int = Field(default=0, ge=0, le=366 * 86_400, description="0: until undone")
    dry_run: bool = Field(default=False, description="Only record what would be done")


class ResponsePolicyOut(BaseModel):
    id: str
    name: str
    enabled: bool
    rules: list[str]
    min_severity: SeverityName | None = None
    actions: list[ResponseActionKindName | str]
    quarantine_mode: str
    duration_seconds: int
    dry_run: bool
    version: int
    updated_at: datetime | None = None
    updated_by: str | None = None


class ResponsePolicyList(BaseModel):
    items: list[ResponsePolicyOut]
