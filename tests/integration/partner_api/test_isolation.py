"""partner-a can never read, list, count, export, stream or command partner-b's stations (or tokens,
policies, webhooks, incidents, exclusions, uptime, reports, site profiles, contracts, security alerts and
responses): every route of the app is tried, with real tokens from the identity provider, against the
real SLA engine and security monitor.

The routes come from the application itself, so a route added later is tried too: it needs a body
in BODIES (for writes) and otherwise runs with partner-b's objects in its path and partner-b's
tenant, stations and sites in its filters.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from fastapi.routing import APIRoute

from chargewatch.partner_api.api import ROUTERS
from chargewatch.partner_api.app import create_app
from chargewatch.partner_api.config import PartnerApiSettings
from chargewatch.partner_api.deps import query_names
from tests.integration.partner_api.stack import (
    FAULTY,
    Stack,
    alert_of,
    guess_passwords,
    open_incident_of,
    wait_for,
)

pytestmark = pytest.mark.integration


def app_routes() -> list[tuple[str, APIRoute]]:
    """(method, route) of every /v1 route the application serves: its routers' routes, checked
    against what the application documents (so a router not in ROUTERS cannot slip by)."""
    found = [
        (method, route)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/v1/")
        for method in sorted(route.methods or ())
    ]
    app = create_app(services=SimpleNamespace(settings=PartnerApiSettings()), readiness=dict)  # type: ignore[arg-type]
    documented = {(m.upper(), path) for path, item in app.openapi()["paths"].items() for m in item}
    assert documented <= {(m, r.path) for m, r in found}, documented - {(m, r.path) for m, r in found}
    return found


ROUTES = app_routes()

# A valid body for every write route, so that a refusal is about who asks, not what was sent.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/stations"): {
        "id": "ISO-B-9",
        "tenant_id": "partner-b",
        "site_id": "berlin-mitte",
        "security_profile": 1,
    },
    ("POST", "/v1/stations/{station_id}/commands/start"): {"id_token": "AABBCCDD", "evse_id": 1},
    ("POST", "/v1/stations/{station_id}/commands/stop"): {"transaction_id": "1"},
    ("POST", "/v1/stations/{station_id}/commands/reset"): {"type": "soft"},
    ("POST", "/v1/stations/{station_id}/commands/unlock"): {"evse_id": 1},
    ("POST", "/v1/stations/{station_id}/commands/availability"): {"operative": False, "evse_id": 1},
    ("PUT", "/v1/stations/{station_id}/registration"): {"status": "Rejected", "reason": "isolation test"},
    ("POST", "/v1/stations/{station_id}/credentials/rotate"): None,
    ("POST", "/v1/tokens"): {"id_token": "A1B2C3D4E5", "tenant_id": "partner-b"},
    ("PATCH", "/v1/tokens/{id_token}"): {"status": "blocked", "reason": "isolation test"},
    ("POST", "/v1/access-policies"): {"tenant_id": "partner-b", "name": "isolation test"},
    ("PUT", "/v1/access-policies/{policy_id}"): {"tenant_id": "partner-b", "name": "isolation test"},
    ("DELETE", "/v1/access-policies/{policy_id}"): None,
    ("POST", "/v1/webhooks"): {
        "url": "http://127.0.0.1:9/hook",
        "events": ["station.status"],
        "tenant_id": "partner-b",
    },
    ("DELETE", "/v1/webhooks/{webhook_id}"): None,
    ("POST", "/v1/webhooks/{webhook_id}/ping"): None,
    ("PUT", "/v1/sla/sites/{site_id}"): {"tenant_id": "partner-b", "name": "isolation", "uptime_target_percent": 50},
    ("POST", "/v1/sla/contracts"): {"name": "isolation test", "tenant_id": "partner-b", "site_ids": ["berlin-mitte"]},
    ("PUT", "/v1/sla/contracts/{contract_id}"): {"name": "isolation test", "tenant_id": "partner-b"},
    ("POST", "/v1/incidents/{incident_id}/acknowledge"): {"note": "isolation test"},
    ("POST", "/v1/incidents/{incident_id}/resolve"): {"note": "isolation test"},
    ("POST", "/v1/exclusions"): {
        "station_id": FAULTY["partner-b"][0],
        "category": "vandalism",
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-01-02T00:00:00Z",
        "evidence": "isolation test",
    },
    ("POST", "/v1/exclusions/{exclusion_id}/review"): {"decision": "approve", "note": "isolation test"},
    ("POST", "/v1/alerts/{alert_id}/acknowledge"): {"note": "isolation test"},
    ("POST", "/v1/alerts/{alert_id}/resolve"): {"note": "isolation test"},
    ("POST", "/v1/alerts/{alert_id}/false-positive"): {"note": "isolation test"},
    ("POST", "/v1/alerts/{alert_id}/responses"): {"actions": ["quarantine_station"], "reason": "isolation test"},
    ("POST", "/v1/security/incidents/{incident_id}/resolve"): {"note": "isolation test"},
    ("POST", "/v1/security/response-actions/{action_id}/undo"): {"reason": "isolation test"},
    ("POST", "/v1/security/response-policies"): {"name": "isolation test", "actions": ["quarantine_station"]},
    ("PUT", "/v1/security/response-policies/{policy_id}"): {"name": "isolation test", "actions": ["block_token"]},
    ("DELETE", "/v1/security/response-policies/{policy_id}"): None,
    ("POST", "/v1/stations/{station_id}/commands/trigger"): {"message": "StatusNotification"},
    ("POST", "/v1/stations/{station_id}/commands/clear-cache"): None,
    ("POST", "/v1/stations/{station_id}/commands/local-list-version"): None,
    ("POST", "/v1/stations/{station_id}/commands/get-configuration"): {"keys": ["HeartbeatInterval"]},
    ("POST", "/v1/stations/{station_id}/commands/change-configuration"): {"key": "HeartbeatInterval", "value": "9"},
    ("POST", "/v1/stations/{station_id}/commands/firmware"): {
        "location": "https://fw.example/isolation.bin",
        "retrieve_at": "2026-01-01T00:00:00Z",
    },
    ("POST", "/v1/stations/{station_id}/commands/logs"): {"location": "https://logs.example/isolation"},
    ("POST", "/v1/stations/{station_id}/commands/data-transfer"): {"vendor_id": "isolation"},
    ("POST", "/v1/blocks"): {"subject_kind": "station", "subject_id": "CW-B-0001", "reason": "isolation test"},
    ("POST", "/v1/blocks/{block_id}/lift"): {"reason": "isolation test"},
    ("POST", "/v1/tokens/{id_token}/link"): {"fleet": "a-fleet"},
    ("POST", "/v1/sites/{site_id}/local-list"): {"full": True},
    ("POST", "/v1/stations/{station_id}/certificates"): {
        "certificate_pem": "-----BEGIN CERTIFICATE-----\n" + "A" * 64 + "\n-----END CERTIFICATE-----\n"
    },
    ("POST", "/v1/certificates/{fingerprint}/revoke"): {"reason": "isolation test"},
}
STREAMING = {"/v1/events"}
SITES_B = {"berlin-mitte", "hamburg-hafen"}
# Query parameters a GET route cannot do without (so the answer is about who asks, not a missing input).
REQUIRED_QUERY: dict[str, dict[str, str]] = {"/v1/stations/{station_id}/meter-values": {"evse_id": "1"}}


@dataclass
class Objects:
    """partner-b's objects, and every string that would betray one in partner-a's answers."""

    station: str
    token: str
    policy: str
    webhook: str
    incident: str
    exclusion: str
    contract: str
    alert: str
    security_incident: str
    action: str
    response_policy: str
    block: str
    secrets: set[str]

    def snapshot(self, stack: Stack) -> dict[str, Any]:
        """What partner-b's SLA and security objects look like now (as an operator and an analyst see them)."""
        with (
            stack.client("operator") as operator,
            stack.client("analyst") as analyst,
            stack.client("partner-b") as b,
        ):
            incident = operator.get(f"/v1/incidents/{self.incident}").json()
            exclusions = operator.get("/v1/exclusions", params={"station_id": FAULTY["partner-b"][0]}).json()
            alert = analyst.get(f"/v1/alerts/{self.alert}").json()
            return {
                "incident": (incident["acknowledged_by"], incident["resolved_by"], incident["notes"]),
                "exclusion": [(e["id"], e["state"]) for e in exclusions["items"]],
                "contract": operator.get(f"/v1/sla/contracts/{self.contract}").json()["name"],
                "site": operator.get("/v1/sla/sites/berlin-mitte").json()["uptime_target_percent"],
                "alert": (alert["state"], [a["id"] for a in alert["actions"]]),
                "policies": analyst.get("/v1/security/response-policies").json(),
                "token": b.get(f"/v1/tokens/{self.token}").json(),
                "blocks": operator.get("/v1/blocks", params={"limit": 500}).json()["items"],
                "quarantines": [b for b in analyst.get("/v1/blocks").json()["items"] if b["subject_kind"] == "station"],
            }


