"""gRPC `Sla` over a real server and store: uptime per scope, exclusions, incidents, reports,
profiles, contracts, port states and forecasts, each with the tenant confinement it must keep.

The fleet (events fed through a processor that writes the real store), on one past day D (UTC):
- CW-A-1 (tenant partner-a, site-a): port 1 faulted 10:00-14:00 (240 min), port 2 unavailable
  12:00-12:30 (30 min);
- CW-B-1 (tenant partner-b, site-b): disconnected 08:00-09:00 (60 min), one port.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from chargewatch.sla_engine.grpc_api import ApiSettings
from chargewatch.v1 import common_pb2, events_pb2, sla_pb2
from tests.integration.sla_engine.sla_support import (
    NOBODY,
    OPERATOR,
    PARTNER_A,
    PARTNER_B,
    SRE,
    Fixture,
    api_fixture,
    connected,
    gateway_event,
    status,
)

pytestmark = pytest.mark.integration

AVAILABLE = common_pb2.CONNECTOR_STATUS_AVAILABLE
CHARGING = common_pb2.CONNECTOR_STATUS_CHARGING
FAULTED = common_pb2.CONNECTOR_STATUS_FAULTED
UNAVAILABLE = common_pb2.CONNECTOR_STATUS_UNAVAILABLE
MIN = 60_000
DAY = (datetime.now(UTC) - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
SITES = {"CW-A-1": "site-a", "CW-B-1": "site-b"}


def at(hour: float) -> datetime:
    return DAY + timedelta(hours=hour)


def window(start_hour: float = 0, end_hour: float = 24) -> common_pb2.TimeRange:
    out = common_pb2.TimeRange()
    out.start.FromDatetime(at(start_hour))
    out.end.FromDatetime(at(end_hour))
    return out


def port(station: str, evse: int) -> common_pb2.ConnectorRef:
    return common_pb2.ConnectorRef(station_id=station, evse_id=evse, connector_id=1)


def fleet_events() -> list[events_pb2.EventEnvelope]:
    a, b = "CW-A-1", "CW-B-1"
    lost = events_pb2.StationConnection(kind=events_pb2.StationConnection.KIND_DISCONNECTED, reason="connection lost")
    return [
        gateway_event(a, at(0), connected(), "a-c1"),
        gateway_event(a, at(0), status(1, AVAILABLE), "a-s1"),
        gateway_event(a, at(0), status(2, AVAILABLE), "a-s2"),
        gateway_event(a, at(10), status(1, FAULTED, "GroundFailure"), "a-s3"),
        gateway_event(a, at(12), status(2, UNAVAILABLE), "a-s4"),
        gateway_event(a, at(12.5), status(2, AVAILABLE), "a-s5"),
        gateway_event(a, at(14), status(1, AVAILABLE), "a-s6"),
        gateway_event(b, at(0), connected(), "b-c1", tenant="partner-b"),
        gateway_event(b, at(0), status(1, AVAILABLE), "b-s1", tenant="partner-b"),
        gateway_event(b, at(8), lost, "b-c2", tenant="partner-b"),
        gateway_event(b, at(9), connected(), "b-c3", tenant="partner-b"),
    ]


@pytest.fixture
async def fleet(mongo_url: str) -> AsyncIterator[Fixture]:
    async with api_fixture(mongo_url, site_of=SITES.get, api=ApiSettings(exclusion_four_eyes=False)) as fixture:
        fixture.processor.apply(fleet_events(), live=True)
        fixture.processor.refresh_sites()
        await fixture.processor.flush()
        yield fixture


async def uptime(fixture: Fixture, principal: common_pb2.Principal, **fields: object) -> sla_pb2.UptimeReport:
    return await fixture.stub.GetUptime(sla_pb2.GetUptimeRequest(principal=principal, window=window(), **fields))  # type: ignore[arg-type]


async def code_of(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code()
    raise AssertionError("the call succeeded")


async def test_uptime_per_scope_to_the_minute(fleet: Fixture) -> None:
    one = await uptime(fleet, OPERATOR, scope=sla_pb2.UPTIME_SCOPE_PORT, port=port("CW-A-1", 1))
    assert (one.window_ms, one.outage_ms, one.excluded_ms) == (1440 * MIN, 240 * MIN, 0)
    assert one.uptime_percent == pytest.approx((1440 - 240) / 1440 * 100)
    assert one.ports[0].outage_minutes == 240 and one.ports[0].window_minutes == 1440
    assert one.ports[0].site_id == "site-a" and not one.ports[0].meets_target
    station = await uptime(fleet, OPERATOR, scope=sla_pb2.UPTIME_SCOPE_STATION, subject_id="CW-A-1")
    assert (station.port_count, station.window_ms, station.outage_ms) == (2, 2880 * MIN, 270 * MIN)
    site = await uptime(fleet, PARTNER_A, scope=sla_pb2.UPTIME_SCOPE_SITE, subject_id="site-a")
    assert site.outage_ms == 270 * MIN
    tenant = await uptime(fleet, PARTNER_A, scope=sla_pb2.UPTIME_SCOPE_TENANT)
    assert (tenant.subject_id, tenant.outage_ms) == ("partner-a", 270 * MIN)
    everyone = await uptime(fleet, SRE, scope=sla_pb2.UPTIME_SCOPE_OPERATOR, omit_ports=True)
    assert (everyone.port_count, everyone.window_ms, everyone.outage_ms) == (3, 4320 * MIN, 330 * MIN)
    # CW-A-1/2 (30 minutes down: 97.92%) meets NEVI's 97%; the other two do not.
    assert everyone.ports_below_target == 2 and not everyone.ports
    assert everyone.min_port_uptime_percent == pytest.approx((1440 - 240) / 1440 * 100)


async def test_a_partner_sees_only_its_own_tenant(fleet: Fixture) -> None:
    assert await code_of(uptime(fleet, PARTNER_A, scope=sla_pb2.UPTIME_SCOPE_PORT, port=port("CW-B-1", 1))) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert await code_of(uptime(fleet, PARTNER_A, scope=sla_pb2.UPTIME_SCOPE_STATION, subject_id="CW-B-1")) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert await code_of(uptime(fleet, PARTNER_A, scope=sla_pb2.UPTIME_SCOPE_TENANT, subject_id="partner-b")) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert await code_of(uptime(fleet, PARTNER_A, scope=sla_pb2.UPTIME_SCOPE_OPERATOR)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    assert await code_of(uptime(fleet, NOBODY, scope=sla_pb2.UPTIME_SCOPE_STATION, subject_id="CW-A-1")) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    states = await fleet.stub.ListPortStates(sla_pb2.ListPortStatesRequest(principal=PARTNER_B))
    assert [(p.port.station_id, p.tenant_id) for p in states.ports] == [("CW-B-1", "partner-b")]
    incidents = await fleet.stub.ListIncidents(sla_pb2.ListIncidentsRequest(principal=PARTNER_B))
    assert {i.port.station_id for i in incidents.incidents} == {"CW-B-1"}
    other = await fleet.stub.ListIncidents(sla_pb2.ListIncidentsRequest(principal=OPERATOR, station_id="CW-A-1"))
    assert (
        await code_of(
            fleet.stub.GetIncident(
                sla_pb2.GetIncidentRequest(principal=PARTNER_B, incident_id=other.incidents[0].incident_id)
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )


async def test_bad_input_is_refused_with_the_reason(fleet: Fixture) -> None:
    backwards = common_pb2.TimeRange()
    backwards.start.FromDatetime(at(5))
    backwards.end.FromDatetime(at(1))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await fleet.stub.GetUptime(
            sla_pb2.GetUptimeRequest(
                principal=OPERATOR, scope=sla_pb2.UPTIME_SCOPE_STATION, subject_id="CW-A-1", window=backwards
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "before" in (caught.value.details() or "")
    assert await code_of(fleet.stub.GetUptime(sla_pb2.GetUptimeRequest(principal=OPERATOR))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (
        await code_of(
            fleet.stub.GetUptime(
                sla_pb2.GetUptimeRequest(principal=OPERATOR, scope=sla_pb2.UPTIME_SCOPE_STATION, subject_id="bad id!")
            )
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (
        await code_of(
            fleet.stub.ListIncidents(
                sla_pb2.ListIncidentsRequest(principal=OPERATOR, page=common_pb2.PageRequest(page_size=10_000))
            )
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (
        await code_of(
            fleet.stub.ListIncidents(
                sla_pb2.ListIncidentsRequest(principal=OPERATOR, page=common_pb2.PageRequest(page_token="not-a-token"))
            )
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_exclusions_are_declared_reviewed_and_remove_exactly_their_minutes(fleet: Fixture) -> None:
    period = window(11, 12.5)
    declare = sla_pb2.DeclareExclusionRequest(
        principal=OPERATOR,
        port=port("CW-A-1", 1),
        category=sla_pb2.EXCLUSION_CATEGORY_UTILITY_INTERRUPTION,
        period=period,
        evidence="Utility outage notice #4711 from the grid operator",
    )
    pending = await fleet.stub.DeclareExclusion(declare)
    assert pending.state == sla_pb2.EXCLUSION_STATE_PENDING
    assert pending.covered_outage_ms == 90 * MIN
    assert pending.tenant_id == "partner-a" and pending.declared_by == "op-1"
    before = await uptime(fleet, OPERATOR, scope=sla_pb2.UPTIME_SCOPE_PORT, port=port("CW-A-1", 1))
    assert before.excluded_ms == 0  # pending exclusions exclude nothing

    partner_declares = sla_pb2.DeclareExclusionRequest()
    partner_declares.CopyFrom(declare)
    partner_declares.principal.CopyFrom(PARTNER_A)
    assert await code_of(fleet.stub.DeclareExclusion(partner_declares)) == grpc.StatusCode.PERMISSION_DENIED
    no_evidence = sla_pb2.DeclareExclusionRequest()
    no_evidence.CopyFrom(declare)
    no_evidence.evidence = "  "
    assert await code_of(fleet.stub.DeclareExclusion(no_evidence)) == grpc.StatusCode.INVALID_ARGUMENT
    unknown = sla_pb2.DeclareExclusionRequest()
    unknown.CopyFrom(declare)
    unknown.port.station_id = "CW-NOPE"
    assert await code_of(fleet.stub.DeclareExclusion(unknown)) == grpc.StatusCode.NOT_FOUND

    approve = sla_pb2.ReviewExclusionRequest(principal=OPERATOR, exclusion_id=pending.exclusion_id, approve=True)
    assert (
        await code_of(
            fleet.stub.ReviewExclusion(
                sla_pb2.ReviewExclusionRequest(principal=PARTNER_A, exclusion_id=pending.exclusion_id, approve=True)
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    approved = await fleet.stub.ReviewExclusion(approve)
    assert approved.state == sla_pb2.EXCLUSION_STATE_APPROVED and approved.reviewed_by == "op-1"
    assert await code_of(fleet.stub.ReviewExclusion(approve)) == grpc.StatusCode.FAILED_PRECONDITION
    after = await uptime(fleet, OPERATOR, scope=sla_pb2.UPTIME_SCOPE_PORT, port=port("CW-A-1", 1))
    assert (after.outage_ms, after.excluded_ms) == (240 * MIN, 90 * MIN)
    assert after.uptime_percent == pytest.approx((1440 - 150) / 1440 * 100)

    # An overlapping maintenance exclusion 12:00-13:00: together they cover 11:00-13:00, counted once.
    overlapping = sla_pb2.DeclareExclusionRequest()
    overlapping.CopyFrom(declare)
    overlapping.category = sla_pb2.EXCLUSION_CATEGORY_SCHEDULED_MAINTENANCE
    overlapping.period.CopyFrom(window(12, 13))
    second = await fleet.stub.DeclareExclusion(overlapping)
    await fleet.stub.ReviewExclusion(
        sla_pb2.ReviewExclusionRequest(principal=OPERATOR, exclusion_id=second.exclusion_id, approve=True)
    )
    both = await uptime(fleet, OPERATOR, scope=sla_pb2.UPTIME_SCOPE_PORT, port=port("CW-A-1", 1))
    assert both.excluded_ms == 120 * MIN

    # A whole station (evse 0), rejected: it excludes nothing.
    station_wide = sla_pb2.DeclareExclusionRequest(
        principal=OPERATOR,
        port=common_pb2.ConnectorRef(station_id="CW-B-1"),
        category=sla_pb2.EXCLUSION_CATEGORY_VANDALISM,
        period=window(8.5, 9.5),
        evidence="Police report 2026-123",
    )
    rejected = await fleet.stub.DeclareExclusion(station_wide)
    await fleet.stub.ReviewExclusion(
        sla_pb2.ReviewExclusionRequest(
            principal=OPERATOR, exclusion_id=rejected.exclusion_id, approve=False, note="no evidence"
        )
    )
    accepted = await fleet.stub.DeclareExclusion(station_wide)
    await fleet.stub.ReviewExclusion(
        sla_pb2.ReviewExclusionRequest(principal=OPERATOR, exclusion_id=accepted.exclusion_id, approve=True)
    )
    b = await uptime(fleet, OPERATOR, scope=sla_pb2.UPTIME_SCOPE_STATION, subject_id="CW-B-1")
    assert (b.outage_ms, b.excluded_ms) == (60 * MIN, 30 * MIN)

    listed = await fleet.stub.ListExclusions(sla_pb2.ListExclusionsRequest(principal=PARTNER_A))
    assert {e.port.station_id for e in listed.exclusions} == {"CW-A-1"} and listed.page.total_size == 2
    rejected_only = await fleet.stub.ListExclusions(
        sla_pb2.ListExclusionsRequest(principal=OPERATOR, state=sla_pb2.EXCLUSION_STATE_REJECTED)
    )
    assert [e.review_note for e in rejected_only.exclusions] == ["no evidence"]


async def test_incidents_are_acknowledged_and_resolved_by_operators(fleet: Fixture) -> None:
    now = datetime.now(UTC)
    fleet.processor.apply(
        [gateway_event("CW-A-1", now - timedelta(hours=1), status(2, UNAVAILABLE), "a-s7")], live=True
    )
    await fleet.processor.flush()
    listed = await fleet.stub.ListIncidents(sla_pb2.ListIncidentsRequest(principal=OPERATOR, station_id="CW-A-1"))
    assert [(i.port.evse_id, i.state) for i in listed.incidents] == [
        (2, sla_pb2.INCIDENT_STATE_OPEN),
        (2, sla_pb2.INCIDENT_STATE_RESOLVED),
        (1, sla_pb2.INCIDENT_STATE_RESOLVED),
    ]
    ongoing, _, fault = listed.incidents
    assert fault.cause == "faulted:GroundFailure" and fault.resolved_by == "port recovered"
    assert fault.time_to_restore_ms == 240 * MIN
    assert (
        await code_of(
            fleet.stub.AcknowledgeIncident(
                sla_pb2.IncidentActionRequest(principal=OPERATOR, incident_id=fault.incident_id)
            )
        )
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (
        await code_of(
            fleet.stub.AcknowledgeIncident(
                sla_pb2.IncidentActionRequest(principal=PARTNER_A, incident_id=ongoing.incident_id)
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )

    acked = await fleet.stub.AcknowledgeIncident(
        sla_pb2.IncidentActionRequest(principal=OPERATOR, incident_id=ongoing.incident_id, note="technician dispatched")
    )
    assert acked.state == sla_pb2.INCIDENT_STATE_ACKNOWLEDGED and acked.acknowledged_by == "op-1"
    assert [(n.action, n.text) for n in acked.notes] == [("acknowledge", "technician dispatched")]
    again = await fleet.stub.AcknowledgeIncident(
        sla_pb2.IncidentActionRequest(principal=OPERATOR, incident_id=ongoing.incident_id)
    )
    assert again.acknowledged_at == acked.acknowledged_at  # the first acknowledgement stands
    resolved = await fleet.stub.ResolveIncident(
        sla_pb2.IncidentActionRequest(principal=OPERATOR, incident_id=ongoing.incident_id, note="replaced the cable")
    )
    assert resolved.state == sla_pb2.INCIDENT_STATE_RESOLVED and resolved.resolved_by == "op-1"
    assert not resolved.HasField("restored_at")  # the port itself is still down
    mine = await fleet.stub.GetIncident(
        sla_pb2.GetIncidentRequest(principal=PARTNER_A, incident_id=ongoing.incident_id)
    )
    assert mine.state == sla_pb2.INCIDENT_STATE_RESOLVED

    pages, token = [], ""
    while True:
        page = await fleet.stub.ListIncidents(
            sla_pb2.ListIncidentsRequest(principal=SRE, page=common_pb2.PageRequest(page_size=1, page_token=token))
        )
        pages.extend(i.incident_id for i in page.incidents)
        token = page.page.next_page_token
        if not token:
            break
    assert len(pages) == len(set(pages)) == 4
    opened_only = await fleet.stub.ListIncidents(
        sla_pb2.ListIncidentsRequest(principal=SRE, state=sla_pb2.INCIDENT_STATE_RESOLVED, range=window())
    )
    assert len(opened_only.incidents) == 3


async def test_reports_in_json_and_csv(fleet: Fixture) -> None:
    start = events_pb2.TransactionEvent(
        kind=events_pb2.TransactionEvent.KIND_STARTED,
        transaction_id="tx-1",
        evse_id=2,
        connector_id=1,
        id_token="DEADBEEF",
        id_token_type="ISO14443",
        meter_wh=100_000,
    )
    samples = []
    for minute, watts in ((5, 50_000.0), (10, 62_500.0)):
        for measurand, value in (
            ("Power.Active.Import", watts),
            ("Energy.Active.Import.Register", 100_000 + minute * 800),
        ):
            sample = events_pb2.SampledValue(measurand=measurand, value=value)
            sample.timestamp.FromDatetime(at(15) + timedelta(minutes=minute))
            samples.append(sample)
    meter = events_pb2.MeterValues(evse_id=2, connector_id=1, transaction_id="tx-1", samples=samples)
    end = events_pb2.TransactionEvent(
        kind=events_pb2.TransactionEvent.KIND_ENDED,
        transaction_id="tx-1",
        meter_wh=112_500,
        stop_reason="EVDisconnected",
    )
    await fleet.feed(
        [
            gateway_event("CW-A-1", at(15), status(2, CHARGING), "a-s8"),
            gateway_event("CW-A-1", at(15), start, "a-t1"),
            gateway_event("CW-A-1", at(15.2), meter, "a-m1"),
            gateway_event("CW-A-1", at(16), end, "a-t2"),
            gateway_event("CW-A-1", at(16), status(2, AVAILABLE), "a-s9"),
        ]
    )

    def report(**fields: object) -> sla_pb2.GetReportRequest:
        return sla_pb2.GetReportRequest(principal=PARTNER_A, scope=sla_pb2.UPTIME_SCOPE_TENANT, **fields)  # type: ignore[arg-type]

    ports_csv = await fleet.stub.GetReport(
        report(kind=sla_pb2.REPORT_KIND_UPTIME, format=sla_pb2.REPORT_FORMAT_CSV, window=window())
    )
    assert ports_csv.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(ports_csv.body.decode())))
    assert [(r["station_id"], r["evse_id"], r["t_outage_minutes"]) for r in rows] == [
        ("CW-A-1", "1", "240.0"),
        ("CW-A-1", "2", "30.0"),
    ]
    outages_csv = await fleet.stub.GetReport(
        report(kind=sla_pb2.REPORT_KIND_UPTIME, format=sla_pb2.REPORT_FORMAT_CSV, window=window(), section="outages")
    )
    outage_rows = list(csv.DictReader(io.StringIO(outages_csv.body.decode())))
    assert [(r["evse_id"], r["duration_minutes"], r["cause"], r["error_code"]) for r in outage_rows] == [
        ("1", "240.0", "faulted", "GroundFailure"),
        ("2", "30.0", "unavailable", ""),
    ]
    quarterly = await fleet.stub.GetReport(
        report(
            kind=sla_pb2.REPORT_KIND_NEVI_QUARTERLY,
            format=sla_pb2.REPORT_FORMAT_JSON,
            period=sla_pb2.Period(at=window().start),
        )
    )
    nevi = json.loads(quarterly.body)
    assert nevi["regulation"].startswith("23 CFR 680.112")
    assert nevi["stations"] == ["CW-A-1"]
    [session] = nevi["sessions"]
    assert session["session_id"] == "tx-1" and session["energy_kwh"] == 12.5 and session["peak_power_kw"] == 62.5
    assert session["payment_method"] == "RFID card" and session["successful"] and session["error_codes"] == []
    assert session["duration_minutes"] == 60.0
    day_month = [
        m for m in nevi["months"] if m["station_id"] == "CW-A-1" and m["evse_id"] == 1 and m["month"] == f"{DAY:%Y-%m}"
    ]
    assert day_month[0]["t_outage_minutes"] == 240.0 and day_month[0]["t_excluded_minutes"] == 0.0
    assert len({m["month"] for m in nevi["months"]}) == 3
    assert sorted(o["duration_minutes"] for o in nevi["outages"]) == [30.0, 240.0]
    kpis = await fleet.stub.GetReport(report(kind=sla_pb2.REPORT_KIND_KPI, window=window()))
    figures = json.loads(kpis.body)["figures"]
    assert figures["charging_sessions"] == 1 and figures["successful_session_rate"] == 1.0
    assert figures["first_attempt_success_rate"] == 1.0 and figures["incidents"] == 2
    assert figures["mean_time_to_restore_minutes"] == 135.0  # (240 + 30) / 2
    assert (
        await code_of(
            fleet.stub.GetReport(
                report(kind=sla_pb2.REPORT_KIND_UPTIME, format=sla_pb2.REPORT_FORMAT_CSV, section="nope")
            )
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_site_hours_contracts_and_their_evaluation(fleet: Fixture) -> None:
    profile = sla_pb2.SiteProfile(
        site_id="site-a",
        tenant_id="partner-a",
        timezone="UTC",
        hours=[sla_pb2.WeeklyWindow(day_of_week=d, start_minute=8 * 60, end_minute=12 * 60) for d in range(7)],
        uptime_target_percent=95.0,
    )
    assert (
        await code_of(
            fleet.stub.UpsertSiteProfile(sla_pb2.UpsertSiteProfileRequest(principal=PARTNER_A, profile=profile))
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    stored = await fleet.stub.UpsertSiteProfile(sla_pb2.UpsertSiteProfileRequest(principal=OPERATOR, profile=profile))
    assert stored.updated_by == "op-1" and len(stored.hours) == 7
    bad = sla_pb2.SiteProfile()
    bad.CopyFrom(profile)
    bad.timezone = "Mars/Olympus"
    assert (
        await code_of(fleet.stub.UpsertSiteProfile(sla_pb2.UpsertSiteProfileRequest(principal=OPERATOR, profile=bad)))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    assert await code_of(
        fleet.stub.GetSiteProfile(sla_pb2.GetSiteProfileRequest(principal=PARTNER_B, site_id="site-a"))
    ) == (grpc.StatusCode.NOT_FOUND)
    # Open 08:00-12:00: of port 1's 10:00-14:00 fault, 12:00-14:00 is outside the declared hours.
    hours_applied = await uptime(fleet, PARTNER_A, scope=sla_pb2.UPTIME_SCOPE_PORT, port=port("CW-A-1", 1))
    assert (hours_applied.outage_ms, hours_applied.excluded_ms, hours_applied.target_percent) == (
        240 * MIN,
        120 * MIN,
        95.0,
    )

    contract = sla_pb2.Contract(
        name="FixCo maintenance",
        tenant_id="partner-a",
        counterparty="FixCo",
        kind=sla_pb2.CONTRACT_KIND_SERVICE_PROVIDER,
        site_ids=["site-a"],
        uptime_target_percent=99.0,
        uptime_level=sla_pb2.UPTIME_LEVEL_PORT,
        response_targets=[
            sla_pb2.ResponseTarget(severity=common_pb2.SEVERITY_HIGH, acknowledge_minutes=15, restore_minutes=60)
        ],
        timezone="UTC",
        credit=sla_pb2.CreditTerms(
            monthly_fee=3000.0, currency="EUR", uptime_credit_percent_per_point=10.0, restore_breach_amount=25.0
        ),
    )
    assert await code_of(
        fleet.stub.UpsertContract(sla_pb2.UpsertContractRequest(principal=PARTNER_A, contract=contract))
    ) == (grpc.StatusCode.PERMISSION_DENIED)
    saved = await fleet.stub.UpsertContract(sla_pb2.UpsertContractRequest(principal=OPERATOR, contract=contract))
    assert saved.contract_id.startswith("ctr-")
    evaluation = await fleet.stub.EvaluateContract(
        sla_pb2.EvaluateContractRequest(principal=PARTNER_A, contract_id=saved.contract_id, window=window())
    )
    kinds = sorted((b.kind, b.subject) for b in evaluation.breaches)
    fault_incident = next(b.subject for b in evaluation.breaches if b.kind == "restore")
    # Port 1: 120 counted minutes of 1440 (91.67%) misses 99%; port 2's 12:00-12:30 is outside the
    # declared hours, so it counts nothing and meets the target.
    assert kinds == [("acknowledge", fault_incident), ("restore", fault_incident), ("uptime", "CW-A-1/1")]
    assert {s.subject: s.meets_target for s in evaluation.subjects} == {"CW-A-1/1": False, "CW-A-1/2": True}
    restore = next(b for b in evaluation.breaches if b.kind == "restore")
    assert (restore.measured, restore.limit, restore.amount) == (240.0, 60.0, 25.0)
    subjects = {s.subject: s for s in evaluation.subjects}
    assert subjects["CW-A-1/1"].uptime_percent == pytest.approx((1440 - 120) / 1440 * 100)
    assert evaluation.currency == "EUR" and evaluation.incidents_evaluated == 1  # the unavailability is MEDIUM
    assert evaluation.total_credit == pytest.approx(sum(b.amount for b in evaluation.breaches))
    assert (
        await code_of(
            fleet.stub.EvaluateContract(
                sla_pb2.EvaluateContractRequest(principal=PARTNER_B, contract_id=saved.contract_id)
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    listed = await fleet.stub.ListContracts(sla_pb2.ListContractsRequest(principal=PARTNER_B))
    assert not listed.contracts


async def test_port_states_and_the_forecast(fleet: Fixture) -> None:
    now = datetime.now(UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # Within the reorder horizon (an hour): older events take effect at the freeze boundary.
    down_since = max(month_start, now - timedelta(minutes=30))
    fleet.processor.apply(
        [gateway_event("CW-B-1", down_since, status(1, FAULTED, "HighTemperature"), "b-s2", tenant="partner-b")],
        live=True,
    )
    await fleet.processor.flush()
    states = await fleet.stub.ListPortStates(
        sla_pb2.ListPortStatesRequest(principal=OPERATOR, availability=sla_pb2.PORT_AVAILABILITY_FAULTED)
    )
    assert [(p.port.station_id, p.cause, p.up) for p in states.ports] == [("CW-B-1", "faulted:HighTemperature", False)]
    assert states.ports[0].open_incident_id
    report = await fleet.stub.GetForecast(
        sla_pb2.GetForecastRequest(principal=PARTNER_B, scope=sla_pb2.UPTIME_SCOPE_PORT, port=port("CW-B-1", 1))
    )
    [forecast] = report.ports
    assert forecast.down_now and forecast.target_percent == 97.0
    assert forecast.used_ms >= int((now - down_since).total_seconds() * 1000) - 1000
    assert forecast.remaining_ms == forecast.allowed_down_ms - forecast.used_ms
    assert forecast.message.startswith("port CW-B-1/1 can be down at most ") and forecast.message.endswith(
        "more this month"
    )
    assert forecast.breach_at.ToMilliseconds() >= int(now.timestamp() * 1000)
    assert forecast.projected_uptime_percent < forecast.uptime_so_far_percent or forecast.uptime_so_far_percent < 100
