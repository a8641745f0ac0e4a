"""Uptime, SLA reports, incidents, exclusions, site profiles, contracts and security alerts through the
partner API, with real tokens, against the real SLA engine and security monitor: each role sees and does
exactly what it should, and the figures are the ones the live (simulated) fleet produced.

The package's platform gives each tenant a station with a lasting fault (FLT-A-1, FLT-B-1: an open
incident each) and a station whose password was guessed (a brute-force alert each).
"""

from __future__ import annotations

import csv
import io
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.integration.partner_api.stack import (
    ATTACKED,
    FAULTY,
    Stack,
    alert_of,
    guess_passwords,
    open_incident_of,
    wait_for,
)

pytestmark = pytest.mark.integration

FLT_A, FLT_B = FAULTY["partner-a"][0], FAULTY["partner-b"][0]


def ports_of(stack: Stack, tenant: str) -> set[tuple[str, int]]:
    """Every port (station, EVSE) of a tenant: the simulated fleet's, and its faulty station's."""
    fleet = {
        (s.station_id, evse)
        for s in stack.platform.fleet
        if s.tenant_id == tenant
        for evse in range(1, s.connectors + 1)
    }
    return fleet | {(FAULTY[tenant][0], 1)}


# -- uptime and reports -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "scope", "tenants"),
    [
        ("operator", "operator", {"partner-a", "partner-b"}),
        ("sre", "operator", {"partner-a", "partner-b"}),
        ("partner-a", "tenant", {"partner-a"}),
        ("partner-b-backend", "tenant", {"partner-b"}),
    ],
)
def test_uptime_covers_exactly_the_callers_ports(stack: Stack, user: str, scope: str, tenants: set[str]) -> None:
    open_incident_of(stack, "partner-a")
    open_incident_of(stack, "partner-b")
    expected = set().union(*(ports_of(stack, t) for t in tenants))
    with stack.client(user) as client:
        report = client.get("/v1/uptime", params={"period": "month"})
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["scope"] == scope and report.headers["etag"]
        ports = {(p["station_id"], p["evse_id"]) for p in body["ports"]}
        # Ports added by other tests (stations registered on the fly) may be measured too, but only ours.
        assert expected <= ports and {p["tenant_id"] for p in body["ports"]} <= tenants
        assert body["port_count"] == len(body["ports"])
        # The faulty ports are down since they booted: below 100 %, counted in the pooled figure.
        faulty = [p for p in body["ports"] if p["station_id"] in (FLT_A, FLT_B)]
        assert faulty and all(p["outage_minutes"] > 0 and p["uptime_percent"] < 100 for p in faulty)
        # Minutes carry three decimals, each rounded: the pooled total may be a rounding step below the sum.
        assert body["outage_minutes"] >= sum(p["outage_minutes"] for p in faulty) - 0.001 * len(faulty)
        assert body["ports_below_target"] >= len(faulty) and body["uptime_percent"] < 100


def test_uptime_of_a_port_station_site_and_window(stack: Stack) -> None:
    open_incident_of(stack, "partner-a")
    with stack.client("partner-a") as a:
        port = a.get("/v1/uptime", params={"station_id": FLT_A, "evse_id": 1}).json()
        assert port["scope"] == "port" and port["subject_id"] == f"{FLT_A}/1"
        assert [(p["station_id"], p["evse_id"]) for p in port["ports"]] == [(FLT_A, 1)]
        assert port["meets_target"] is False and port["target_percent"] == 97.0
        site = a.get("/v1/uptime", params={"site_id": "ams-centraal", "ports": "false"}).json()
        assert site["scope"] == "site" and site["ports"] == [] and site["port_count"] >= 2
        station = stack.stations_of("partner-a")[0]
        assert a.get("/v1/uptime", params={"station_id": station}).json()["scope"] == "station"
        start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        end = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        window = a.get("/v1/uptime", params={"station_id": FLT_A, "from": start, "to": end}).json()
        assert window["window"]["start"][:16] == start[:16]
        # Another tenant's site, station or tenant: missing (404), or refused by name (403).
        assert a.get("/v1/uptime", params={"site_id": "berlin-mitte"}).status_code == 404
        assert a.get("/v1/uptime", params={"station_id": FLT_B}).status_code == 404
        assert a.get("/v1/uptime", params={"tenant_id": "partner-b"}).status_code == 403


