"""The security monitor's messages as the API's models (one place for each mapping)."""

from __future__ import annotations

from chargewatch.partner_api.convert import SEVERITY_NAMES, SEVERITY_VALUES, when
from chargewatch.partner_api.security_models import (
    AlertDetailOut,
    AlertOut,
    AlertStateName,
    CertificateKindName,
    CertificateOut,
    CertificateStatusName,
    EvidenceOut,
    FeatureBaselineOut,
    ResponseActionKindName,
    ResponseActionOut,
    ResponseActionStateName,
    ResponsePolicyIn,
    ResponsePolicyOut,
    RiskScoreOut,
    RuleOut,
    RuleParameterOut,
    SecurityIncidentOut,
    StateChangeOut,
    StationSecurityProfileOut,
)
from chargewatch.v1 import events_pb2, security_pb2

ALERT_STATE_NAMES: dict[int, AlertStateName] = {
    events_pb2.ALERT_STATE_OPEN: "open",
    events_pb2.ALERT_STATE_ACKNOWLEDGED: "acknowledged",
    events_pb2.ALERT_STATE_RESOLVED: "resolved",
    events_pb2.ALERT_STATE_FALSE_POSITIVE: "false_positive",
}
ALERT_STATE_VALUES: dict[str, int] = {name: value for value, name in ALERT_STATE_NAMES.items()}
ACTION_KIND_NAMES: dict[int, ResponseActionKindName] = {
    security_pb2.RESPONSE_ACTION_KIND_QUARANTINE_STATION: "quarantine_station",
    security_pb2.RESPONSE_ACTION_KIND_BLOCK_TOKEN: "block_token",
    security_pb2.RESPONSE_ACTION_KIND_DISCONNECT_STATION: "disconnect_station",
}
ACTION_KIND_VALUES: dict[str, int] = {name: value for value, name in ACTION_KIND_NAMES.items()}
ACTION_STATE_NAMES: dict[int, ResponseActionStateName] = {
    security_pb2.RESPONSE_ACTION_STATE_PENDING: "pending",
    security_pb2.RESPONSE_ACTION_STATE_APPLIED: "applied",
    security_pb2.RESPONSE_ACTION_STATE_DRY_RUN: "dry_run",
    security_pb2.RESPONSE_ACTION_STATE_FAILED: "failed",
    security_pb2.RESPONSE_ACTION_STATE_UNDONE: "undone",
    security_pb2.RESPONSE_ACTION_STATE_SKIPPED: "skipped",
}
ACTION_STATE_VALUES: dict[str, int] = {name: value for value, name in ACTION_STATE_NAMES.items()}
CERTIFICATE_KIND_NAMES: dict[int, CertificateKindName] = {
    security_pb2.CERTIFICATE_KIND_STATION_CLIENT: "station_client",
    security_pb2.CERTIFICATE_KIND_CSMS_SERVER: "csms_server",
    security_pb2.CERTIFICATE_KIND_CA: "ca",
}
CERTIFICATE_KIND_VALUES: dict[str, int] = {name: value for value, name in CERTIFICATE_KIND_NAMES.items()}
CERTIFICATE_STATUS_NAMES: dict[int, CertificateStatusName] = {
    security_pb2.CERTIFICATE_STATUS_VALID: "valid",
    security_pb2.CERTIFICATE_STATUS_EXPIRING: "expiring",
    security_pb2.CERTIFICATE_STATUS_EXPIRED: "expired",
    security_pb2.CERTIFICATE_STATUS_REVOKED: "revoked",
    security_pb2.CERTIFICATE_STATUS_NOT_YET_VALID: "not_yet_valid",
}


def alert_fields(a: events_pb2.Alert) -> dict[str, object]:
    return {
        "id": a.alert_id,
        "source": a.source_service or "security-monitor",
        "rule": a.rule,
        "severity": SEVERITY_NAMES.get(a.severity, "medium"),
        "state": ALERT_STATE_NAMES.get(a.state, "open"),
        "title": a.title,
        "explanation": a.explanation,
        "subject_kind": a.subject_kind,
        "subject_id": a.subject_id,
        "mitre_technique": a.mitre_technique or None,
        "risk_score": a.risk_score,
        "raised_at": when(a, "raised_at"),
        "evidence_event_ids": list(a.evidence_event_ids),
    }


def alert_out(a: events_pb2.Alert) -> AlertOut:
    return AlertOut.model_validate(alert_fields(a))


def action_out(a: security_pb2.ResponseAction) -> ResponseActionOut:
    return ResponseActionOut(
        id=a.action_id,
        alert_id=a.alert_id,
        incident_id=a.incident_id or None,
        policy_id=a.policy_id or None,
        kind=ACTION_KIND_NAMES.get(a.kind, str(a.kind)),
        subject_kind=a.subject_kind,
        subject_id=a.subject_id,
        state=ACTION_STATE_NAMES.get(a.state, str(a.state)),
        dry_run=a.dry_run,
        description=a.description,
        detail=a.detail or None,
        requested_by=a.requested_by,
        created_at=when(a, "created_at"),
        completed_at=when(a, "completed_at"),
        expires_at=when(a, "expires_at"),
        undone_at=when(a, "undone_at"),
        undone_by=a.undone_by or None,
        undo_reason=a.undo_reason or None,
        reversible=a.reversible,
        tenant_id=a.tenant_id or None,
    )


