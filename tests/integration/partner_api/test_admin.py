"""The commands beyond start/stop/reset/unlock/availability, and authz's management through the API: blocks
and quarantines, token links, local authorization lists and station client certificates. Real tokens, real
authz and gateway, simulated stations answering for themselves."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from tests.integration.authz.conftest import REALM, SERVICES_SECRET
from tests.integration.partner_api.stack import Stack

pytestmark = pytest.mark.integration


def station_of(stack: Stack, tenant: str, version: str) -> str:
    return next(s.station_id for s in stack.platform.fleet if s.tenant_id == tenant and s.ocpp_version == version)


def command(client: Any, station: str, name: str, body: Any = None) -> Any:
    return client.post(f"/v1/stations/{station}/commands/{name}", json=body)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_partners_trigger_messages_and_clear_caches_of_their_own_stations(stack: Stack, version: str) -> None:
    station = station_of(stack, "partner-a", version)
    with stack.client("partner-a-backend") as a:
        triggered = command(a, station, "trigger", {"message": "StatusNotification", "evse_id": 1})
        assert triggered.status_code == 200, triggered.text
        assert (triggered.json()["ocpp_action"], triggered.json()["status"]) == ("TriggerMessage", "Accepted")
        cleared = command(a, station, "clear-cache")
        assert cleared.json()["ocpp_action"] == "ClearCache" and cleared.json()["status"] == "Accepted"
        version_reply = command(a, station, "local-list-version")
        assert version_reply.json()["ocpp_action"] == "GetLocalListVersion"
        # The station's own answer: 1.6 names the field listVersion, 2.0.1 versionNumber.
        field = "listVersion" if version == "1.6" else "versionNumber"
        assert isinstance(version_reply.json()["response"].get(field), int)
        # Settings, firmware, logs and vendor messages are an operator's.
        for name, body in [
            ("get-configuration", {"keys": ["HeartbeatInterval"]}),
            ("change-configuration", {"key": "HeartbeatInterval", "value": "300"}),
            ("firmware", {"location": "https://fw.example/x.bin", "retrieve_at": "2026-12-01T00:00:00Z"}),
            ("logs", {"location": "https://logs.example/upload"}),
            ("data-transfer", {"vendor_id": "com.example"}),
        ]:
            assert command(a, station, name, body).status_code == 403, name
    other = station_of(stack, "partner-b", version)
    with stack.client("partner-a") as a:
        assert command(a, other, "trigger", {"message": "Heartbeat"}).status_code == 404


def test_operators_read_and_change_settings_in_each_versions_terms(stack: Stack) -> None:
    v16, v201 = station_of(stack, "partner-a", "1.6"), station_of(stack, "partner-a", "2.0.1")
    with stack.client("operator") as operator:
        read = command(operator, v16, "get-configuration", {"keys": ["HeartbeatInterval"]})
        assert read.status_code == 200, read.text
        assert read.json()["ocpp_action"] == "GetConfiguration"
        assert "configurationKey" in read.json()["response"] or "unknownKey" in read.json()["response"]
        variables = [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]
        read201 = command(operator, v201, "get-configuration", {"variables": variables})
        assert read201.json()["ocpp_action"] == "GetVariables"
        assert read201.json()["response"]["getVariableResult"][0]["variable"]["name"] == "HeartbeatInterval"
        changed = command(operator, v16, "change-configuration", {"key": "HeartbeatInterval", "value": "300"})
        assert changed.json()["ocpp_action"] == "ChangeConfiguration" and changed.json()["status"]
        changed201 = command(operator, v201, "change-configuration", {**variables[0], "value": "300"})
        assert changed201.json()["ocpp_action"] == "SetVariables"
        # Each version's own terms; and credentials never as a plain setting.
        wrong = command(operator, v201, "get-configuration", {"keys": ["HeartbeatInterval"]})
        assert wrong.status_code == 409 and "variables" in wrong.json()["detail"]
        secret = command(operator, v16, "change-configuration", {"key": "AuthorizationKey", "value": "00"})
        assert secret.status_code == 409 and "credentials/rotate" in secret.json()["detail"]
        logs = command(operator, v16, "logs", {"location": "https://logs.example/upload"})
        assert logs.json()["ocpp_action"] == "GetDiagnostics"
        half = {"location": "https://fw.example/x", "retrieve_at": "2026-12-01T00:00:00Z", "signature": "c2ln"}
        assert command(operator, v201, "firmware", half).status_code == 409
        transfer = command(operator, v201, "data-transfer", {"vendor_id": "com.example", "message_id": "Ping"})
        assert transfer.json()["ocpp_action"] == "DataTransfer"


def test_blocks_and_quarantines_for_operators_and_analysts(stack: Stack) -> None:
    body = {"subject_kind": "token", "subject_id": "0BADC0FFEE01", "reason": "reported stolen"}
    for user in ("partner-a", "sre"):
        with stack.client(user) as client:
            assert client.post("/v1/blocks", json=body).status_code == 403, user
    assert stack.client("partner-a").get("/v1/blocks").status_code == 403
    with stack.client("analyst") as analyst:
        created = analyst.post("/v1/blocks", json=body)
        assert created.status_code == 201, created.text
        block = created.json()
        assert (block["subject_kind"], block["subject_id"], block["lifted_at"]) == ("token", "0BADC0FFEE01", None)
    with stack.client("sre") as sre:
        assert block["id"] in {b["id"] for b in sre.get("/v1/blocks", params={"subject_kind": "token"}).json()["items"]}
    with stack.client("operator") as operator:
        lifted = operator.post(f"/v1/blocks/{block['id']}/lift", json={"reason": "card found"})
        assert lifted.status_code == 200 and lifted.json()["lifted_at"]
        again = operator.post(f"/v1/blocks/{block['id']}/lift")
        assert again.status_code == 409
        assert block["id"] not in operator.get("/v1/blocks").text
        assert block["id"] in operator.get("/v1/blocks", params={"include_lifted": "true"}).text
        mixed = operator.post("/v1/blocks", json={**body, "mode": "set_unavailable"})
        assert mixed.status_code == 422 and "stations only" in mixed.json()["detail"]


def test_partners_link_their_own_tokens(stack: Stack) -> None:
    # Fleets are Keycloak groups carrying their tenant, made by the realm's administrators.
    admin = KeycloakAdmin(
        connection=KeycloakOpenIDConnection(
            server_url=stack.platform.keycloak_url,
            realm_name=REALM,
            client_id="chargewatch-services",
            client_secret_key=SERVICES_SECRET,
        )
    )
    for fleet, tenant in [("a-vans", "partner-a"), ("b-vans", "partner-b")]:
        admin.create_group({"name": fleet, "attributes": {"tenant_id": [tenant]}}, skip_exists=True)
    with stack.client("partner-a") as a, stack.client("partner-b") as b:
        created = a.post("/v1/tokens", json={"id_token": "A0A0A0A0A7"})
        assert created.status_code in (201, 409), created.text
        linked = a.post("/v1/tokens/A0A0A0A0A7/link", json={"fleet": "a-vans"})
        assert linked.status_code == 200, linked.text
        assert linked.json()["fleet"] == "a-vans"
        assert b.post("/v1/tokens/A0A0A0A0A7/link", json={"fleet": "b-vans"}).status_code == 404
        both = a.post("/v1/tokens/A0A0A0A0A7/link", json={"fleet": "x", "user_id": "u-1"})
        assert both.status_code == 422 and "exactly one" in both.json()["detail"]
        assert a.get("/v1/tokens/A0A0A0A0A7").json()["fleet"] == "a-vans"


def test_operators_publish_a_sites_local_list(stack: Stack) -> None:
    site = "hamburg-hafen"
    expected = {s.station_id for s in stack.platform.fleet if s.site_id == site}
    assert stack.client("partner-b").post(f"/v1/sites/{site}/local-list").status_code == 403
    with stack.client("operator") as operator:
        published = operator.post(f"/v1/sites/{site}/local-list", json={"full": True})
        assert published.status_code == 200, published.text
        body = published.json()
        assert body["site_id"] == site and body["version"] >= 1
        assert {p["station_id"] for p in body["pushes"]} == expected
        assert all(p["update_type"] == "Full" and p["status"] for p in body["pushes"])


def _certificate(common_name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), hashlib.sha256(der).hexdigest()


def test_station_client_certificates_are_registered_listed_and_revoked(stack: Stack) -> None:
    station = station_of(stack, "partner-b", "2.0.1")
    pem, fingerprint = _certificate(station)
    path = f"/v1/stations/{station}/certificates"
    assert stack.client("partner-b").post(path, json={"certificate_pem": pem}).status_code == 403
    assert stack.client("partner-b").get(path).status_code == 403
    with stack.client("operator") as operator:
        registered = operator.post(path, json={"certificate_pem": pem})
        assert registered.status_code == 201, registered.text
        assert registered.json()["sha256_fingerprint"] == fingerprint
        assert registered.json()["station_id"] == station
        garbage = operator.post(path, json={"certificate_pem": "-----BEGIN CERTIFICATE-----\n" + "A" * 80})
        assert garbage.status_code == 400
    with stack.client("sre") as sre:
        assert fingerprint in {c["sha256_fingerprint"] for c in sre.get(path).json()["items"]}
    with stack.client("analyst") as analyst:
        revoked = analyst.post(f"/v1/certificates/{fingerprint}/revoke", json={"reason": "key compromised"})
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert revoked.json()["revocation_reason"] == "key compromised"
        assert analyst.post(f"/v1/certificates/{'0' * 64}/revoke").status_code == 404
