"""The realm file as the dev IdP reads it: placeholders, roles, mappers, redirect rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chargewatch.devidp.config import PACKAGED_DEV_OVERLAY, REPOSITORY_REALM
from chargewatch.devidp.realm import RealmError, load_realm


def test_shipped_realm_has_no_secret_values() -> None:
    document = json.loads(REPOSITORY_REALM.read_text())
    secrets = [c["secret"] for c in document["clients"] if "secret" in c]
    assert secrets and all(s.startswith("${") for s in secrets)
    assert all("credentials" not in u for u in document.get("users", []))


def test_placeholders_come_from_the_environment_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_SERVICES_CLIENT_SECRET", "from-the-environment")
    realm = load_realm(REPOSITORY_REALM, PACKAGED_DEV_OVERLAY)
    assert realm.clients["chargewatch-services"].check_secret("from-the-environment")
    assert not realm.clients["chargewatch-services"].check_secret("dev-chargewatch-services-secret")


def test_a_placeholder_without_value_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CW_SERVICES_CLIENT_SECRET", raising=False)
    with pytest.raises(RealmError, match="needs a value for"):
        load_realm(REPOSITORY_REALM, None)


def test_undefined_roles_are_refused(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.json"
    overlay.write_text(
        json.dumps(
            {
                "placeholders": {"CW_SERVICES_CLIENT_SECRET": "s", "CW_DASHBOARD_URL": "http://x"},
                "users": [{"username": "eve", "realmRoles": ["superuser"]}],
            }
        )
    )
    with pytest.raises(RealmError, match="superuser"):
        load_realm(REPOSITORY_REALM, overlay)


def test_claims_and_redirects() -> None:
    realm = load_realm(REPOSITORY_REALM, PACKAGED_DEV_OVERLAY)
    cli = realm.clients["chargewatch-cli"]
    claims = realm.claims_for(realm.users["partner-a"], cli)
    assert "chargewatch-partner-api" in claims["aud"]
    assert claims["tenant_id"] == "partner-a"
    assert "partner" in claims["realm_access"]["roles"]
    assert "tenant_id" not in realm.claims_for(realm.users["operator"], cli)
    assert cli.redirect_allowed("http://127.0.0.1:53121/callback")
    assert cli.redirect_allowed("http://localhost/cb")
    assert not cli.redirect_allowed("http://127.0.0.1.evil.test/cb")
    assert not cli.redirect_allowed("https://evil.test/cb")