@pytest.fixture(scope="module")
def theirs(stack: Stack) -> Iterator[Objects]:
    stations = stack.stations_of("partner-b")
    with stack.client("partner-b") as b, stack.client("operator") as operator:
        token = b.post("/v1/tokens", json={"id_token": "B0B0B0B0B0", "group_id": "b-fleet"})
        assert token.status_code in (201, 409), token.text
        policy = operator.post(
            "/v1/access-policies", json={"tenant_id": "partner-b", "name": "B only", "site_ids": ["berlin-mitte"]}
        )
        assert policy.status_code == 201, policy.text
        webhook = b.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/b-hook", "events": ["station.status"]})
        assert webhook.status_code == 201, webhook.text
        sla = _sla_objects(stack)
        security = _security_objects(stack)
        block = operator.post(
            "/v1/blocks", json={"subject_kind": "token", "subject_id": "B1B1B1B1B1", "reason": "lost card of B"}
        )
        assert block.status_code == 201, block.text
        objects = Objects(
            station=stations[0],
            token="B0B0B0B0B0",
            policy=policy.json()["policy_id"],
            webhook=webhook.json()["id"],
            **sla,
            **security,
            block=block.json()["id"],
            secrets={
                "partner-b",
                *stations,
                FAULTY["partner-b"][0],
                "B0B0B0B0B0",
                policy.json()["policy_id"],
                webhook.json()["id"],
                *sla.values(),
                *security.values(),
                "B1B1B1B1B1",
                block.json()["id"],
            },
        )
        objects.secrets |= stack.sites_of("partner-b")
        yield objects
        b.delete(f"/v1/webhooks/{objects.webhook}")
        operator.delete(f"/v1/access-policies/{objects.policy}")
        operator.delete(f"/v1/security/response-policies/{objects.response_policy}")
        operator.post(f"/v1/blocks/{objects.block}/lift", json={"reason": "isolation test over"})