def test_reports_as_json_and_csv_hold_the_callers_ports_only(stack: Stack) -> None:
    incident = open_incident_of(stack, "partner-a")
    with stack.client("partner-a") as a:
        report = a.get("/v1/sla/reports", params={"kind": "uptime"})
        assert report.status_code == 200 and report.headers["content-type"].startswith("application/json")
        document = report.json()
        assert {row["tenant_id"] for row in document["ports"]} == {"partner-a"}
        assert any(o["station_id"] == FLT_A and o["cause"] == "faulted" for o in document["outages"])
        table = a.get("/v1/sla/reports", params={"kind": "uptime", "format": "csv", "section": "ports"})
        assert table.headers["content-type"].startswith("text/csv")
        assert table.headers["content-disposition"].startswith("attachment; filename=")
        rows = list(csv.DictReader(io.StringIO(table.text)))
        assert {r["tenant_id"] for r in rows} == {"partner-a"} and FLT_A in {r["station_id"] for r in rows}
        incidents = a.get("/v1/sla/reports", params={"kind": "incidents", "format": "csv"}).text
        assert incident["id"] in incidents and FLT_B not in incidents
        quarterly = a.get("/v1/sla/reports", params={"kind": "nevi-quarterly"}).json()
        assert {"sessions", "months", "outages"} <= set(quarterly)
        wrong = a.get("/v1/sla/reports", params={"format": "csv", "section": "kpis"})
        assert wrong.status_code == 400 and "kpis" in wrong.json()["detail"]


def test_port_states_and_down_time_budgets(stack: Stack) -> None:
    incident = open_incident_of(stack, "partner-a")
    with stack.client("partner-a") as a:
        faulted = a.get("/v1/sla/ports", params={"availability": "faulted"}).json()["items"]
        ours = [p for p in faulted if p["station_id"] == FLT_A]
        assert ours and ours[0]["open_incident_id"] == incident["id"] and ours[0]["up"] is False
        assert ours[0]["cause"] == "faulted:GroundFailure"
        assert {p["tenant_id"] for p in a.get("/v1/sla/ports", params={"limit": 500}).json()["items"]} == {"partner-a"}
        forecast = a.get("/v1/sla/forecast", params={"station_id": FLT_A, "evse_id": 1}).json()
        (port,) = forecast["ports"]
        assert port["down_now"] is True and port["used_minutes"] > 0 and port["breach_at"]
        assert port["remaining_minutes"] < port["allowed_down_minutes"]
        assert f"{FLT_A}/1" in port["message"]


def test_site_profiles_set_the_target_uptime_is_judged_against(stack: Stack) -> None:
    profile = {
        "tenant_id": "partner-a",
        "name": "Utrecht",
        "timezone": "Europe/Amsterdam",
        "uptime_target_percent": 99.5,
    }
    for user in ("partner-a", "sre", "analyst"):
        with stack.client(user) as client:
            assert client.put("/v1/sla/sites/utrecht-jaarbeurs", json=profile).status_code == 403, user
    with stack.client("operator") as operator:
        stored = operator.put("/v1/sla/sites/utrecht-jaarbeurs", json=profile)
        assert stored.status_code == 200, stored.text
        assert stored.json()["updated_by"]
    with stack.client("partner-a") as a, stack.client("partner-b") as b:
        assert a.get("/v1/sla/sites/utrecht-jaarbeurs").json()["timezone"] == "Europe/Amsterdam"
        uptime = a.get("/v1/uptime", params={"site_id": "utrecht-jaarbeurs", "period": "month"}).json()
        assert uptime["target_percent"] == 99.5
        assert b.get("/v1/sla/sites/utrecht-jaarbeurs").status_code == 404
        assert "utrecht-jaarbeurs" not in b.get("/v1/sla/sites").text


def test_contracts_are_judged_per_period_and_readable_by_their_counterparty(stack: Stack) -> None:
    open_incident_of(stack, "partner-a")
    contract = {
        "name": "FLT maintenance",
        "tenant_id": "partner-a",
        "counterparty": "FixIt B.V.",
        "station_ids": [FLT_A],
        "uptime_target_percent": 99,
        "credit": {"monthly_fee": 1000, "currency": "EUR", "uptime_credit_percent_per_point": 10},
    }
    assert stack.client("partner-a").post("/v1/sla/contracts", json=contract).status_code == 403
    with stack.client("operator") as operator:
        created = operator.post("/v1/sla/contracts", json=contract)
        assert created.status_code == 201, created.text
        contract_id = created.json()["id"]
        assert created.headers["location"] == f"/v1/sla/contracts/{contract_id}"
    with stack.client("partner-a") as a, stack.client("partner-b") as b:
        assert a.get(f"/v1/sla/contracts/{contract_id}").json()["counterparty"] == "FixIt B.V."
        evaluation = a.get(f"/v1/sla/contracts/{contract_id}/evaluation", params={"period": "month"}).json()
        breaches = [x for x in evaluation["breaches"] if x["kind"] == "uptime"]
        assert breaches and breaches[0]["subject"] == f"{FLT_A}/1" and breaches[0]["measured"] < 99
        assert evaluation["total_credit"] > 0 and evaluation["currency"] == "EUR"
        assert b.get(f"/v1/sla/contracts/{contract_id}").status_code == 404
        assert b.get(f"/v1/sla/contracts/{contract_id}/evaluation").status_code == 404
        assert contract_id not in b.get("/v1/sla/contracts").text