def alert_detail_out(d: security_pb2.AlertDetail) -> AlertDetailOut:
    return AlertDetailOut.model_validate(
        {
            **alert_fields(d.alert),
            "tenant_id": d.tenant_id or None,
            "incident_id": d.incident_id or None,
            "occurrences": d.occurrences,
            "last_seen_at": when(d, "last_seen_at"),
            "updated_at": when(d, "updated_at"),
            "evidence": [
                EvidenceOut(
                    event_id=e.event_id,
                    event_type=e.event_type,
                    station_id=e.station_id or None,
                    at=when(e, "at"),
                    summary=e.summary,
                )
                for e in d.evidence
            ],
            "attributes": dict(d.attributes),
            "history": [
                StateChangeOut(
                    state=ALERT_STATE_NAMES.get(h.state, "open"), by=h.by, note=h.note or None, at=when(h, "at")
                )
                for h in d.history
            ],
            "actions": [action_out(a) for a in d.actions],
            "anomaly_score": d.anomaly_score,
            "station_ids": list(d.station_ids),
        }
    )


def security_incident_out(i: security_pb2.SecurityIncident) -> SecurityIncidentOut:
    return SecurityIncidentOut(
        id=i.incident_id,
        title=i.title,
        subject_kind=i.subject_kind,
        subject_id=i.subject_id,
        tenant_id=i.tenant_id or None,
        state=ALERT_STATE_NAMES.get(i.state, "open"),
        severity=SEVERITY_NAMES.get(i.severity, "medium"),
        risk_score=i.risk_score,
        alert_ids=list(i.alert_ids),
        rules=list(i.rules),
        station_ids=list(i.station_ids),
        opened_at=when(i, "opened_at"),
        updated_at=when(i, "updated_at"),
        closed_at=when(i, "closed_at"),
    )


def risk_out(r: security_pb2.RiskScore) -> RiskScoreOut:
    return RiskScoreOut(
        station_id=r.station_id,
        tenant_id=r.tenant_id or None,
        score=r.score,
        highest_severity=SEVERITY_NAMES.get(r.highest_severity),
        open_alerts=r.open_alerts,
        contributing_alert_ids=list(r.contributing_alert_ids),
        anomaly_score=r.anomaly_score,
        computed_at=when(r, "computed_at"),
    )


def rule_out(r: security_pb2.DetectionRule) -> RuleOut:
    return RuleOut(
        id=r.rule_id,
        title=r.title,
        description=r.description,
        severity=SEVERITY_NAMES.get(r.severity, "medium"),
        category=r.category,
        mitre_technique=r.mitre_technique or None,
        mitre_name=r.mitre_name or None,
        inputs=list(r.inputs),
        enabled=r.enabled,
        parameters=[RuleParameterOut(name=p.name, value=p.value, description=p.description) for p in r.parameters],
    )


def profile_out(p: security_pb2.StationSecurityProfile) -> StationSecurityProfileOut:
    return StationSecurityProfileOut(
        station_id=p.station_id,
        tenant_id=p.tenant_id or None,
        first_seen=when(p, "first_seen"),
        last_seen=when(p, "last_seen"),
        known_addresses=list(p.known_addresses),
        known_certificates=list(p.known_certificates),
        firmware_version=p.firmware_version or None,
        security_profile=int(p.security_profile),
        windows_learned=p.windows_learned,
        warmed_up=p.warmed_up,
        anomaly_score=p.anomaly_score,
        anomaly_window_seconds=p.anomaly_window_seconds,
        features=[
            FeatureBaselineOut(
                name=f.name, mean=f.mean, stddev=f.stddev, last_value=f.last_value, last_score=f.last_score
            )
            for f in p.features
        ],
    )


def certificate_out(c: security_pb2.InventoryCertificate) -> CertificateOut:
    return CertificateOut(
        sha256_fingerprint=c.sha256_fingerprint,
        kind=CERTIFICATE_KIND_NAMES.get(c.kind, str(c.kind)),
        status=CERTIFICATE_STATUS_NAMES.get(c.status, str(c.status)),
        subject=c.subject,
        issuer=c.issuer,
        serial_number=c.serial_number,
        not_before=when(c, "not_before"),
        not_after=when(c, "not_after"),
        days_remaining=c.days_remaining,
        revoked_at=when(c, "revoked_at"),
        revocation_reason=c.revocation_reason or None,
        station_ids=list(c.station_ids),
        affected_stations=c.affected_stations,
        source=c.source,
    )


def policy_out(p: security_pb2.ResponsePolicy) -> ResponsePolicyOut:
    return ResponsePolicyOut(
        id=p.policy_id,
        name=p.name,
        enabled=p.enabled,
        rules=list(p.rules),
        min_severity=SEVERITY_NAMES.get(p.min_severity),
        actions=[ACTION_KIND_NAMES.get(a, str(a)) for a in p.actions],
        quarantine_mode=p.quarantine_mode or "refuse_connections",
        duration_seconds=p.duration_seconds,
        dry_run=p.dry_run,
        version=p.version,
        updated_at=when(p, "updated_at"),
        updated_by=p.updated_by or None,
    )


def policy_wire(policy_id: str, body: ResponsePolicyIn) -> security_pb2.ResponsePolicy:
    return security_pb2.ResponsePolicy(
        policy_id=policy_id,
        name=body.name,
        enabled=body.enabled,
        rules=body.rules,
        min_severity=SEVERITY_VALUES[body.min_severity] if body.min_severity else 0,  # type: ignore[arg-type]
        actions=[ACTION_KIND_VALUES[a] for a in body.actions],  # type: ignore[misc]
        quarantine_mode=body.quarantine_mode,
        duration_seconds=body.duration_seconds,
        dry_run=body.dry_run,
    )
