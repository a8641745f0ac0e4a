"""The plain parts of the SLA and security routes: alert stream entries as public events (incidents for the
port's tenant, security alerts for analysts), who may receive which event types, the engines' messages as
the API's models, and the scope and window a report's query parameters mean."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from chargewatch.auth import Principal
from chargewatch.partner_api.api.sla import subject_query, window_query
from chargewatch.partner_api.convert import exclusion_out, incident_out, uptime_out
from chargewatch.partner_api.errors import ApiError
from chargewatch.partner_api.events import ALERT_TYPES, PUBLIC_TYPES, render, types_for
from chargewatch.partner_api.security_convert import action_out, alert_detail_out, policy_wire
from chargewatch.partner_api.security_models import ResponsePolicyIn
from chargewatch.streams import EventPublisher
from chargewatch.v1 import common_pb2, events_pb2, security_pb2, sla_pb2


def _alert_entry(alert: events_pb2.Alert, station: str = "CW-A-0001", tenant: str = "partner-a") -> dict[bytes, bytes]:
    publisher = EventPublisher.__new__(EventPublisher)
    publisher.producer = alert.source_service
    envelope = EventPublisher.envelope(
        publisher,
        station,
        alert,
        tenant_id=tenant,
        station_time=datetime(2026, 12, 1, 8, tzinfo=UTC),
        event_id=f"{alert.alert_id}:x",
    )
    return {b"type": envelope.event_type.encode(), b"data": envelope.SerializeToString()}


def _sla(rule: str, state: int, alert_id: str = "inc-0123456789abcdef0123") -> events_pb2.Alert:
    return events_pb2.Alert(
        alert_id=alert_id,
        source_service="sla-engine",
        rule=rule,
        severity=common_pb2.SEVERITY_HIGH,
        title="Port CW-A-0001/1 is down: faulted (GroundFailure)",
        subject_kind="port",
        subject_id="CW-A-0001/1",
        state=state,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("alert", "public_type", "incident_id"),
    [
        (_sla("sla.port_down", events_pb2.ALERT_STATE_OPEN), "incident.opened", "inc-0123456789abcdef0123"),
        (_sla("sla.port_down", events_pb2.ALERT_STATE_RESOLVED), "incident.resolved", "inc-0123456789abcdef0123"),
        (
            _sla("sla.incident_acknowledge_overdue", events_pb2.ALERT_STATE_OPEN, "inc-9:acknowledge_overdue"),
            "incident.overdue",
            "inc-9",
        ),
    ],
)
def test_sla_alerts_become_incident_events(alert: events_pb2.Alert, public_type: str, incident_id: str) -> None:
    event = render("1764576000000-0", _alert_entry(alert))
    assert event is not None and event.type == public_type and event.tenant_id == "partner-a"
    body = orjson.loads(event.body)
    assert body["data"]["incident_id"] == incident_id
    assert body["data"]["severity"] == "high" and body["data"]["subject_id"] == "CW-A-0001/1"
    assert body["time"] == "2026-12-01T08:00:00Z"


def test_budget_alerts_and_security_alerts() -> None:
    budget = _sla("sla.uptime_at_risk", events_pb2.ALERT_STATE_OPEN, "CW-A-0001|1:2026-12:uptime_at_risk")
    event = render("1-0", _alert_entry(budget))
    assert event is not None and event.type == "uptime.at_risk"
    assert orjson.loads(event.body)["data"]["alert_id"] == "CW-A-0001|1:2026-12:uptime_at_risk"
    unknown = _sla("sla.something_new", events_pb2.ALERT_STATE_OPEN)
    assert render("1-0", _alert_entry(unknown)) is None  # a new rule is not published until it has a type
    security = events_pb2.Alert(
        alert_id="01a2",
        source_service="security-monitor",
        rule="station-brute-force",
        severity=common_pb2.SEVERITY_HIGH,
        subject_kind="station",
        subject_id="CW-A-0001",
        state=events_pb2.ALERT_STATE_OPEN,
        mitre_technique="T0859",
        risk_score=40.0,
    )
    raised = render("2-0", _alert_entry(security))
    assert raised is not None and raised.type == "alert.raised"
    data = orjson.loads(raised.body)["data"]
    assert data["alert_id"] == "01a2" and data["mitre_technique"] == "T0859" and data["state"] == "open"
    security.state = events_pb2.ALERT_STATE_FALSE_POSITIVE
    updated = render("3-0", _alert_entry(security))
    assert updated is not None and updated.type == "alert.updated"
    assert orjson.loads(updated.body)["data"]["state"] == "false_positive"


@pytest.mark.parametrize(
    ("roles", "alerts"),
    [
        ({"partner"}, False),
        ({"sre"}, False),
        ({"operator"}, True),
        ({"security-analyst"}, True),
        ({"sre", "security-analyst"}, True),
    ],
)
def test_security_alert_events_are_for_operators_and_analysts(roles: set[str], alerts: bool) -> None:
    allowed = types_for(frozenset(roles))
    assert allowed >= PUBLIC_TYPES
    assert (allowed >= ALERT_TYPES) is alerts and (not ALERT_TYPES & allowed) is (not alerts)


def _principal(roles: set[str], tenant: str | None) -> Principal:
    return Principal(
        subject="u",
        username="u",
        client_id="c",
        roles=frozenset(roles),
        tenant_id=tenant,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


def _subject(principal: Principal, **query: Any) -> Any:
    arguments = {"station_id": None, "evse_id": None, "site_id": None, "tenant_id": None, **query}
    return asyncio.run(subject_query(principal, **arguments))


def test_a_reports_subject_is_one_port_station_site_or_tenant() -> None:
    partner = _principal({"partner"}, "partner-a")
    operator = _principal({"operator"}, None)
    port = _subject(partner, station_id="CW-A-1", evse_id=2)
    assert port.scope == sla_pb2.UPTIME_SCOPE_PORT and (port.port.station_id, port.port.evse_id) == ("CW-A-1", 2)
    assert _subject(partner, station_id="CW-A-1").scope == sla_pb2.UPTIME_SCOPE_STATION
    assert _subject(partner, site_id="s").scope == sla_pb2.UPTIME_SCOPE_SITE
    own = _subject(partner)
    assert (own.scope, own.subject_id) == (sla_pb2.UPTIME_SCOPE_TENANT, "partner-a")
    assert _subject(operator).scope == sla_pb2.UPTIME_SCOPE_OPERATOR
    assert _subject(operator, tenant_id="partner-b").subject_id == "partner-b"
    with pytest.raises(ApiError) as refused:
        _subject(partner, tenant_id="partner-b")
    assert refused.value.status == 403
    for wrong in ({"station_id": "x", "site_id": "y"}, {"evse_id": 1}, {"site_id": "y", "tenant_id": "partner-a"}):
        with pytest.raises(ApiError) as invalid:
            _subject(operator, **wrong)
        assert invalid.value.status == 422


def test_a_window_is_from_and_to_or_a_period() -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    explicit = asyncio.run(window_query(start, end, None, None))
    assert explicit.window.start.ToDatetime(tzinfo=UTC) == start and explicit.period.kind == 0
    period = asyncio.run(window_query(None, None, "quarter", start))
    assert period.period.kind == sla_pb2.PERIOD_KIND_QUARTER and period.period.at.ToDatetime(tzinfo=UTC) == start
    assert not period.window.HasField("start")
    for arguments in ((start, None, None, None), (end, start, None, None), (start, end, "month", None)):
        with pytest.raises(ApiError) as invalid:
            asyncio.run(window_query(*arguments))
        assert invalid.value.status == 422


def test_engine_messages_become_the_apis_models() -> None:
    report = sla_pb2.UptimeReport(
        scope=sla_pb2.UPTIME_SCOPE_SITE,
        subject_id="ams",
        uptime_percent=96.5,
        target_percent=97.0,
        window_ms=3_600_000,
        outage_ms=126_001,
        port_count=1,
        ports=[
            sla_pb2.PortUptime(
                port=common_pb2.ConnectorRef(station_id="CW-A-1", evse_id=1),
                uptime_percent=96.5,
                window_ms=3_600_000,
                outage_ms=126_001,
                site_id="ams",
                tenant_id="partner-a",
            )
        ],
    )
    out = uptime_out(report)
    assert out.scope == "site" and out.meets_target is False
    assert out.outage_minutes == 2.1 and out.window_minutes == 60.0 and out.ports[0].first_seen is None
    incident = sla_pb2.Incident(
        incident_id="inc-1",
        port=common_pb2.ConnectorRef(station_id="CW-A-1", evse_id=2),
        cause="offline",
        severity=common_pb2.SEVERITY_CRITICAL,
        state=sla_pb2.INCIDENT_STATE_ACKNOWLEDGED,
        down_ms=90_000,
        notes=[sla_pb2.IncidentNote(author="op", action="acknowledge", text="on it")],
    )
    converted = incident_out(incident)
    assert (converted.severity, converted.state, converted.causes) == ("critical", "acknowledged", ["offline"])
    assert converted.down_minutes == 1.5 and converted.notes[0].text == "on it"
    exclusion = exclusion_out(
        sla_pb2.Exclusion(
            exclusion_id="exc-1",
            category=sla_pb2.EXCLUSION_CATEGORY_NATURAL_DISASTER,
            state=sla_pb2.EXCLUSION_STATE_REJECTED,
        )
    )
    assert (exclusion.category, exclusion.state) == ("natural_disaster", "rejected")
    action = security_pb2.ResponseAction(
        action_id="a1",
        alert_id="al1",
        kind=security_pb2.RESPONSE_ACTION_KIND_BLOCK_TOKEN,
        state=security_pb2.RESPONSE_ACTION_STATE_UNDONE,
        reversible=True,
    )
    assert (action_out(action).kind, action_out(action).state) == ("block_token", "undone")
    detail = security_pb2.AlertDetail(
        alert=events_pb2.Alert(alert_id="al1", rule="token-clone", state=events_pb2.ALERT_STATE_RESOLVED),
        attributes={"distance_km": "640"},
        actions=[action],
    )
    converted_detail = alert_detail_out(detail)
    assert converted_detail.state == "resolved" and converted_detail.attributes == {"distance_km": "640"}
    wire = policy_wire("p1", ResponsePolicyIn(name="n", actions=["block_token"], min_severity="high"))
    assert list(wire.actions) == [security_pb2.RESPONSE_ACTION_KIND_BLOCK_TOKEN]
    assert wire.min_severity == common_pb2.SEVERITY_HIGH and wire.policy_id == "p1"