# -- incidents and exclusions -------------------------------------------------------------------------
def test_incidents_partners_read_their_own_operators_act(stack: Stack) -> None:
    mine = open_incident_of(stack, "partner-a")
    theirs = open_incident_of(stack, "partner-b")
    with stack.client("partner-a") as a:
        listed = a.get("/v1/incidents", params={"limit": 500}).json()["items"]
        assert mine["id"] in {i["id"] for i in listed} and {i["tenant_id"] for i in listed} == {"partner-a"}
        assert a.get(f"/v1/incidents/{theirs['id']}").status_code == 404
        detail = a.get(f"/v1/incidents/{mine['id']}").json()
        assert detail["cause"] == "faulted:GroundFailure" and detail["severity"] == "high"
    for user in ("sre", "analyst"):
        with stack.client(user) as client:
            ids = {i["id"] for i in client.get("/v1/incidents", params={"state": "open"}).json()["items"]}
            assert {mine["id"], theirs["id"]} <= ids
    for user in ("partner-a", "partner-a-backend", "sre", "analyst"):
        with stack.client(user) as client:
            assert client.post(f"/v1/incidents/{mine['id']}/acknowledge").status_code == 403, user
    with stack.client("operator") as operator:
        acked = operator.post(f"/v1/incidents/{mine['id']}/acknowledge", json={"note": "crew dispatched"})
        assert acked.status_code == 200, acked.text
        body = acked.json()
        assert body["state"] == "acknowledged" and body["acknowledged_by"]
        assert [n["text"] for n in body["notes"]] == ["crew dispatched"]
        ids = {i["id"] for i in operator.get("/v1/incidents", params={"state": "acknowledged"}).json()["items"]}
        assert mine["id"] in ids
        resolved = operator.post(f"/v1/incidents/{mine['id']}/resolve", json={"note": "replaced the RCD"})
        assert resolved.json()["state"] == "resolved" and resolved.json()["resolved_by"]
        again = operator.post(f"/v1/incidents/{mine['id']}/resolve")
        assert again.status_code == 200 and again.json()["resolved_at"] == resolved.json()["resolved_at"]
        assert operator.get(f"/v1/incidents/{theirs['id']}").json()["state"] == "open"


def test_an_approved_exclusion_takes_the_outage_out_of_uptime(stack: Stack) -> None:
    incident = open_incident_of(stack, "partner-b")
    start = datetime.fromisoformat(incident["opened_at"]) - timedelta(seconds=1)
    end = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "station_id": FLT_B,
        "evse_id": 1,
        "category": "vandalism",
        "from": start.isoformat(),
        "to": end.isoformat(),
        "evidence": "police report 2026-117: cable cut",
    }
    assert stack.client("partner-b").post("/v1/exclusions", json=body).status_code == 403
    with stack.client("operator") as operator:
        declared = operator.post("/v1/exclusions", json=body)
        assert declared.status_code == 201, declared.text
        exclusion = declared.json()
        assert exclusion["state"] == "pending" and exclusion["covered_outage_minutes"] > 0
        assert exclusion["category"] == "vandalism" and exclusion["tenant_id"] == "partner-b"
    with stack.client("partner-b") as b, stack.client("partner-a") as a:
        assert exclusion["id"] in {
            e["id"] for e in b.get("/v1/exclusions", params={"state": "pending"}).json()["items"]
        }
        assert exclusion["id"] not in a.get("/v1/exclusions").text
        assert b.post(f"/v1/exclusions/{exclusion['id']}/review", json={"decision": "approve"}).status_code == 403
        window: dict[str, str | int] = {
            "station_id": FLT_B,
            "evse_id": 1,
            "from": start.isoformat(),
            "to": end.isoformat(),
        }
        before = b.get("/v1/uptime", params=window).json()
        assert before["excluded_minutes"] == 0 and before["outage_minutes"] > 0
    with stack.client("operator") as operator:
        approved = operator.post(f"/v1/exclusions/{exclusion['id']}/review", json={"decision": "approve", "note": "ok"})
        assert approved.json()["state"] == "approved" and approved.json()["reviewed_by"]
        twice = operator.post(f"/v1/exclusions/{exclusion['id']}/review", json={"decision": "reject"})
        assert twice.status_code == 409 and twice.headers["content-type"] == "application/problem+json"
    with stack.client("partner-b") as b:
        after = b.get("/v1/uptime", params=window).json()
        # Every outage minute of the port lies inside the approved exclusion: none counts.
        assert after["excluded_minutes"] >= before["outage_minutes"] and after["uptime_percent"] == 100.0