def _sla_objects(stack: Stack) -> dict[str, str]:
    """partner-b's open incident, an exclusion declared for it, a contract and its site's profile."""
    incident = open_incident_of(stack, "partner-b")
    with stack.client("operator") as operator:
        exclusion = operator.post(
            "/v1/exclusions",
            json={
                "station_id": FAULTY["partner-b"][0],
                "evse_id": 1,
                "category": "utility_interruption",
                "from": incident["opened_at"],
                "to": (datetime.fromisoformat(incident["opened_at"]) + timedelta(days=1)).isoformat(),
                "evidence": "grid operator notice B-1",
            },
        )
        assert exclusion.status_code == 201, exclusion.text
        contract = operator.post(
            "/v1/sla/contracts",
            json={"name": "B maintenance", "tenant_id": "partner-b", "site_ids": ["berlin-mitte"]},
        )
        assert contract.status_code == 201, contract.text
        site = operator.put("/v1/sla/sites/berlin-mitte", json={"tenant_id": "partner-b", "uptime_target_percent": 98})
        assert site.status_code == 200, site.text
    return {"incident": incident["id"], "exclusion": exclusion.json()["id"], "contract": contract.json()["id"]}


def _security_objects(stack: Stack) -> dict[str, str]:
    """The alert on partner-b's attacked station, its security incident, a (dry-run) response and a policy."""
    alert = alert_of(stack, "partner-b")
    with stack.client("analyst") as analyst:
        detail = analyst.get(f"/v1/alerts/{alert['id']}").json()
        response = analyst.post(
            f"/v1/alerts/{alert['id']}/responses", json={"actions": ["quarantine_station"], "dry_run": True}
        )
        assert response.status_code == 200, response.text
        assert response.json()["items"][0]["state"] == "dry_run"
        policy = analyst.post(
            "/v1/security/response-policies",
            json={"name": "B dry run", "rules": ["station-tamper"], "actions": ["quarantine_station"], "dry_run": True},
        )
        assert policy.status_code == 201, policy.text
    return {
        "alert": alert["id"],
        "security_incident": detail["incident_id"],
        "action": response.json()["items"][0]["id"],
        "response_policy": policy.json()["id"],
    }


