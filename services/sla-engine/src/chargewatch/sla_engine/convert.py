"""Between stored documents / domain objects and the `chargewatch.v1` messages of sla.proto."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from chargewatch.mongo import Document
from chargewatch.sla_engine import contracts, incidents
from chargewatch.sla_engine.access import BadRequest
from chargewatch.sla_engine.hours import WeeklyWindow
from chargewatch.sla_engine.intervals import MINUTE_MS, Span
from chargewatch.sla_engine.model import UP_STATES, Availability, PortKey
from chargewatch.sla_engine.profiles import SiteProfile
from chargewatch.sla_engine.queries import PortResult, PortRow
from chargewatch.v1 import common_pb2, sla_pb2


def stamp(ms_value: int | None) -> Timestamp | None:
    if ms_value is None:
        return None
    value = Timestamp()
    value.FromMilliseconds(int(ms_value))
    return value


def time_range(window: Span) -> common_pb2.TimeRange:
    out = common_pb2.TimeRange()
    out.start.FromMilliseconds(window[0])
    out.end.FromMilliseconds(window[1])
    return out


def ref(station_id: str, evse_id: int, connector_id: int = 1) -> common_pb2.ConnectorRef:
    return common_pb2.ConnectorRef(station_id=station_id, evse_id=evse_id, connector_id=connector_id)


def port_uptime(result: PortResult) -> sla_pb2.PortUptime:
    row, figures = result.row, result.figures
    message = sla_pb2.PortUptime(
        port=ref(row.station_id, row.evse_id, row.connector_id),
        uptime_percent=figures.uptime_percent,
        window_minutes=figures.window_ms // MINUTE_MS,
        outage_minutes=round(figures.outage_ms / MINUTE_MS),
        excluded_minutes=round(figures.excluded_ms / MINUTE_MS),
        window_ms=figures.window_ms,
        outage_ms=figures.outage_ms,
        excluded_ms=figures.excluded_ms,
        site_id=row.site_id,
        tenant_id=row.tenant_id,
        meets_target=result.meets_target,
    )
    if row.first_seen:
        message.first_seen.FromMilliseconds(row.first_seen)
    return message


def port_state(row: PortRow) -> sla_pb2.PortState:
    message = sla_pb2.PortState(
        port=ref(row.station_id, row.evse_id, row.connector_id),
        tenant_id=row.tenant_id,
        site_id=row.site_id,
        availability=int(row.state),  # type: ignore[arg-type]
        up=row.state in UP_STATES,
        cause=row.cause,
        open_incident_id=row.open_incident_id,
    )
    if row.since:
        message.since.FromMilliseconds(row.since)
    if row.first_seen:
        message.first_seen.FromMilliseconds(row.first_seen)
    if row.updated_ms:
        message.updated_at.FromMilliseconds(row.updated_ms)
    return message


def incident(document: Document, notes: Sequence[Document], now: int) -> sla_pb2.Incident:
    opened = int(document["opened_ms"])
    resolved = incidents.resolved_at(document)
    acked = document.get("ack_ms")
    ack_stop = acked if acked is not None else (resolved if resolved is not None else now)
    resolver = ""
    if resolved is not None:
        by_person = document.get("resolved_ms") == resolved
        resolver = str(document.get("resolved_by", "")) if by_person else "port recovered"
    message = sla_pb2.Incident(
        incident_id=str(document["_id"]),
        port=ref(
            str(document.get("station_id", "")), int(document.get("evse_id", 0)), int(document.get("connector_id") or 1)
        ),
        tenant_id=str(document.get("tenant_id", "")),
        cause=str(document.get("cause", "")),
        severity=int(document.get("severity", 0)),  # type: ignore[arg-type]
        state=incidents.state_of(document),  # type: ignore[arg-type]
        acknowledged_by=str(document.get("ack_by", "")),
        resolved_by=resolver,
        flaps=int(document.get("flaps", 0)),
        site_id=str(document.get("site_id", "")),
        causes=[str(c) for c in document.get("causes") or []],
        down_ms=int(document.get("down_ms") or 0),
        time_to_acknowledge_ms=max(0, int(ack_stop) - opened),
        time_to_restore_ms=max(0, int(resolved if resolved is not None else now) - opened),
    )
    message.opened_at.FromMilliseconds(opened)
    if acked is not None:
        message.acknowledged_at.FromMilliseconds(int(acked))
    if resolved is not None:
        message.resolved_at.FromMilliseconds(resolved)
    if document.get("restored_ms") is not None:
        message.restored_at.FromMilliseconds(int(document["restored_ms"]))
    if document.get("last_down_ms"):
        message.last_down_at.FromMilliseconds(int(document["last_down_ms"]))
    for note in notes:
        entry = message.notes.add(
            author=str(note.get("author", "")), action=str(note.get("action", "")), text=str(note.get("text", ""))
        )
        entry.at.FromMilliseconds(int(note["at_ms"]))
    return message


def exclusion(document: Document) -> sla_pb2.Exclusion:
    message = sla_pb2.Exclusion(
        exclusion_id=str(document["_id"]),
        port=ref(str(document["station_id"]), int(document.get("evse_id", 0)), 0 if not document.get("evse_id") else 1),
        category=int(document["category"]),  # type: ignore[arg-type]
        evidence=str(document.get("evidence", "")),
        state=int(document["state"]),  # type: ignore[arg-type]
        declared_by=str(document.get("declared_by", "")),
        reviewed_by=str(document.get("reviewed_by", "")),
        tenant_id=str(document.get("tenant_id", "")),
        review_note=str(document.get("review_note", "")),
        covered_outage_ms=int(document.get("covered_outage_ms") or 0),
    )
    message.period.CopyFrom(time_range((int(document["start_ms"]), int(document["end_ms"]))))
    message.declared_at.FromMilliseconds(int(document["declared_ms"]))
    if document.get("reviewed_ms"):
        message.reviewed_at.FromMilliseconds(int(document["reviewed_ms"]))
    return message


# -- weekly windows, site profiles, contracts ------------------------------------------------------
def windows_from(messages: Sequence[sla_pb2.WeeklyWindow]) -> tuple[WeeklyWindow, ...]:
    try:
        return tuple(WeeklyWindow(m.day_of_week, m.start_minute, m.end_minute) for m in messages)
    except ValueError as error:
        raise BadRequest(str(error)) from error


def windows_to(windows: Sequence[WeeklyWindow]) -> list[sla_pb2.WeeklyWindow]:
    return [
        sla_pb2.WeeklyWindow(day_of_week=w.day, start_minute=w.start_minute, end_minute=w.end_minute) for w in windows
    ]


def profile_from(message: sla_pb2.SiteProfile, tenant_id: str, by: str, now: int) -> SiteProfile:
    port_power: dict[str, float] = {}
    for entry in message.port_min_power:
        if not entry.port.station_id or not entry.port.evse_id:
            raise BadRequest("port_min_power needs port.station_id and port.evse_id")
        port_power[PortKey(entry.port.station_id, entry.port.evse_id).key] = entry.min_power_w
    profile = SiteProfile(
        site_id=message.site_id,
        tenant_id=tenant_id,
        name=message.name,
        timezone=message.timezone or "UTC",
        hours=windows_from(message.hours),
        min_power_w=message.min_power_w,
        port_min_power_w=port_power,
        uptime_target_percent=message.uptime_target_percent,
        updated_ms=now,
        updated_by=by,
    )
    try:
        profile.validate()
    except ValueError as error:
        raise BadRequest(str(error)) from error
    return profile


def profile_to(profile: SiteProfile) -> sla_pb2.SiteProfile:
    message = sla_pb2.SiteProfile(
        site_id=profile.site_id,
        tenant_id=profile.tenant_id,
        name=profile.name,
        timezone=profile.timezone,
        hours=windows_to(profile.hours),
        min_power_w=profile.min_power_w,
        uptime_target_percent=profile.uptime_target_percent,
        updated_by=profile.updated_by,
    )
    for key, watts in sorted(profile.port_min_power_w.items()):
        port = PortKey.parse(key)
        message.port_min_power.add(port=ref(port.station_id, port.evse_id), min_power_w=watts)
    if profile.updated_ms:
        message.updated_at.FromMilliseconds(profile.updated_ms)
    return message


_KINDS = {sla_pb2.CONTRACT_KIND_SERVICE_PROVIDER: "service_provider", sla_pb2.CONTRACT_KIND_SITE_HOST: "site_host"}
_KIND_VALUES = {v: k for k, v in _KINDS.items()}


def _finite(value: float, name: str, *, upper: float | None = None) -> float:
    if not math.isfinite(value) or value < 0 or (upper is not None and value > upper):
        raise BadRequest(f"{name} must be a finite number >= 0" + (f" and <= {upper:g}" if upper is not None else ""))
    return value


def contract_from(message: sla_pb2.Contract, contract_id: str) -> contracts.Contract:
    from chargewatch.sla_engine.hours import zone

    try:
        zone(message.timezone or "UTC")
    except ValueError as error:
        raise BadRequest(str(error)) from error
    if not message.name:
        raise BadRequest("contract.name is required")
    if not message.site_ids and not message.station_ids:
        raise BadRequest("a contract covers at least one site or station")
    targets = []
    for target in message.response_targets:
        if target.severity == common_pb2.SEVERITY_UNSPECIFIED:
            raise BadRequest("response_targets need a severity")
        targets.append(
            contracts.ResponseTarget(int(target.severity), target.acknowledge_minutes, target.restore_minutes)
        )
    if len({t.severity for t in targets}) != len(targets):
        raise BadRequest("one response target per severity")
    credit = message.credit
    terms = contracts.CreditTerms(
        monthly_fee=_finite(credit.monthly_fee, "credit.monthly_fee"),
        currency=credit.currency or "USD",
        uptime_credit_percent_per_point=_finite(
            credit.uptime_credit_percent_per_point, "credit.uptime_credit_percent_per_point"
        ),
        uptime_credit_cap_percent=_finite(
            credit.uptime_credit_cap_percent or 100.0, "credit.uptime_credit_cap_percent", upper=100.0
        ),
        acknowledge_breach_amount=_finite(credit.acknowledge_breach_amount, "credit.acknowledge_breach_amount"),
        restore_breach_amount=_finite(credit.restore_breach_amount, "credit.restore_breach_amount"),
        max_credit_amount=_finite(credit.max_credit_amount, "credit.max_credit_amount"),
    )
    effective_from = message.effective_from.ToMilliseconds() if message.HasField("effective_from") else 0
    effective_to = message.effective_to.ToMilliseconds() if message.HasField("effective_to") else 0
    if effective_to and effective_to <= effective_from:
        raise BadRequest("effective_to must be after effective_from")
    return contracts.Contract(
        contract_id=contract_id,
        name=message.name,
        tenant_id=message.tenant_id,
        counterparty=message.counterparty,
        kind=_KINDS.get(message.kind, "service_provider"),
        site_ids=tuple(sorted(set(message.site_ids))),
        station_ids=tuple(sorted(set(message.station_ids))),
        uptime_target_percent=_finite(message.uptime_target_percent or 97.0, "uptime_target_percent", upper=100.0),
        uptime_level=contracts.SITE_LEVEL
        if message.uptime_level == sla_pb2.UPTIME_LEVEL_SITE
        else contracts.PORT_LEVEL,
        response_targets=tuple(targets),
        maintenance_windows=windows_from(message.maintenance_windows),
        business_hours=windows_from(message.business_hours),
        timezone=message.timezone or "UTC",
        restore_in_business_hours=message.restore_in_business_hours,
        credit=terms,
        effective_from_ms=effective_from,
        effective_to_ms=effective_to,
    )


def contract_document(contract: contracts.Contract, by: str, now: int) -> dict[str, Any]:
    from chargewatch.sla_engine.profiles import windows_document

    return {
        "name": contract.name,
        "tenant_id": contract.tenant_id,
        "counterparty": contract.counterparty,
        "kind": contract.kind,
        "site_ids": list(contract.site_ids),
        "station_ids": list(contract.station_ids),
        "uptime_target_percent": contract.uptime_target_percent,
        "uptime_level": contract.uptime_level,
        "response_targets": [
            {"severity": t.severity, "ack": t.acknowledge_minutes, "restore": t.restore_minutes}
            for t in contract.response_targets
        ],
        "maintenance_windows": windows_document(contract.maintenance_windows),
        "business_hours": windows_document(contract.business_hours),
        "timezone": contract.timezone,
        "restore_in_business_hours": 1 if contract.restore_in_business_hours else 0,
        "credit": {
            "monthly_fee": contract.credit.monthly_fee,
            "currency": contract.credit.currency,
            "per_point": contract.credit.uptime_credit_percent_per_point,
            "cap_percent": contract.credit.uptime_credit_cap_percent,
            "ack_amount": contract.credit.acknowledge_breach_amount,
            "restore_amount": contract.credit.restore_breach_amount,
            "max_amount": contract.credit.max_credit_amount,
        },
        "effective_from_ms": contract.effective_from_ms,
        "effective_to_ms": contract.effective_to_ms,
        "updated_ms": now,
        "updated_by": by,
    }


def contract_from_document(document: Document) -> contracts.Contract:
    from chargewatch.sla_engine.profiles import windows_from as stored_windows

    credit = document.get("credit") or {}
    return contracts.Contract(
        contract_id=str(document["_id"]),
        name=str(document.get("name", "")),
        tenant_id=str(document.get("tenant_id", "")),
        counterparty=str(document.get("counterparty", "")),
        kind=str(document.get("kind", "service_provider")),
        site_ids=tuple(document.get("site_ids") or ()),
        station_ids=tuple(document.get("station_ids") or ()),
        uptime_target_percent=float(document.get("uptime_target_percent") or 97.0),
        uptime_level=str(document.get("uptime_level") or contracts.PORT_LEVEL),
        response_targets=tuple(
            contracts.ResponseTarget(int(t["severity"]), int(t["ack"]), int(t["restore"]))
            for t in document.get("response_targets") or []
        ),
        maintenance_windows=stored_windows(document.get("maintenance_windows") or []),
        business_hours=stored_windows(document.get("business_hours") or []),
        timezone=str(document.get("timezone") or "UTC"),
        restore_in_business_hours=bool(document.get("restore_in_business_hours")),
        credit=contracts.CreditTerms(
            monthly_fee=float(credit.get("monthly_fee") or 0.0),
            currency=str(credit.get("currency") or "USD"),
            uptime_credit_percent_per_point=float(credit.get("per_point") or 0.0),
            uptime_credit_cap_percent=float(credit.get("cap_percent") or 100.0),
            acknowledge_breach_amount=float(credit.get("ack_amount") or 0.0),
            restore_breach_amount=float(credit.get("restore_amount") or 0.0),
            max_credit_amount=float(credit.get("max_amount") or 0.0),
        ),
        effective_from_ms=int(document.get("effective_from_ms") or 0),
        effective_to_ms=int(document.get("effective_to_ms") or 0),
    )


def contract_to(contract: contracts.Contract, document: Document | None = None) -> sla_pb2.Contract:
    message = sla_pb2.Contract(
        contract_id=contract.contract_id,
        name=contract.name,
        tenant_id=contract.tenant_id,
        counterparty=contract.counterparty,
        kind=_KIND_VALUES.get(contract.kind, sla_pb2.CONTRACT_KIND_SERVICE_PROVIDER),
        site_ids=list(contract.site_ids),
        station_ids=list(contract.station_ids),
        uptime_target_percent=contract.uptime_target_percent,
        uptime_level=sla_pb2.UPTIME_LEVEL_SITE
        if contract.uptime_level == contracts.SITE_LEVEL
        else sla_pb2.UPTIME_LEVEL_PORT,
        response_targets=[
            sla_pb2.ResponseTarget(
                severity=t.severity,  # type: ignore[arg-type]
                acknowledge_minutes=t.acknowledge_minutes,
                restore_minutes=t.restore_minutes,
            )
            for t in contract.response_targets
        ],
        maintenance_windows=windows_to(contract.maintenance_windows),
        business_hours=windows_to(contract.business_hours),
        timezone=contract.timezone,
        restore_in_business_hours=contract.restore_in_business_hours,
        credit=sla_pb2.CreditTerms(
            monthly_fee=contract.credit.monthly_fee,
            currency=contract.credit.currency,
            uptime_credit_percent_per_point=contract.credit.uptime_credit_percent_per_point,
            uptime_credit_cap_percent=contract.credit.uptime_credit_cap_percent,
            acknowledge_breach_amount=contract.credit.acknowledge_breach_amount,
            restore_breach_amount=contract.credit.restore_breach_amount,
            max_credit_amount=contract.credit.max_credit_amount,
        ),
    )
    if contract.effective_from_ms:
        message.effective_from.FromMilliseconds(contract.effective_from_ms)
    if contract.effective_to_ms:
        message.effective_to.FromMilliseconds(contract.effective_to_ms)
    if document is not None:
        if document.get("updated_ms"):
            message.updated_at.FromMilliseconds(int(document["updated_ms"]))
        message.updated_by = str(document.get("updated_by", ""))
    return message


def evaluation(result: contracts.Evaluation, document: Document | None) -> sla_pb2.ContractEvaluation:
    return sla_pb2.ContractEvaluation(
        contract=contract_to(result.contract, document),
        window=time_range(result.window),
        breaches=[
            sla_pb2.ContractBreach(
                kind=b.kind,
                subject=b.subject,
                measured=b.measured,
                limit=b.limit,
                unit=b.unit,
                amount=b.amount,
                severity=b.severity,  # type: ignore[arg-type]
                detail=b.detail,
            )
            for b in result.breaches
        ],
        subjects=[
            sla_pb2.ContractSubject(
                subject=s.subject,
                uptime_percent=s.figures.uptime_percent,
                window_ms=s.figures.window_ms,
                outage_ms=s.figures.outage_ms,
                excluded_ms=s.figures.excluded_ms,
                meets_target=s.meets_target,
            )
            for s in result.subjects
        ],
        total_credit=result.total_credit,
        currency=result.contract.credit.currency,
        capped=result.capped,
        incidents_evaluated=result.incidents_evaluated,
    )


def availability(value: int) -> Availability:
    try:
        return Availability(value)
    except ValueError as error:
        raise BadRequest(f"unknown availability {value}") from error
