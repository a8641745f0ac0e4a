"""The development identity provider as a process: the Keycloak endpoints our code and python-keycloak use."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakAuthenticationError

from chargewatch.auth import AccessTokenValidator

pytestmark = pytest.mark.integration

REALM = "chargewatch"


def token_url(base: str) -> str:
    return f"{base}/realms/{REALM}/protocol/openid-connect/token"


def test_python_keycloak_password_grant_userinfo_and_refresh(keycloak_url: str) -> None:
    oidc = KeycloakOpenID(server_url=keycloak_url, realm_name=REALM, client_id="chargewatch-cli")
    assert oidc.well_known()["issuer"] == f"{keycloak_url}/realms/{REALM}"
    tokens = oidc.token("partner-b", "partner-b")
    info = oidc.userinfo(tokens["access_token"])
    assert info["preferred_username"] == "partner-b"
    assert info["tenant_id"] == "partner-b"
    renewed = oidc.refresh_token(tokens["refresh_token"])
    assert renewed["access_token"] != tokens["access_token"]
    # Refresh tokens are single use; replaying the old one ends the session.
    with pytest.raises(Exception, match="reuse"):
        oidc.refresh_token(tokens["refresh_token"])
    with pytest.raises(Exception, match="Session not active"):
        oidc.refresh_token(renewed["refresh_token"])
    with pytest.raises(KeycloakAuthenticationError):
        oidc.token("partner-b", "wrong-password")


def test_wrong_credentials_get_oauth_errors(keycloak_url: str) -> None:
    url = token_url(keycloak_url)
    bad_password = httpx.post(
        url, data={"grant_type": "password", "client_id": "chargewatch-cli", "username": "sre", "password": "nope"}
    )
    assert bad_password.status_code == 401
    assert bad_password.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}
    bad_secret = httpx.post(url, data={"grant_type": "client_credentials"}, auth=("chargewatch-services", "guess"))
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    # A public client has no service account; the resource server cannot log anybody in.
    public = httpx.post(url, data={"grant_type": "client_credentials", "client_id": "chargewatch-cli"})
    assert public.status_code == 400 and public.json()["error"] == "unauthorized_client"
    bearer_only = httpx.post(
        url,
        data={"grant_type": "password", "client_id": "chargewatch-partner-api", "username": "sre", "password": "sre"},
    )
    assert bearer_only.status_code == 401
    unknown = httpx.post(url, data={"grant_type": "implicit", "client_id": "chargewatch-cli"})
    assert unknown.json()["error"] == "unsupported_grant_type"


def test_repeated_failures_lock_the_user_without_saying_so(keycloak_url: str) -> None:
    url = token_url(keycloak_url)
    form = {"grant_type": "password", "client_id": "chargewatch-cli", "username": "analyst"}
    for _ in range(5):
        assert httpx.post(url, data=form | {"password": "guess"}).status_code == 401
    locked = httpx.post(url, data=form | {"password": "analyst"})
    assert locked.status_code == 401
    assert locked.json()["error_description"] == "Invalid user credentials"


async def test_service_client_credentials_token_validates(keycloak_url: str) -> None:
    async with httpx.AsyncClient() as http:
        reply = await http.post(
            token_url(keycloak_url),
            data={"grant_type": "client_credentials"},
            auth=("chargewatch-services", "dev-chargewatch-services-secret"),
        )
        assert reply.status_code == 200
        assert "refresh_token" not in reply.json()
        principal = await AccessTokenValidator(
            f"{keycloak_url}/realms/{REALM}", "chargewatch-partner-api", http=http
        ).validate(reply.json()["access_token"])
    assert principal.client_id == "chargewatch-services"
    assert principal.username == "service-account-chargewatch-services"


def test_authorization_code_flow_with_pkce(keycloak_url: str) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    auth_url = f"{keycloak_url}/realms/{REALM}/protocol/openid-connect/auth"
    redirect = "http://127.0.0.1:8765/callback"
    query = {
        "client_id": "chargewatch-cli",
        "redirect_uri": redirect,
        "response_type": "code",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = httpx.get(auth_url, params=query)
    assert page.status_code == 200 and "<form" in page.text
    assert httpx.get(auth_url, params=query | {"redirect_uri": "https://evil.test/cb"}).status_code == 400
    assert httpx.get(auth_url, params=query | {"code_challenge_method": "plain"}).status_code == 400

    login = httpx.post(auth_url, data=query | {"username": "operator", "password": "operator"})
    assert login.status_code == 302
    location = urlparse(login.headers["location"])
    params = parse_qs(location.query)
    assert location.netloc == "127.0.0.1:8765" and params["state"] == ["xyz"]
    code = params["code"][0]
    exchange = {"grant_type": "authorization_code", "client_id": "chargewatch-cli", "code": code}
    wrong_verifier = httpx.post(
        token_url(keycloak_url), data=exchange | {"redirect_uri": redirect, "code_verifier": "x" * 50}
    )
    assert wrong_verifier.status_code == 400
    # The failed attempt consumed the code: it cannot be retried with the right verifier.
    retry = httpx.post(token_url(keycloak_url), data=exchange | {"redirect_uri": redirect, "code_verifier": verifier})
    assert retry.status_code == 400

    login = httpx.post(auth_url, data=query | {"username": "operator", "password": "operator"})
    code = parse_qs(urlparse(login.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        token_url(keycloak_url), data=exchange | {"code": code, "redirect_uri": redirect, "code_verifier": verifier}
    )
    assert tokens.status_code == 200
    claims = jwt.decode(tokens.json()["access_token"], options={"verify_signature": False})
    assert claims["preferred_username"] == "operator"


def test_refuses_to_start_in_production_mode() -> None:
    env = {**os.environ, "CHARGEWATCH_MODE": "production", "CW_DEVIDP_PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "chargewatch.devidp"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert "refuses to run" in done.stderr