def fill(path: str, objects: Objects) -> str:
    security = path.startswith("/v1/security/")
    values = {
        "station_id": objects.station,
        "id_token": objects.token,
        "policy_id": objects.response_policy if security else objects.policy,
        "webhook_id": objects.webhook,
        "incident_id": objects.security_incident if security else objects.incident,
        "exclusion_id": objects.exclusion,
        "contract_id": objects.contract,
        "site_id": sorted(SITES_B)[0],
        "alert_id": objects.alert,
        "action_id": objects.action,
        "block_id": objects.block,
        "fingerprint": "0" * 64,
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"no partner-b object for path parameter {{{name}}}: add one to `fill`"
        return values[name]

    return re.sub(r"\{(\w+)\}", replace, path)


def query_variants(route: APIRoute, objects: Objects, stack: Stack) -> list[dict[str, str]]:
    """No filter, then each of partner-b's tenant, station and site in the filters the route takes."""
    names = query_names(route.dependant)
    variants: list[dict[str, str]] = [{}]
    if "tenant_id" in names:
        variants.append({"tenant_id": "partner-b"})
    if "station_id" in names:
        variants.append({"station_id": objects.station})
    if "site_id" in names:
        variants.extend({"site_id": site} for site in sorted(stack.sites_of("partner-b")))
    for name, value in (("incident_id", objects.security_incident), ("alert_id", objects.alert)):
        if name in names:
            variants.append({name: value})
    if "subject_id" in names:
        variants.append({"subject_id": objects.station})
    if "type" in names:
        variants.append({"type": "ISO14443"})
    return variants


def leaked(text: str, objects: Objects) -> set[str]:
    return {secret for secret in objects.secrets if secret in text}


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r.path}" for m, r in ROUTES])
def test_partner_a_cannot_reach_partner_b(stack: Stack, theirs: Objects, method: str, route: APIRoute) -> None:
    path = fill(route.path, theirs)
    if route.path in STREAMING:
        _check_stream(stack, theirs, path)
        return
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        assert (method, route.path) in BODIES, f"add a valid body for {method} {route.path} to BODIES"
    body = BODIES.get((method, route.path))
    before = theirs.snapshot(stack)
    with stack.client("partner-a") as a:
        for params in query_variants(route, theirs, stack) if method == "GET" else [{}]:
            reply = a.request(method, path, params={**REQUIRED_QUERY.get(route.path, {}), **params}, json=body)
            where = f"{method} {path} {params}"
            if reply.is_success:
                assert not leaked(reply.text, theirs), f"{where} showed partner-b's data: {leaked(reply.text, theirs)}"
            else:
                assert reply.status_code in (403, 404), f"{where}: {reply.status_code} {reply.text}"
                assert reply.headers["content-type"] == "application/problem+json"
    # Nothing partner-a tried changed partner-b's objects.
    with stack.client("partner-b") as b:
        assert b.get(f"/v1/tokens/{theirs.token}").json()["status"] == "active"
        assert b.get(f"/v1/webhooks/{theirs.webhook}").status_code == 200
        assert b.get(f"/v1/access-policies/{theirs.policy}").json()["name"] == "B only"
        assert b.get(f"/v1/stations/{theirs.station}").status_code == 200
    assert theirs.snapshot(stack) == before