# -- security alerts ----------------------------------------------------------------------------------
def test_alerts_are_for_analysts_and_operators_only(stack: Stack) -> None:
    alert_of(stack, "partner-a")
    for user in ("partner-a", "partner-b-backend", "sre"):
        with stack.client(user) as client:
            for path in ("/v1/alerts", "/v1/security/incidents", "/v1/security/risk-scores", "/v1/security/rules"):
                reply = client.get(path)
                assert reply.status_code == 403, (user, path)
                assert "security-analyst" in reply.json()["detail"]
    for user in ("analyst", "operator"):
        with stack.client(user) as client:
            items = client.get("/v1/alerts", params={"rule": "station-brute-force"}).json()["items"]
            assert set(ATTACKED.values()) <= {a["subject_id"] for a in items}


def test_an_alert_explains_itself_and_analysts_respond_and_undo(stack: Stack) -> None:
    alert = alert_of(stack, "partner-a")
    station = ATTACKED["partner-a"]
    with stack.client("analyst") as analyst:
        detail = analyst.get(f"/v1/alerts/{alert['id']}").json()
        assert detail["tenant_id"] == "partner-a" and detail["station_ids"] == [station]
        assert len(detail["evidence"]) >= 5 and all(e["event_type"] for e in detail["evidence"])
        assert detail["mitre_technique"] == "T0859" and detail["incident_id"]
        incident = analyst.get(f"/v1/security/incidents/{detail['incident_id']}").json()
        assert alert["id"] in incident["alert_ids"] and incident["subject_id"] == station
        risk = analyst.get(f"/v1/security/risk-scores/{station}").json()
        assert risk["score"] > 0 and alert["id"] in risk["contributing_alert_ids"]
        ranked = analyst.get("/v1/security/risk-scores").json()["items"]
        assert station in {r["station_id"] for r in ranked}
        rules = {r["id"]: r for r in analyst.get("/v1/security/rules").json()["items"]}
        assert rules["station-brute-force"]["mitre_technique"] == "T0859"
        profile = analyst.get(f"/v1/security/stations/{station}/profile").json()
        assert profile["station_id"] == station and profile["tenant_id"] == "partner-a"
        assert analyst.get("/v1/security/certificates").status_code == 200

        acked = analyst.post(f"/v1/alerts/{alert['id']}/acknowledge", json={"note": "looking into it"}).json()
        assert acked["state"] == "acknowledged"
        history = analyst.get(f"/v1/alerts/{alert['id']}").json()["history"]
        assert [h["note"] for h in history if h["state"] == "acknowledged"] == ["looking into it"]

        # A real quarantine: the station is refused and disconnected, until the action is undone.
        response = analyst.post(
            f"/v1/alerts/{alert['id']}/responses", json={"actions": ["quarantine_station"], "reason": "brute force"}
        )
        assert response.status_code == 200, response.text
        (action,) = response.json()["items"]
        assert action["state"] == "applied" and action["reversible"] and action["subject_id"] == station
        with stack.client("operator") as operator:
            wait_for(lambda: not operator.get(f"/v1/stations/{station}").json()["online"], timeout=15)
            audit = analyst.get("/v1/security/response-actions", params={"alert_id": alert["id"]}).json()["items"]
            assert action["id"] in {a["id"] for a in audit}
            undone = analyst.post(f"/v1/security/response-actions/{action['id']}/undo", json={"reason": "contained"})
            assert undone.json()["state"] == "undone" and undone.json()["undo_reason"] == "contained"
            wait_for(lambda: operator.get(f"/v1/stations/{station}").json()["online"], timeout=45)
        dry = analyst.post(
            f"/v1/alerts/{alert['id']}/responses", json={"actions": ["quarantine_station"], "dry_run": True}
        )
        (dry_action,) = dry.json()["items"]
        assert dry_action["state"] == "dry_run"
        refused = analyst.post(f"/v1/security/response-actions/{dry_action['id']}/undo")
        assert refused.status_code == 409 and "dry_run" in refused.json()["detail"]

        closed = analyst.post(f"/v1/alerts/{alert['id']}/false-positive", json={"note": "pen test"}).json()
        assert closed["state"] == "false_positive"
        again = analyst.post(f"/v1/alerts/{alert['id']}/acknowledge")
        assert again.status_code == 409


