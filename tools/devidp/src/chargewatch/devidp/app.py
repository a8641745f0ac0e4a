"""The HTTP surface: Keycloak's URL layout for the endpoints ChargeWatch uses.

OIDC discovery, JWKS, the token endpoint (password, client_credentials, refresh_token and
authorization_code with PKCE), the login page, userinfo and logout. Browser apps (the operations
dashboard) call the token and logout endpoints cross-origin: as Keycloak does, those answers carry
CORS headers for the origins the client's webOrigins admit, and preflights are answered.
"""

from __future__ import annotations

import base64
import html
from typing import Annotated, Any
from urllib.parse import urlencode

import jwt
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from chargewatch.devidp.admin import admin_router
from chargewatch.devidp.provider import IdentityProvider, OAuthError
from chargewatch.devidp.realm import Client


def _client_credentials(
    authorization: str | None, client_id: str | None, client_secret: str | None
) -> tuple[str | None, str | None]:
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
        except ValueError as exc:
            raise OAuthError("invalid_client", "Malformed client authentication", 401) from exc
        basic_id, _, basic_secret = decoded.partition(":")
        return basic_id, basic_secret
    return client_id, client_secret


_CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
    "Vary": "Origin",
}


def _cors(provider: IdentityProvider, origin: str | None, client_id: str | None) -> dict[str, str]:
    """CORS headers for a token-endpoint answer to a page at `origin`, when the client admits it."""
    if not origin:
        return {}
    client = provider.realm.clients.get(client_id or "")
    if client is None or not client.origin_allowed(origin):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def create_app(provider: IdentityProvider) -> FastAPI:
    app = FastAPI(title="ChargeWatch development identity provider", docs_url=None, redoc_url=None)
    app.state.provider = provider
    realm_name = provider.realm.name
    prefix = f"/realms/{realm_name}"
    oidc = f"{prefix}/protocol/openid-connect"

    @app.exception_handler(OAuthError)
    async def oauth_error(request: Request, exc: OAuthError) -> JSONResponse:
        # A browser client must be able to read why its code exchange failed.
        client_id = request.query_params.get("client_id") or getattr(request.state, "client_id", None)
        return JSONResponse(
            {"error": exc.error, "error_description": exc.description},
            status_code=exc.status,
            headers={"Cache-Control": "no-store", **_cors(provider, request.headers.get("origin"), client_id)},
        )

    @app.options(f"{oidc}/token")
    @app.options(f"{oidc}/logout")
    async def preflight(request: Request) -> Response:
        origin = request.headers.get("origin", "")
        # The preflight carries no client id: admit an origin some client of the realm admits.
        if origin and any(c.origin_allowed(origin) for c in provider.realm.clients.values()):
            return Response(status_code=204, headers={"Access-Control-Allow-Origin": origin, **_CORS_PREFLIGHT})
        return Response(status_code=403)

    @app.get("/health/ready")
    @app.get("/health/live")
    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "UP"}

    @app.get(prefix)
    async def realm_info() -> dict[str, Any]:
        return {
            "realm": realm_name,
            "token-service": f"{provider.issuer}/protocol/openid-connect",
            "tokens-not-before": 0,
        }

    @app.get(f"{prefix}/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        issuer = provider.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/protocol/openid-connect/auth",
            "token_endpoint": f"{issuer}/protocol/openid-connect/token",
            "userinfo_endpoint": f"{issuer}/protocol/openid-connect/userinfo",
            "end_session_endpoint": f"{issuer}/protocol/openid-connect/logout",
            "jwks_uri": f"{issuer}/protocol/openid-connect/certs",
            "grant_types_supported": ["authorization_code", "refresh_token", "password", "client_credentials"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", *sorted(provider.realm.scopes)],
        }

    @app.get(f"{oidc}/certs")
    async def certs() -> JSONResponse:
        return JSONResponse(provider.keys.jwks(), headers={"Cache-Control": "no-cache"})

    @app.post(f"{oidc}/token")
    async def token(
        request: Request,
        grant_type: Annotated[str, Form()],
        authorization: Annotated[str | None, Header()] = None,
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
        username: Annotated[str | None, Form()] = None,
        password: Annotated[str | None, Form()] = None,
        refresh_token: Annotated[str | None, Form()] = None,
        code: Annotated[str | None, Form()] = None,
        redirect_uri: Annotated[str | None, Form()] = None,
        code_verifier: Annotated[str | None, Form()] = None,
        scope: Annotated[str, Form()] = "",
    ) -> JSONResponse:
        request.state.client_id = client_id
        client = provider.client(*_client_credentials(authorization, client_id, client_secret))
        request.state.client_id = client.client_id
        if grant_type == "password":
            if not client.direct_access_grants:
                raise OAuthError("unauthorized_client", "Client not allowed for direct access grants")
            if not username or password is None:
                raise OAuthError("invalid_request", "Missing parameter: username or password")
            session = provider.login(client, username, password, scope)
            body = provider.tokens(session)
        elif grant_type == "client_credentials":
            body = provider.tokens(provider.service_account_session(client, scope), refresh=False)
        elif grant_type == "refresh_token":
            if not refresh_token:
                raise OAuthError("invalid_request", "Missing parameter: refresh_token")
            body = provider.tokens(provider.refresh(client, refresh_token))
        elif grant_type == "authorization_code":
            if not code or not redirect_uri:
                raise OAuthError("invalid_request", "Missing parameter: code or redirect_uri")
            body = provider.tokens(provider.redeem_code(client, code, redirect_uri, code_verifier or ""))
        else:
            raise OAuthError("unsupported_grant_type", "Unsupported grant_type")
        cors = _cors(provider, request.headers.get("origin"), client.client_id)
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache", **cors})

    def _check_authorization_request(client_id: str, redirect_uri: str, method: str, challenge: str) -> Client:
        client = provider.realm.clients.get(client_id)
        if client is None or not client.enabled or not client.standard_flow:
            raise OAuthError("unauthorized_client", "Client not allowed to initiate browser login")
        if not client.redirect_allowed(redirect_uri):
            raise OAuthError("invalid_request", "Invalid parameter: redirect_uri")
        if method != "S256" or len(challenge) < 43:
            raise OAuthError("invalid_request", "Missing parameter: code_challenge_method S256")
        return client

    @app.get(f"{oidc}/auth", response_class=HTMLResponse)
    async def login_page(
        client_id: str,
        redirect_uri: str,
        response_type: str = "code",
        state: str = "",
        scope: str = "openid",
        code_challenge: str = "",
        code_challenge_method: str = "",
    ) -> HTMLResponse:
        if response_type != "code":
            raise OAuthError("unsupported_response_type", "Only the code flow is supported")
        _check_authorization_request(client_id, redirect_uri, code_challenge_method, code_challenge)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "scope": scope,
                "code_challenge": code_challenge,
                "code_challenge_method": code_challenge_method,
            }.items()
        )
        return HTMLResponse(
            "<!doctype html><html><head><title>Sign in to ChargeWatch (development)</title></head><body>"
            "<h1>ChargeWatch</h1><p>Development identity provider: demo users only.</p>"
            f'<form method="post">{hidden}'
            '<label>User <input name="username" autocomplete="username" required></label> '
            '<label>Password <input name="password" type="password" autocomplete="current-password" required></label> '
            '<button type="submit">Sign in</button></form></body></html>',
            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
        )

    @app.post(f"{oidc}/auth")
    async def login_submit(
        client_id: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        code_challenge: Annotated[str, Form()],
        code_challenge_method: Annotated[str, Form()],
        state: Annotated[str, Form()] = "",
        scope: Annotated[str, Form()] = "openid",
    ) -> Response:
        client = _check_authorization_request(client_id, redirect_uri, code_challenge_method, code_challenge)
        try:
            session = provider.login(client, username, password, scope)
        except OAuthError:
            return HTMLResponse("<p>Invalid user name or password.</p>", status_code=401)
        code = provider.issue_code(session, redirect_uri, code_challenge)
        separator = "&" if "?" in redirect_uri else "?"
        query = urlencode({"code": code, "state": state, "session_state": session.id})
        return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)

    @app.get(f"{oidc}/userinfo")
    async def userinfo(authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        token = (authorization or "").removeprefix("Bearer ").strip()
        try:
            claims = provider.keys.verify(token, issuer=provider.issuer, options={"verify_aud": False})
        except jwt.PyJWTError:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        if claims.get("typ") != "Bearer" or claims.get("sid") not in provider.sessions:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        keep = (
            "sub",
            "preferred_username",
            "email",
            "email_verified",
            "name",
            "given_name",
            "family_name",
            "tenant_id",
        )
        return JSONResponse({k: claims[k] for k in keep if k in claims})

    @app.post(f"{oidc}/logout", status_code=204)
    async def logout(
        request: Request,
        refresh_token: Annotated[str, Form()],
        authorization: Annotated[str | None, Header()] = None,
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
    ) -> Response:
        request.state.client_id = client_id
        client = provider.client(*_client_credentials(authorization, client_id, client_secret))
        provider.logout(client, refresh_token)
        return Response(status_code=204, headers=_cors(provider, request.headers.get("origin"), client.client_id))

    app.include_router(admin_router(provider))
    return app