def _check_stream(stack: Stack, theirs: Objects, path: str) -> None:
    """partner-a's event stream, unfiltered and filtered on partner-b's station, carries only its own events:
    its own incident opened while both tenants' ports go down, never partner-b's nor a security alert."""
    ours = {*stack.stations_of("partner-a"), FAULTY["partner-a"][0]}
    seen: dict[str, list[dict[str, Any]]] = {"all": [], "theirs": []}

    def read(name: str, params: dict[str, str]) -> None:
        with (
            httpx.Client(base_url=stack.api_url, timeout=httpx.Timeout(10, read=12)) as http,
            http.stream(
                "GET", path, params=params, headers={"Authorization": f"Bearer {stack.token('partner-a')}"}
            ) as r,
        ):
            assert r.status_code == 200
            deadline = time.monotonic() + 8
            for line in r.iter_lines():
                if line.startswith("data: "):
                    seen[name].append(orjson.loads(line[6:]))
                if time.monotonic() > deadline:
                    return

    def take_ports_down() -> None:
        # An operator takes a port of each tenant out of service: an incident each (the simulated
        # stations put them back in service within seconds).
        time.sleep(1.5)
        with stack.client("operator") as operator:
            for station in (theirs.station, stack.stations_of("partner-a")[0]):
                reply = operator.post(
                    f"/v1/stations/{station}/commands/availability", json={"evse_id": 1, "operative": False}
                )
                assert reply.status_code == 200, reply.text
        guess_passwords(stack, stack.stations_of("partner-a")[1])

    threads = [
        threading.Thread(target=read, args=("all", {})),
        threading.Thread(target=read, args=("theirs", {"station_id": theirs.station})),
        threading.Thread(target=take_ports_down),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert seen["all"], "partner-a saw no event of its own stations in 8 s (the simulator changes one every ~2 s)"
    assert {e["station_id"] for e in seen["all"]} <= ours
    assert {e["tenant_id"] for e in seen["all"]} == {"partner-a"}
    types = {e["type"] for e in seen["all"]}
    assert "incident.opened" in types, f"partner-a's own incident did not arrive: {types}"
    assert not types & {"alert.raised", "alert.updated"}
    assert seen["theirs"] == []


def test_route_table_covers_every_write_route() -> None:
    """BODIES names no route that is gone (a renamed route must be tried under its new name)."""
    served = {(m, r.path) for m, r in ROUTES}
    assert set(BODIES) <= served, set(BODIES) - served


def test_operator_sees_both_tenants_so_the_checks_above_can_fail(stack: Stack, theirs: Objects) -> None:
    with stack.client("operator") as operator:
        page = operator.get("/v1/stations", params={"limit": 100}).json()
        assert {s["tenant_id"] for s in page["items"]} >= {"partner-a", "partner-b"}
        assert theirs.station in operator.get("/v1/exports/stations").text
    wait_for(lambda: theirs.webhook in stack.client("operator").get("/v1/webhooks").text, timeout=5)