def test_response_policies_for_analysts(stack: Stack) -> None:
    policy = {"name": "tamper", "rules": ["station-tamper"], "actions": ["quarantine_station"], "dry_run": True}
    assert stack.client("sre").post("/v1/security/response-policies", json=policy).status_code == 403
    with stack.client("analyst") as analyst:
        created = analyst.post("/v1/security/response-policies", json=policy)
        assert created.status_code == 201, created.text
        policy_id = created.json()["id"]
        replaced = analyst.put(f"/v1/security/response-policies/{policy_id}", json={**policy, "min_severity": "high"})
        assert replaced.json()["min_severity"] == "high" and replaced.json()["version"] > created.json()["version"]
        assert analyst.put("/v1/security/response-policies/nope", json=policy).status_code == 404
        assert analyst.delete(f"/v1/security/response-policies/{policy_id}").status_code == 204
        assert policy_id not in analyst.get("/v1/security/response-policies").text


# -- live events --------------------------------------------------------------------------------------
def read_stream(stack: Stack, user: str, seconds: float, params: dict[str, Any], into: list[dict[str, Any]]) -> None:
    with (
        httpx.Client(base_url=stack.api_url, timeout=httpx.Timeout(10, read=seconds + 5)) as http,
        http.stream("GET", "/v1/events", params=params, headers={"Authorization": f"Bearer {stack.token(user)}"}) as r,
    ):
        assert r.status_code == 200, r.read()
        deadline = time.monotonic() + seconds
        for line in r.iter_lines():
            if line.startswith("data: "):
                into.append(orjson.loads(line[6:]))
            if time.monotonic() > deadline:
                return


def test_alert_events_reach_analysts_live_and_never_partners(stack: Stack) -> None:
    analyst: list[dict[str, Any]] = []
    partner: list[dict[str, Any]] = []
    readers = [
        threading.Thread(target=read_stream, args=(stack, "analyst", 10, {"types": ["alert.raised"]}, analyst)),
        threading.Thread(target=read_stream, args=(stack, "partner-b", 10, {}, partner)),
    ]
    for reader in readers:
        reader.start()
    time.sleep(1.5)
    target = stack.stations_of("partner-b")[-1]
    guessed_at = time.time()
    guess_passwords(stack, target)
    for reader in readers:
        reader.join(30)
    raised = [e for e in analyst if e["data"]["subject_id"] == target]
    assert raised, f"no alert.raised for {target} within 8 s"
    event = raised[0]
    assert event["type"] == "alert.raised" and event["tenant_id"] == "partner-b"
    assert event["data"]["rule"] == "station-brute-force" and event["data"]["severity"] == "high"
    assert datetime.fromisoformat(event["time"]).timestamp() >= guessed_at - 1
    assert not [e for e in partner if e["type"].startswith("alert.")]
    for user in ("partner-b", "sre"):
        refused = stack.client(user).get("/v1/events", params={"types": "alert.raised"})
        assert refused.status_code == 403 and "security-analyst" in refused.json()["detail"]


def test_webhooks_of_alerts_are_for_operators(stack: Stack) -> None:
    body = {"url": "http://127.0.0.1:9/alerts", "events": ["alert.raised", "incident.opened"]}
    with stack.client("partner-a") as a:
        refused = a.post("/v1/webhooks", json=body)
        assert refused.status_code == 403 and "alert.raised" in refused.json()["detail"]
        allowed = a.post("/v1/webhooks", json={**body, "events": ["incident.opened", "incident.resolved"]})
        assert allowed.status_code == 201
        assert a.delete(f"/v1/webhooks/{allowed.json()['id']}").status_code == 204
    with stack.client("operator") as operator:
        created = operator.post("/v1/webhooks", json=body)
        assert created.status_code == 201 and created.json()["events"] == ["alert.raised", "incident.opened"]
        assert operator.delete(f"/v1/webhooks/{created.json()['id']}").status_code == 204
