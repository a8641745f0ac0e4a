"""Protobuf messages from the services, turned into the API's models (one place for every mapping)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from google.protobuf.message import Message

from chargewatch.partner_api.models import (
    AccessPolicyOut,
    BlockOut,
    ClientCertificateOut,
    ConnectorOut,
    ConnectorStatusName,
    DriverTokenOut,
    LocalListOut,
    LocalListPushOut,
    MeterPoint,
    RegistrationStatusName,
    SessionOut,
    StationOut,
    TimeWindow,
)
from chargewatch.partner_api.sla_models import (
    ContractBreachOut,
    ContractEvaluationOut,
    ContractIn,
    ContractKindName,
    ContractOut,
    ContractSubjectOut,
    CreditTermsIn,
    ExclusionCategoryName,
    ExclusionOut,
    ExclusionStateName,
    ForecastOut,
    IncidentNoteOut,
    IncidentOut,
    IncidentStateName,
    PortAvailabilityName,
    PortForecastOut,
    PortPowerIn,
    PortStateOut,
    PortUptimeOut,
    ResponseTargetIn,
    SeverityName,
    SiteProfileIn,
    SiteProfileOut,
    UptimeLevelName,
    UptimeOut,
    UptimeScopeName,
    WeeklyWindowIn,
    Window,
)
from chargewatch.v1 import authz_pb2, common_pb2, sla_pb2, telemetry_pb2

STATUS_NAMES: dict[int, ConnectorStatusName] = {
    common_pb2.CONNECTOR_STATUS_UNSPECIFIED: "Unknown",
    common_pb2.CONNECTOR_STATUS_AVAILABLE: "Available",
    common_pb2.CONNECTOR_STATUS_PREPARING: "Preparing",
    common_pb2.CONNECTOR_STATUS_CHARGING: "Charging",
    common_pb2.CONNECTOR_STATUS_SUSPENDED_EVSE: "SuspendedEVSE",
    common_pb2.CONNECTOR_STATUS_SUSPENDED_EV: "SuspendedEV",
    common_pb2.CONNECTOR_STATUS_FINISHING: "Finishing",
    common_pb2.CONNECTOR_STATUS_RESERVED: "Reserved",
    common_pb2.CONNECTOR_STATUS_UNAVAILABLE: "Unavailable",
    common_pb2.CONNECTOR_STATUS_FAULTED: "Faulted",
    common_pb2.CONNECTOR_STATUS_OCCUPIED: "Occupied",
}
STATUS_VALUES: dict[str, int] = {name: value for value, name in STATUS_NAMES.items()}
OCPP_VERSIONS: dict[int, Literal["1.6", "2.0.1", "2.1"]] = {
    common_pb2.OCPP_VERSION_1_6: "1.6",
    common_pb2.OCPP_VERSION_2_0_1: "2.0.1",
    common_pb2.OCPP_VERSION_2_1: "2.1",
}
REGISTRATION_NAMES: dict[int, RegistrationStatusName] = {
    common_pb2.REGISTRATION_STATUS_ACCEPTED: "Accepted",
    common_pb2.REGISTRATION_STATUS_PENDING: "Pending",
    common_pb2.REGISTRATION_STATUS_REJECTED: "Rejected",
}
REGISTRATION_VALUES: dict[str, int] = {name: value for value, name in REGISTRATION_NAMES.items()}


def when(message: Message, field: str) -> datetime | None:
    stamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC) if message.HasField(field) else None


def _positive(value: float) -> float | None:
    return value if value else None


def connector_dict(c: telemetry_pb2.Connector) -> dict[str, Any]:
    """A connector as `ConnectorOut` has it, as plain data (field for field)."""
    read = c.HasField("last_reading_at")
    return {
        "evse_id": c.evse_id,
        "connector_id": c.connector_id,
        "status": STATUS_NAMES.get(c.status, "Unknown"),
        "error_code": c.error_code or None,
        "status_since": when(c, "status_since"),
        "connector_type": c.connector_type or None,
        "max_power_w": _positive(c.max_power_w),
        "current_transaction_id": c.current_transaction_id or None,
        "last_energy_wh": c.last_energy_wh if read else None,
        "last_power_w": c.last_power_w if read else None,
        "last_reading_at": when(c, "last_reading_at"),
    }


def station_dict(station: telemetry_pb2.Station) -> dict[str, Any]:
    """A station as `StationOut` has it, as plain data: lists of stations are serialized straight from
    this with orjson (validating a hundred models per page costs more than the rest of the request)."""
    return {
        "id": station.station_id,
        "tenant_id": station.tenant_id,
        "site_id": station.site_id,
        "name": station.name or station.station_id,
        "security_profile": int(station.security_profile),
        "online": station.online,
        "vendor": station.vendor or None,
        "model": station.model or None,
        "serial_number": station.serial_number or None,
        "firmware_version": station.firmware_version or None,
        "ocpp_version": OCPP_VERSIONS.get(station.ocpp_version),
        "registration_status": REGISTRATION_NAMES.get(station.registration_status),
        "location": {"lat": station.location.latitude, "lon": station.location.longitude}
        if station.HasField("location")
        else None,
        "last_seen": when(station, "last_seen"),
        "last_heartbeat": when(station, "last_heartbeat"),
        "last_boot": when(station, "last_boot"),
        "registered_at": when(station, "registered_at"),
        "connectors": [connector_dict(c) for c in station.connectors],
    }


def to_json(data: Any) -> bytes:
    """JSON as pydantic would write it (UTC times with a Z)."""
    return orjson.dumps(data, option=orjson.OPT_UTC_Z)


def connector_out(c: telemetry_pb2.Connector) -> ConnectorOut:
    return ConnectorOut.model_validate(connector_dict(c))


def station_out(station: telemetry_pb2.Station) -> StationOut:
    return StationOut.model_validate(station_dict(station))


def meter_point(point: telemetry_pb2.MeterPoint, downsampled: bool) -> MeterPoint:
    return MeterPoint(
        timestamp=point.timestamp.ToDatetime(tzinfo=UTC),
        energy_wh=point.energy_wh,
        power_w=point.power_w,
        max_power_w=point.max_power_w if downsampled else None,
        current_a=_positive(point.current_a),
        voltage_v=_positive(point.voltage_v),
        soc_percent=_positive(point.soc_percent),
        temperature_c=point.temperature_c or None,
        samples=point.samples if downsampled else None,
        quality_flags=list(point.quality_flags),
    )


def session_out(s: telemetry_pb2.ChargingSession) -> SessionOut:
    return SessionOut(
        transaction_id=s.transaction_id,
        station_id=s.connector.station_id,
        evse_id=s.connector.evse_id,
        connector_id=s.connector.connector_id,
        tenant_id=s.tenant_id,
        id_token=s.id_token or None,
        started_at=when(s, "started_at"),
        stopped_at=when(s, "stopped_at"),
        ended=s.ended,
        energy_wh=s.energy_wh,
        peak_power_w=_positive(s.peak_power_w),
        duration_seconds=s.duration_seconds if s.ended else None,
        idle_seconds=s.idle_seconds if s.ended else None,
        stop_reason=s.stop_reason or None,
    )


def token_out(t: authz_pb2.DriverToken) -> DriverTokenOut:
    return DriverTokenOut(
        id_token=t.id_token,
        id_token_type=t.id_token_type,
        tenant_id=t.tenant_id,
        status=t.status,
        expires_at=when(t, "expires_at"),
        group_id=t.group_id or None,
        user_id=t.user_id or None,
        fleet=t.fleet or None,
        reason=t.reason or None,
        created_at=when(t, "created_at"),
        updated_at=when(t, "updated_at"),
    )


def policy_out(p: authz_pb2.AccessPolicy) -> AccessPolicyOut:
    return AccessPolicyOut(
        policy_id=p.policy_id,
        tenant_id=p.tenant_id,
        name=p.name,
        site_ids=list(p.site_ids),
        station_ids=list(p.station_ids),
        allowed_groups=list(p.allowed_groups),
        time_windows=[TimeWindow(days_of_week=list(w.days_of_week), start=w.start, end=w.end) for w in p.time_windows],
        timezone=p.timezone,
        max_concurrent_sessions=p.max_concurrent_sessions,
        max_session_seconds=p.max_session_seconds,
        blocked_id_tokens=list(p.blocked_id_tokens),
        version=p.version,
        updated_at=when(p, "updated_at"),
    )


# -- the SLA engine -------------------------------------------------------------------------------
SEVERITY_NAMES: dict[int, SeverityName] = {
    common_pb2.SEVERITY_INFO: "info",
    common_pb2.SEVERITY_LOW: "low",
    common_pb2.SEVERITY_MEDIUM: "medium",
    common_pb2.SEVERITY_HIGH: "high",
    common_pb2.SEVERITY_CRITICAL: "critical",
}
SEVERITY_VALUES: dict[str, int] = {name: value for value, name in SEVERITY_NAMES.items()}
PERIOD_VALUES: dict[str, int] = {
    "month": sla_pb2.PERIOD_KIND_MONTH,
    "quarter": sla_pb2.PERIOD_KIND_QUARTER,
    "year": sla_pb2.PERIOD_KIND_YEAR,
    "trailing-12-months": sla_pb2.PERIOD_KIND_TRAILING_12_MONTHS,
}
SCOPE_VALUES: dict[str, int] = {
    "port": sla_pb2.UPTIME_SCOPE_PORT,
    "station": sla_pb2.UPTIME_SCOPE_STATION,
    "site": sla_pb2.UPTIME_SCOPE_SITE,
    "tenant": sla_pb2.UPTIME_SCOPE_TENANT,
    "operator": sla_pb2.UPTIME_SCOPE_OPERATOR,
}
SCOPE_NAMES: dict[int, UptimeScopeName] = {value: name for name, value in SCOPE_VALUES.items()}  # type: ignore[misc]
INCIDENT_STATE_NAMES: dict[int, IncidentStateName] = {
    sla_pb2.INCIDENT_STATE_OPEN: "open",
    sla_pb2.INCIDENT_STATE_ACKNOWLEDGED: "acknowledged",
    sla_pb2.INCIDENT_STATE_RESOLVED: "resolved",
}
INCIDENT_STATE_VALUES: dict[str, int] = {name: value for value, name in INCIDENT_STATE_NAMES.items()}
EXCLUSION_CATEGORY_NAMES: dict[int, ExclusionCategoryName] = {
    sla_pb2.EXCLUSION_CATEGORY_UTILITY_INTERRUPTION: "utility_interruption",
    sla_pb2.EXCLUSION_CATEGORY_VEHICLE_FAULT: "vehicle_fault",
    sla_pb2.EXCLUSION_CATEGORY_SCHEDULED_MAINTENANCE: "scheduled_maintenance",
    sla_pb2.EXCLUSION_CATEGORY_VANDALISM: "vandalism",
    sla_pb2.EXCLUSION_CATEGORY_NATURAL_DISASTER: "natural_disaster",
    sla_pb2.EXCLUSION_CATEGORY_OUTSIDE_HOURS_OF_OPERATION: "outside_hours_of_operation",
}
EXCLUSION_CATEGORY_VALUES: dict[str, int] = {name: value for value, name in EXCLUSION_CATEGORY_NAMES.items()}
EXCLUSION_STATE_NAMES: dict[int, ExclusionStateName] = {
    sla_pb2.EXCLUSION_STATE_PENDING: "pending",
    sla_pb2.EXCLUSION_STATE_APPROVED: "approved",
    sla_pb2.EXCLUSION_STATE_REJECTED: "rejected",
}
EXCLUSION_STATE_VALUES: dict[str, int] = {name: value for value, name in EXCLUSION_STATE_NAMES.items()}
AVAILABILITY_NAMES: dict[int, PortAvailabilityName] = {
    sla_pb2.PORT_AVAILABILITY_UNKNOWN: "unknown",
    sla_pb2.PORT_AVAILABILITY_AVAILABLE: "available",
    sla_pb2.PORT_AVAILABILITY_OCCUPIED: "occupied",
    sla_pb2.PORT_AVAILABILITY_RESERVED: "reserved",
    sla_pb2.PORT_AVAILABILITY_FAULTED: "faulted",
    sla_pb2.PORT_AVAILABILITY_UNAVAILABLE: "unavailable",
    sla_pb2.PORT_AVAILABILITY_OFFLINE: "offline",
    sla_pb2.PORT_AVAILABILITY_DEGRADED: "degraded",
}
AVAILABILITY_VALUES: dict[str, int] = {name: value for value, name in AVAILABILITY_NAMES.items()}
REPORT_KIND_VALUES: dict[str, int] = {
    "uptime": sla_pb2.REPORT_KIND_UPTIME,
    "nevi-quarterly": sla_pb2.REPORT_KIND_NEVI_QUARTERLY,
    "kpi": sla_pb2.REPORT_KIND_KPI,
    "incidents": sla_pb2.REPORT_KIND_INCIDENTS,
}
CONTRACT_KIND_NAMES: dict[int, ContractKindName] = {
    sla_pb2.CONTRACT_KIND_SERVICE_PROVIDER: "service_provider",
    sla_pb2.CONTRACT_KIND_SITE_HOST: "site_host",
}
CONTRACT_KIND_VALUES: dict[str, int] = {name: value for value, name in CONTRACT_KIND_NAMES.items()}
UPTIME_LEVEL_NAMES: dict[int, UptimeLevelName] = {
    sla_pb2.UPTIME_LEVEL_PORT: "port",
    sla_pb2.UPTIME_LEVEL_SITE: "site",
}
UPTIME_LEVEL_VALUES: dict[str, int] = {name: value for value, name in UPTIME_LEVEL_NAMES.items()}


def minutes(ms: int) -> float:
    """Exact milliseconds as minutes (three decimals, as the engine's reports give them)."""
    return round(ms / 60_000, 3)


def window_out(time_range: common_pb2.TimeRange) -> Window:
    return Window(start=time_range.start.ToDatetime(tzinfo=UTC), end=time_range.end.ToDatetime(tzinfo=UTC))


def time_range(start: datetime | None, end: datetime | None) -> common_pb2.TimeRange:
    out = common_pb2.TimeRange()
    if start is not None:
        out.start.FromDatetime(start.astimezone(UTC))
    if end is not None:
        out.end.FromDatetime(end.astimezone(UTC))
    return out


def uptime_out(report: sla_pb2.UptimeReport) -> UptimeOut:
    return UptimeOut(
        scope=SCOPE_NAMES.get(report.scope, "port"),
        subject_id=report.subject_id,
        window=window_out(report.window),
        uptime_percent=report.uptime_percent,
        target_percent=report.target_percent,
        meets_target=report.uptime_percent >= report.target_percent,
        port_count=report.port_count,
        ports_below_target=report.ports_below_target,
        min_port_uptime_percent=report.min_port_uptime_percent,
        window_minutes=minutes(report.window_ms),
        outage_minutes=minutes(report.outage_ms),
        excluded_minutes=minutes(report.excluded_ms),
        ports=[
            PortUptimeOut(
                station_id=p.port.station_id,
                evse_id=p.port.evse_id,
                site_id=p.site_id,
                tenant_id=p.tenant_id,
                uptime_percent=p.uptime_percent,
                meets_target=p.meets_target,
                window_minutes=minutes(p.window_ms),
                outage_minutes=minutes(p.outage_ms),
                excluded_minutes=minutes(p.excluded_ms),
                first_seen=when(p, "first_seen"),
            )
            for p in report.ports
        ],
    )


def forecast_out(report: sla_pb2.ForecastReport) -> ForecastOut:
    return ForecastOut(
        period=window_out(report.period),
        at_risk=report.at_risk,
        ports=[
            PortForecastOut(
                station_id=p.port.station_id,
                evse_id=p.port.evse_id,
                site_id=p.site_id,
                target_percent=p.target_percent,
                period_minutes=minutes(p.period_ms),
                allowed_down_minutes=minutes(p.allowed_down_ms),
                used_minutes=minutes(p.used_ms),
                remaining_minutes=minutes(p.remaining_ms),
                uptime_so_far_percent=p.uptime_so_far_percent,
                projected_uptime_percent=p.projected_uptime_percent,
                down_now=p.down_now,
                at_risk=p.at_risk,
                message=p.message,
                breach_at=when(p, "breach_at"),
            )
            for p in report.ports
        ],
    )


def port_state_out(p: sla_pb2.PortState) -> PortStateOut:
    return PortStateOut(
        station_id=p.port.station_id,
        evse_id=p.port.evse_id,
        tenant_id=p.tenant_id,
        site_id=p.site_id,
        availability=AVAILABILITY_NAMES.get(p.availability, "unknown"),
        up=p.up,
        cause=p.cause or None,
        since=when(p, "since"),
        open_incident_id=p.open_incident_id or None,
        first_seen=when(p, "first_seen"),
        updated_at=when(p, "updated_at"),
    )


def incident_out(i: sla_pb2.Incident) -> IncidentOut:
    return IncidentOut(
        id=i.incident_id,
        station_id=i.port.station_id,
        evse_id=i.port.evse_id,
        site_id=i.site_id,
        tenant_id=i.tenant_id,
        cause=i.cause,
        causes=list(i.causes) or [i.cause],
        severity=SEVERITY_NAMES.get(i.severity, "medium"),
        state=INCIDENT_STATE_NAMES.get(i.state, "open"),
        opened_at=when(i, "opened_at"),
        acknowledged_at=when(i, "acknowledged_at"),
        acknowledged_by=i.acknowledged_by or None,
        resolved_at=when(i, "resolved_at"),
        resolved_by=i.resolved_by or None,
        restored_at=when(i, "restored_at"),
        last_down_at=when(i, "last_down_at"),
        flaps=i.flaps,
        down_minutes=minutes(i.down_ms),
        time_to_acknowledge_minutes=minutes(i.time_to_acknowledge_ms),
        time_to_restore_minutes=minutes(i.time_to_restore_ms),
        notes=[IncidentNoteOut(author=n.author, action=n.action, text=n.text, at=when(n, "at")) for n in i.notes],
    )


def exclusion_out(e: sla_pb2.Exclusion) -> ExclusionOut:
    return ExclusionOut(
        id=e.exclusion_id,
        station_id=e.port.station_id,
        evse_id=e.port.evse_id,
        tenant_id=e.tenant_id,
        category=EXCLUSION_CATEGORY_NAMES.get(e.category, str(e.category)),
        period=window_out(e.period),
        evidence=e.evidence,
        state=EXCLUSION_STATE_NAMES.get(e.state, "pending"),
        declared_by=e.declared_by or None,
        declared_at=when(e, "declared_at"),
        reviewed_by=e.reviewed_by or None,
        reviewed_at=when(e, "reviewed_at"),
        review_note=e.review_note or None,
        covered_outage_minutes=minutes(e.covered_outage_ms),
    )


def _weekly(windows: Any) -> list[WeeklyWindowIn]:
    return [
        WeeklyWindowIn(day_of_week=w.day_of_week, start_minute=w.start_minute, end_minute=w.end_minute) for w in windows
    ]


def _weekly_wire(windows: list[WeeklyWindowIn]) -> list[sla_pb2.WeeklyWindow]:
    return [
        sla_pb2.WeeklyWindow(day_of_week=w.day_of_week, start_minute=w.start_minute, end_minute=w.end_minute)
        for w in windows
    ]


def site_profile_out(p: sla_pb2.SiteProfile) -> SiteProfileOut:
    return SiteProfileOut(
        site_id=p.site_id,
        tenant_id=p.tenant_id,
        name=p.name,
        timezone=p.timezone or "UTC",
        hours=_weekly(p.hours),
        min_power_w=p.min_power_w,
        port_min_power=[
            PortPowerIn(station_id=x.port.station_id, evse_id=x.port.evse_id, min_power_w=x.min_power_w)
            for x in p.port_min_power
        ],
        uptime_target_percent=p.uptime_target_percent,
        updated_at=when(p, "updated_at"),
        updated_by=p.updated_by or None,
    )


def site_profile_wire(site_id: str, body: SiteProfileIn) -> sla_pb2.SiteProfile:
    return sla_pb2.SiteProfile(
        site_id=site_id,
        tenant_id=body.tenant_id,
        name=body.name,
        timezone=body.timezone,
        hours=_weekly_wire(body.hours),
        min_power_w=body.min_power_w,
        port_min_power=[
            sla_pb2.PortPower(
                port=common_pb2.ConnectorRef(station_id=x.station_id, evse_id=x.evse_id), min_power_w=x.min_power_w
            )
            for x in body.port_min_power
        ],
        uptime_target_percent=body.uptime_target_percent,
    )


def contract_out(c: sla_pb2.Contract) -> ContractOut:
    credit = c.credit
    return ContractOut(
        id=c.contract_id,
        name=c.name,
        tenant_id=c.tenant_id,
        counterparty=c.counterparty,
        kind=CONTRACT_KIND_NAMES.get(c.kind, str(c.kind)),
        site_ids=list(c.site_ids),
        station_ids=list(c.station_ids),
        uptime_target_percent=c.uptime_target_percent,
        uptime_level=UPTIME_LEVEL_NAMES.get(c.uptime_level, "port"),
        response_targets=[
            ResponseTargetIn(
                severity=SEVERITY_NAMES.get(t.severity, "medium"),
                acknowledge_minutes=t.acknowledge_minutes,
                restore_minutes=t.restore_minutes,
            )
            for t in c.response_targets
        ],
        maintenance_windows=_weekly(c.maintenance_windows),
        business_hours=_weekly(c.business_hours),
        timezone=c.timezone or "UTC",
        restore_in_business_hours=c.restore_in_business_hours,
        credit=CreditTermsIn(
            monthly_fee=credit.monthly_fee,
            currency=credit.currency or "EUR",
            uptime_credit_percent_per_point=credit.uptime_credit_percent_per_point,
            uptime_credit_cap_percent=credit.uptime_credit_cap_percent,
            acknowledge_breach_amount=credit.acknowledge_breach_amount,
            restore_breach_amount=credit.restore_breach_amount,
            max_credit_amount=credit.max_credit_amount,
        ),
        effective_from=when(c, "effective_from"),
        effective_to=when(c, "effective_to"),
        updated_at=when(c, "updated_at"),
        updated_by=c.updated_by or None,
    )


def contract_wire(contract_id: str, body: ContractIn) -> sla_pb2.Contract:
    wire = sla_pb2.Contract(
        contract_id=contract_id,
        name=body.name,
        tenant_id=body.tenant_id,
        counterparty=body.counterparty,
        kind=CONTRACT_KIND_VALUES[body.kind],  # type: ignore[arg-type]
        site_ids=body.site_ids,
        station_ids=body.station_ids,
        uptime_target_percent=body.uptime_target_percent,
        uptime_level=UPTIME_LEVEL_VALUES[body.uptime_level],  # type: ignore[arg-type]
        response_targets=[
            sla_pb2.ResponseTarget(
                severity=SEVERITY_VALUES[t.severity],  # type: ignore[arg-type]
                acknowledge_minutes=t.acknowledge_minutes,
                restore_minutes=t.restore_minutes,
            )
            for t in body.response_targets
        ],
        maintenance_windows=_weekly_wire(body.maintenance_windows),
        business_hours=_weekly_wire(body.business_hours),
        timezone=body.timezone,
        restore_in_business_hours=body.restore_in_business_hours,
        credit=sla_pb2.CreditTerms(**body.credit.model_dump()),
    )
    if body.effective_from is not None:
        wire.effective_from.FromDatetime(body.effective_from.astimezone(UTC))
    if body.effective_to is not None:
        wire.effective_to.FromDatetime(body.effective_to.astimezone(UTC))
    return wire


def evaluation_out(e: sla_pb2.ContractEvaluation) -> ContractEvaluationOut:
    return ContractEvaluationOut(
        contract=contract_out(e.contract),
        window=window_out(e.window),
        breaches=[
            ContractBreachOut(
                kind=b.kind,
                subject=b.subject,
                measured=b.measured,
                limit=b.limit,
                unit=b.unit,
                amount=b.amount,
                severity=SEVERITY_NAMES.get(b.severity),
                detail=b.detail,
            )
            for b in e.breaches
        ],
        subjects=[
            ContractSubjectOut(
                subject=s.subject,
                uptime_percent=s.uptime_percent,
                window_minutes=minutes(s.window_ms),
                outage_minutes=minutes(s.outage_ms),
                excluded_minutes=minutes(s.excluded_ms),
                meets_target=s.meets_target,
            )
            for s in e.subjects
        ],
        total_credit=e.total_credit,
        currency=e.currency,
        capped=e.capped,
        incidents_evaluated=e.incidents_evaluated,
    )


# -- authz: blocks, local lists, client certificates ---------------------------------------------
def block_out(b: authz_pb2.Block) -> BlockOut:
    return BlockOut(
        id=b.block_id,
        subject_kind=b.subject_kind,
        subject_id=b.subject_id,
        reason=b.reason,
        requested_by=b.requested_by or None,
        mode=b.mode or None,
        created_at=when(b, "created_at"),
        expires_at=when(b, "expires_at"),
        lifted_at=when(b, "lifted_at"),
    )


def local_list_out(r: authz_pb2.PublishLocalListResponse) -> LocalListOut:
    return LocalListOut(
        site_id=r.site_id,
        version=r.version,
        entries=r.entries,
        pushes=[
            LocalListPushOut(station_id=p.station_id, update_type=p.update_type, status=p.status) for p in r.pushes
        ],
    )


def client_certificate_out(c: authz_pb2.ClientCertificate) -> ClientCertificateOut:
    return ClientCertificateOut(
        sha256_fingerprint=c.sha256_fingerprint,
        station_id=c.station_id,
        subject=c.subject,
        not_before=when(c, "not_before"),
        not_after=when(c, "not_after"),
        revoked_at=when(c, "revoked_at"),
        revocation_reason=c.revocation_reason or None,
    )
