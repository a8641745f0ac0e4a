"""Bad input gets a 4xx problem+json answer that says what is wrong: malformed JSON, wrong types, huge
pages, unknown fields and parameters, wrong content types, oversized bodies, missing, forged and expired
tokens. Nothing is changed by a refused request."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.integration.partner_api.stack import Stack

pytestmark = pytest.mark.integration


def problem(reply: httpx.Response, status: int, *needles: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = reply.json()
    assert body["status"] == status
    assert body["type"].startswith("https://chargewatch.dev/problems/")
    assert body["title"] and body["detail"]
    for needle in needles:
        assert needle in body["detail"], (needle, body["detail"])
    assert reply.headers["x-request-id"]
    return body


def test_malformed_json_is_a_400_naming_the_position(stack: Stack) -> None:
    with stack.client("operator") as client:
        reply = client.post(
            "/v1/stations", content=b'{"id": "X-1", "tenant_id":', headers={"content-type": "application/json"}
        )
        body = problem(reply, 400, "not valid JSON")
        assert body["type"].endswith("/malformed-json")
        assert body["errors"][0]["type"] == "json_invalid"


def test_wrong_types_and_values_name_each_field(stack: Stack) -> None:
    with stack.client("operator") as client:
        reply = client.post(
            "/v1/stations",
            json={
                "id": 12,
                "tenant_id": "Partner A!",
                "site_id": "s",
                "security_profile": "two",
                "location": {"lat": 91},
            },
        )
        body = problem(reply, 422)
        locations = {tuple(e["location"]) for e in body["errors"]}
        assert {("body", "id"), ("body", "tenant_id"), ("body", "security_profile")} <= locations
        assert any(loc[:2] == ("body", "location") for loc in locations)
        assert all(e["message"] for e in body["errors"])
        assert client.get("/v1/stations/12").status_code == 404  # nothing was registered


def test_unknown_fields_are_refused_not_ignored(stack: Stack) -> None:
    station = stack.stations_of("partner-a")[0]
    with stack.client("operator") as client:
        reply = client.post(f"/v1/stations/{station}/commands/reset", json={"type": "soft", "force": True})
        body = problem(reply, 422, "force")
        assert body["errors"][0]["type"] == "extra_forbidden"
        reply = client.get("/v1/stations", params={"tenant": "partner-b"})
        problem(reply, 400, "unknown query parameter", "tenant", "tenant_id")


def test_huge_pages_and_bad_cursors(stack: Stack) -> None:
    with stack.client("partner-a") as client:
        problem(client.get("/v1/stations", params={"limit": 100_000}), 422, "limit", "500")
        problem(client.get("/v1/stations", params={"limit": 0}), 422, "limit")
        problem(client.get("/v1/sessions", params={"limit": "many"}), 422, "limit")
        problem(client.get("/v1/stations", params={"cursor": "not a cursor!"}), 422, "cursor")
        problem(client.get("/v1/stations", params={"cursor": "A"}), 400, "page_token")
        problem(client.get("/v1/stations/" + "X" * 60), 422, "station_id")


def test_wrong_content_type_and_oversized_bodies(stack: Stack) -> None:
    with stack.client("operator") as client:
        form = client.post("/v1/stations", data={"id": "X-1"})
        problem(form, 415, "application/json", "application/x-www-form-urlencoded")
        huge = client.post(
            "/v1/stations", content=b"{" + b" " * (2 << 20) + b"}", headers={"content-type": "application/json"}
        )
        problem(huge, 413, "larger than")


def test_times_need_a_zone_and_an_order(stack: Stack) -> None:
    station = stack.stations_of("partner-a")[0]
    with stack.client("partner-a") as client:
        naive = client.get(f"/v1/stations/{station}/meter-values", params={"evse_id": 1, "from": "2026-01-01T00:00:00"})
        problem(naive, 422, "timezone")
        backwards = client.get("/v1/sessions", params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
        problem(backwards, 422, "before")
        problem(client.get(f"/v1/stations/{station}/meter-values"), 422, "evse_id")


def test_missing_forged_and_wrong_scheme_tokens(stack: Stack) -> None:
    url = f"{stack.api_url}/v1/stations"
    missing = httpx.get(url)
    problem(missing, 401, "bearer access token is required")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    problem(httpx.get(url, headers={"Authorization": "Basic b3BlcmF0b3I6b3BlcmF0b3I="}), 401)
    problem(httpx.get(url, headers={"Authorization": "Bearer abc.def.ghi"}), 401, "not valid", "malformed")
    token = stack.token("operator")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    problem(httpx.get(url, headers={"Authorization": f"Bearer {forged}"}), 401, "signature")


def test_an_expired_token_is_refused_with_the_reason(stack: Stack) -> None:
    # The development realm's short-lived client issues 3-second tokens; the API allows 1 s of skew here.
    reply = httpx.post(
        stack.token_url,
        data={"grant_type": "password", "client_id": "chargewatch-short-lived", "username": "sre", "password": "sre"},
    )
    reply.raise_for_status()
    token = reply.json()["access_token"]
    assert reply.json()["expires_in"] == 3
    url = f"{stack.api_url}/v1/stations"
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    time.sleep(5)
    expired = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    body = problem(expired, 401, "expired")
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert body["type"].endswith("/invalid-token")


def test_unknown_routes_and_methods_are_problems_too(stack: Stack) -> None:
    with stack.client("operator") as client:
        problem(client.get("/v1/nothing-here"), 404, "/v1/nothing-here")
        problem(client.delete("/v1/stations"), 405, "DELETE")


def test_uptime_and_report_parameters_say_what_is_wrong(stack: Stack) -> None:
    with stack.client("operator") as client:
        both = client.get("/v1/uptime", params={"station_id": "CW-A-0001", "site_id": "ams-centraal"})
        problem(both, 422, "station_id and site_id")
        problem(client.get("/v1/uptime", params={"evse_id": 1}), 422, "give station_id")
        problem(client.get("/v1/uptime", params={"from": "2026-01-01T00:00:00Z"}), 422, "`from` and `to`")
        window = {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
        problem(client.get("/v1/uptime", params=window), 422, "before")
        mixed = {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "period": "month"}
        problem(client.get("/v1/uptime", params=mixed), 422, "not both")
        body = problem(client.get("/v1/uptime", params={"period": "fortnight"}), 422, "period")
        assert body["errors"][0]["location"] == ["query", "period"]
        problem(client.get("/v1/sla/reports", params={"kind": "everything"}), 422, "kind")
        problem(client.get("/v1/sla/reports", params={"section": "ports"}), 422, "CSV")
        problem(client.get("/v1/sla/reports", params={"format": "xml"}), 422, "format")
        problem(client.get("/v1/uptime", params={"site_id": "no-such-site"}), 404, "no-such-site")
        problem(client.get("/v1/incidents", params={"state": "closed"}), 422, "state")
        problem(client.get("/v1/incidents", params={"limit": 501}), 422, "limit")
        problem(client.get("/v1/alerts", params={"min_severity": "urgent"}), 422, "min_severity")
        problem(client.get("/v1/incidents/inc-0000000000"), 404, "inc-0000000000")


def test_exclusions_and_actions_refuse_bad_bodies(stack: Stack) -> None:
    good = {
        "station_id": "CW-A-0001",
        "evse_id": 1,
        "category": "vandalism",
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-01-02T00:00:00Z",
        "evidence": "police report",
    }
    with stack.client("operator") as client:
        body = problem(client.post("/v1/exclusions", json={**good, "category": "bad luck"}), 422)
        assert body["errors"][0]["location"] == ["body", "category"]
        problem(client.post("/v1/exclusions", json={**good, "evidence": ""}), 422, "evidence")
        problem(client.post("/v1/exclusions", json={**good, "from": "2026-01-03T00:00:00Z"}), 422, "before")
        problem(client.post("/v1/exclusions", json={**good, "from": "2026-01-01T00:00:00"}), 422, "timezone")
        problem(client.post("/v1/exclusions", json={**good, "to": "2099-01-01T00:00:00Z"}), 400, "three years")
        problem(client.post("/v1/exclusions", json={**good, "approved": True}), 422, "approved")
        problem(client.post("/v1/exclusions/exc-nothing/review", json={"decision": "maybe"}), 422, "decision")
        problem(client.post("/v1/incidents/inc-0/acknowledge", json={"note": "x" * 2001}), 422, "note")
        missing = client.post("/v1/exclusions", json={**good, "station_id": "NOPE-1"})
        problem(missing, 404, "NOPE-1")
    with stack.client("analyst") as client:
        problem(client.post("/v1/alerts/a-1/responses", json={"actions": []}), 422, "actions")
        problem(client.post("/v1/alerts/a-1/responses", json={"actions": ["shutdown_grid"]}), 422, "actions")
        problem(client.post("/v1/alerts/a-1/acknowledge", json={"note": 5}), 422, "note")
        problem(client.post("/v1/alerts/nope/acknowledge"), 404)
