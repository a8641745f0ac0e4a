"""The admin REST calls authz makes, through python-keycloak's KeycloakAdmin, against the dev IdP."""

from __future__ import annotations

import httpx
import pytest
from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

pytestmark = pytest.mark.integration

REALM = "chargewatch"


def admin(
    keycloak_url: str, client_id: str = "chargewatch-services", secret: str = "dev-chargewatch-services-secret"
) -> KeycloakAdmin:
    connection = KeycloakOpenIDConnection(
        server_url=keycloak_url, realm_name=REALM, client_id=client_id, client_secret_key=secret, verify=False
    )
    return KeycloakAdmin(connection=connection)


def test_users_attributes_and_groups(keycloak_url: str) -> None:
    kc = admin(keycloak_url)
    usernames = {u["username"] for u in kc.get_users({})}
    assert {"operator", "partner-a", "partner-b", "sre", "analyst"} <= usernames
    partner_a = kc.get_user_id("partner-a")
    assert partner_a is not None
    assert kc.get_user(partner_a)["attributes"]["tenant_id"] == ["partner-a"]
    assert [g["name"] for g in kc.get_user_groups(partner_a)] == ["partner-a"]

    group = kc.get_group_by_path("/partner-a")
    members = [m["username"] for m in kc.get_group_members(group["id"])]
    assert members == ["partner-a"]

    # A driver: RFID uid as a token attribute, in partner-b's fleet group.
    driver_id = kc.create_user(
        {
            "username": "driver-0001",
            "enabled": True,
            "attributes": {"rfid": ["04A1B2C3D4"], "tenant_id": ["partner-b"]},
            "groups": ["/partner-b"],
        }
    )
    assert kc.create_user({"username": "driver-0001"}, exist_ok=True) == driver_id
    found = kc.get_users({"q": "rfid:04A1B2C3D4"})
    assert [u["username"] for u in found] == ["driver-0001"]
    assert kc.users_count({"q": "tenant_id:partner-b"}) >= 2

    kc.update_user(driver_id, {"enabled": False, "attributes": {"rfid": ["04A1B2C3D4"], "blocked_reason": ["lost"]}})
    updated = kc.get_user(driver_id)
    assert updated["enabled"] is False
    assert updated["attributes"] == {"rfid": ["04A1B2C3D4"], "blocked_reason": ["lost"]}
    assert {r["name"] for r in kc.get_realm_roles()} >= {"operator", "partner", "sre", "security-analyst"}

    kc.delete_user(driver_id)
    assert kc.get_user_id("driver-0001") is None


def test_admin_calls_need_realm_management_roles(keycloak_url: str) -> None:
    # A partner backend has a valid token of the realm, but no realm-management role.
    with pytest.raises(KeycloakError) as refused:
        admin(keycloak_url, "partner-a-backend", "dev-partner-a-secret").get_users({})
    assert refused.value.response_code == 403
    assert httpx.get(f"{keycloak_url}/admin/realms/{REALM}/users").status_code == 401
    refresh = KeycloakOpenID(server_url=keycloak_url, realm_name=REALM, client_id="chargewatch-cli").token("sre", "sre")
    # A refresh token is not a bearer token.
    reply = httpx.get(
        f"{keycloak_url}/admin/realms/{REALM}/users",
        headers={"Authorization": f"Bearer {refresh['refresh_token']}"},
    )
    assert reply.status_code == 401


def test_a_created_user_can_log_in_with_its_tenant(keycloak_url: str) -> None:
    kc = admin(keycloak_url)
    kc.create_user(
        {
            "username": "fleet-manager",
            "enabled": True,
            "attributes": {"tenant_id": ["partner-a"]},
            "groups": ["/partner-a"],
            "credentials": [{"type": "password", "value": "a-long-test-password", "temporary": False}],
        }
    )
    oidc = KeycloakOpenID(server_url=keycloak_url, realm_name=REALM, client_id="chargewatch-cli")
    claims = oidc.decode_token(oidc.token("fleet-manager", "a-long-test-password")["access_token"], validate=False)
    assert claims["tenant_id"] == "partner-a"
    assert "partner" in claims["realm_access"]["roles"]  # through the group
    kc.delete_user(kc.get_user_id("fleet-manager"))
