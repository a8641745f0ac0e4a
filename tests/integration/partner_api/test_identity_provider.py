"""What the dashboard needs from the identity provider (the development one here, Keycloak in production):
its public client signs people in with authorization code + PKCE only, and a page of the dashboard's
origin may read the token answers (CORS, from the client's webOrigins); other origins may not."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

pytestmark = pytest.mark.integration

REALM = "chargewatch"
DASHBOARD = "http://127.0.0.1:8080"  # the development realm's CW_DASHBOARD_URL
CLIENT = "chargewatch-dashboard"


def oidc(base: str, endpoint: str) -> str:
    return f"{base}/realms/{REALM}/protocol/openid-connect/{endpoint}"


def authorization_code(keycloak_url: str, verifier: str, user: str = "sre") -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    form = {
        "client_id": CLIENT,
        "redirect_uri": f"{DASHBOARD}/dashboard/callback",
        "state": "s1",
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "username": user,
        "password": user,
    }
    login = httpx.post(oidc(keycloak_url, "auth"), data=form)
    assert login.status_code == 302, login.text
    location = urlparse(login.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{DASHBOARD}/dashboard/callback"
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def test_code_with_pkce_and_cors_for_the_dashboards_origin(keycloak_url: str) -> None:
    verifier = secrets.token_urlsafe(48)
    code = authorization_code(keycloak_url, verifier)
    preflight = httpx.options(
        oidc(keycloak_url, "token"),
        headers={"Origin": DASHBOARD, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == DASHBOARD
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": f"{DASHBOARD}/dashboard/callback",
        "client_id": CLIENT,
        "code_verifier": verifier,
    }
    tokens = httpx.post(oidc(keycloak_url, "token"), data=form, headers={"Origin": DASHBOARD})
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["access-control-allow-origin"] == DASHBOARD
    body = tokens.json()
    assert body["access_token"] and body["refresh_token"]
    # The same code again, or from another page: refused; no CORS grant for an unknown origin.
    replay = httpx.post(oidc(keycloak_url, "token"), data=form, headers={"Origin": "https://evil.example"})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "access-control-allow-origin" not in replay.headers
    evil = httpx.options(oidc(keycloak_url, "token"), headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403


def test_a_wrong_verifier_fails_and_the_dashboard_client_has_no_password_grant(keycloak_url: str) -> None:
    code = authorization_code(keycloak_url, secrets.token_urlsafe(48))
    wrong = httpx.post(
        oidc(keycloak_url, "token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{DASHBOARD}/dashboard/callback",
            "client_id": CLIENT,
            "code_verifier": secrets.token_urlsafe(48),
        },
    )
    assert wrong.status_code == 400 and "PKCE" in wrong.json()["error_description"]
    password = httpx.post(
        oidc(keycloak_url, "token"),
        data={"grant_type": "password", "client_id": CLIENT, "username": "sre", "password": "sre"},
    )
    assert password.status_code == 400 and password.json()["error"] == "unauthorized_client"
    # Redirects go back to the dashboard only.
    elsewhere = httpx.get(
        oidc(keycloak_url, "auth"),
        params={
            "client_id": CLIENT,
            "redirect_uri": "https://evil.example/dashboard/callback",
            "response_type": "code",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert elsewhere.status_code == 400


def test_a_clients_own_token_lifespan(keycloak_url: str) -> None:
    short = httpx.post(
        oidc(keycloak_url, "token"),
        data={"grant_type": "password", "client_id": "chargewatch-short-lived", "username": "sre", "password": "sre"},
    )
    assert short.json()["expires_in"] == 3
    normal = httpx.post(
        oidc(keycloak_url, "token"),
        data={"grant_type": "password", "client_id": "chargewatch-cli", "username": "sre", "password": "sre"},
    )
    assert normal.json()["expires_in"] == 300
