"""Each role sees exactly what it should, with real tokens from the development identity provider:
operator (everything), sre and security-analyst (read every tenant, change nothing), partners
(their own tenant, and the actions allowed on it), and a partner's back end with client credentials."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.partner_api.stack import Stack

pytestmark = pytest.mark.integration

ALL_TENANTS = {"partner-a", "partner-b"}


@pytest.mark.parametrize(
    ("user", "tenants"),
    [
        ("operator", ALL_TENANTS),
        ("sre", ALL_TENANTS),
        ("analyst", ALL_TENANTS),
        ("partner-a", {"partner-a"}),
        ("partner-b", {"partner-b"}),
        ("partner-a-backend", {"partner-a"}),
        ("partner-b-backend", {"partner-b"}),
    ],
)
def test_reads_cover_exactly_the_callers_tenants(stack: Stack, user: str, tenants: set[str]) -> None:
    expected = {s.station_id for s in stack.platform.fleet if s.tenant_id in tenants}
    with stack.client(user) as client:
        page = client.get("/v1/stations", params={"limit": 500}).json()
        fleet = {s["id"] for s in page["items"] if s["id"].startswith("CW-")}
        assert fleet == expected
        assert {s["tenant_id"] for s in page["items"]} <= tenants
        summary = client.get("/v1/fleet/summary").json()
        assert {site["tenant_id"] for site in summary["sites"]} <= tenants
        assert summary["stations"] == page["total"]
        export = client.get("/v1/exports/stations").text.splitlines()
        assert export[0].startswith("id,tenant_id,site_id")
        assert {line.split(",")[0] for line in export[1:] if line.startswith("CW-")} == expected
        for station in expected:
            assert client.get(f"/v1/stations/{station}").status_code == 200
        for station in {s.station_id for s in stack.platform.fleet} - expected:
            assert client.get(f"/v1/stations/{station}").status_code == 404


def _status(client: Any, method: str, path: str, body: Any = None) -> int:
    return int(client.request(method, path, json=body).status_code)


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        ("operator", True),
        ("partner-a", True),
        ("partner-a-backend", True),
        ("sre", False),
        ("analyst", False),
    ],
)
def test_remote_commands_are_for_operators_and_the_stations_partner(stack: Stack, user: str, allowed: bool) -> None:
    station = stack.stations_of("partner-a")[1]
    with stack.client(user) as client:
        reply = client.post(f"/v1/stations/{station}/commands/availability", json={"evse_id": 1, "operative": True})
    if allowed:
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["ocpp_action"] == "ChangeAvailability"
        assert body["status"] in {"Accepted", "Scheduled"}, body
        assert body["response"]["status"] == body["status"]
    else:
        assert reply.status_code == 403
        assert "operator" in reply.json()["detail"]


def test_only_operators_register_stations_and_change_credentials(stack: Stack) -> None:
    station = stack.stations_of("partner-a")[0]
    body = {"id": "ROLE-X-1", "tenant_id": "partner-a", "site_id": "s", "security_profile": 1}
    for user in ("partner-a", "partner-a-backend", "sre", "analyst"):
        with stack.client(user) as client:
            assert _status(client, "POST", "/v1/stations", body) == 403, user
            assert _status(client, "PUT", f"/v1/stations/{station}/registration", {"status": "Pending"}) == 403
            assert _status(client, "POST", f"/v1/stations/{station}/credentials/rotate") == 403
    with stack.client("operator") as client:
        assert _status(client, "POST", "/v1/stations", body) == 201
        assert client.get("/v1/stations/ROLE-X-1").json()["tenant_id"] == "partner-a"
        accepted = client.put(f"/v1/stations/{station}/registration", json={"status": "Accepted"})
        assert accepted.status_code == 200 and accepted.json()["status"] == "Accepted"


def test_driver_tokens_partners_manage_their_own_sre_and_analyst_only_read(stack: Stack) -> None:
    with stack.client("partner-a") as a:
        created = a.post("/v1/tokens", json={"id_token": "A0A0A0A0A1", "group_id": "a-fleet"})
        assert created.status_code in (201, 409), created.text
        assert a.get("/v1/tokens/A0A0A0A0A1").json()["tenant_id"] == "partner-a"
        blocked = a.patch("/v1/tokens/A0A0A0A0A1", json={"status": "blocked", "reason": "lost card"})
        assert blocked.status_code == 200 and blocked.json()["status"] == "blocked"
        assert a.patch("/v1/tokens/A0A0A0A0A1", json={"status": "active"}).json()["status"] == "active"
        assert _status(a, "POST", "/v1/tokens", {"id_token": "A0A0A0A0A2", "tenant_id": "partner-b"}) == 403
    for user in ("sre", "analyst"):
        with stack.client(user) as client:
            listed = client.get("/v1/tokens", params={"limit": 500}).json()["items"]
            assert "A0A0A0A0A1" in {t["id_token"] for t in listed}
            assert _status(client, "POST", "/v1/tokens", {"id_token": "C0C0C0C0C0", "tenant_id": "partner-a"}) == 403
            assert _status(client, "PATCH", "/v1/tokens/A0A0A0A0A1", {"status": "blocked"}) == 403
    with stack.client("partner-b") as b:
        assert b.get("/v1/tokens/A0A0A0A0A1").status_code == 404
        assert "A0A0A0A0A1" not in b.get("/v1/tokens", params={"limit": 500}).text


def test_access_policies_operators_write_everyone_reads_their_scope(stack: Stack) -> None:
    policy = {"tenant_id": "partner-a", "name": "Depot nights", "site_ids": ["ams-centraal"], "timezone": "UTC"}
    for user in ("partner-a", "sre", "analyst"):
        with stack.client(user) as client:
            assert _status(client, "POST", "/v1/access-policies", policy) == 403, user
    with stack.client("operator") as operator:
        created = operator.post("/v1/access-policies", json=policy)
        assert created.status_code == 201, created.text
        policy_id = created.json()["policy_id"]
        assert created.headers["location"] == f"/v1/access-policies/{policy_id}"
    with stack.client("partner-a") as a, stack.client("partner-b") as b, stack.client("sre") as sre:
        assert a.get(f"/v1/access-policies/{policy_id}").json()["name"] == "Depot nights"
        assert sre.get(f"/v1/access-policies/{policy_id}").status_code == 200
        assert b.get(f"/v1/access-policies/{policy_id}").status_code == 404
        assert policy_id not in b.get("/v1/access-policies").text
        assert _status(a, "DELETE", f"/v1/access-policies/{policy_id}") == 403
    with stack.client("operator") as operator:
        assert _status(operator, "DELETE", f"/v1/access-policies/{policy_id}") == 204
        assert operator.get(f"/v1/access-policies/{policy_id}").status_code == 404


def test_webhooks_are_for_operators_and_partners(stack: Stack) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "events": ["station.status"]}
    for user in ("sre", "analyst"):
        with stack.client(user) as client:
            assert _status(client, "POST", "/v1/webhooks", body) == 403
            assert _status(client, "GET", "/v1/webhooks") == 403
    with stack.client("partner-a-backend") as backend:
        created = backend.post("/v1/webhooks", json=body)
        assert created.status_code == 201
        hook = created.json()
        assert hook["tenant_id"] == "partner-a" and hook["secret"].startswith("whsec_")
        assert "secret" not in backend.get(f"/v1/webhooks/{hook['id']}").json()
        assert _status(backend, "DELETE", f"/v1/webhooks/{hook['id']}") == 204


def test_cached_answers_are_kept_per_scope_and_revalidate_with_etags(stack: Stack) -> None:
    """Repeated reads come from the response cache (and the API's fast path): never across tenants."""
    params = {"limit": 500}
    with stack.client("operator") as operator, stack.client("partner-a") as a:
        for _ in range(3):  # the operator's page is cached first
            everything = operator.get("/v1/stations", params=params)
        for _ in range(3):
            mine = a.get("/v1/stations", params=params)
            assert {s["tenant_id"] for s in mine.json()["items"]} == {"partner-a"}
            assert mine.headers["etag"] != everything.headers["etag"]
            assert mine.headers["ratelimit-limit"] and mine.headers["x-trace-id"]
        other = stack.stations_of("partner-b")[0]
        operator.get(f"/v1/stations/{other}")
        for _ in range(3):
            assert a.get(f"/v1/stations/{other}").status_code == 404
        station = stack.stations_of("partner-a")[0]
        first = a.get(f"/v1/stations/{station}")
        again = a.get(f"/v1/stations/{station}", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code in (200, 304)  # 304 unless the station changed in between
        if again.status_code == 304:
            assert again.content == b"" and again.headers["etag"] == first.headers["etag"]
        stale = a.get(f"/v1/stations/{station}", headers={"If-None-Match": 'W/"not-this-one"'})
        assert stale.status_code == 200 and stale.json()["id"] == station
        # A filter on another tenant is refused however often it is asked.
        for _ in range(3):
            assert a.get("/v1/stations", params={"tenant_id": "partner-b"}).status_code == 403
