"""Token issuance: sessions, the grants, refresh token rotation and authorization codes.

Kept apart from HTTP so tests and the admin API can drive it directly.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from chargewatch.devidp.keys import KeyRing
from chargewatch.devidp.realm import Client, Realm, User

_CODE_TTL_SECONDS = 60


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass
class Session:
    id: str
    user: User
    client: Client
    scope: str
    expires_at: float
    refresh_jti: str


@dataclass
class PendingCode:
    session: Session
    redirect_uri: str
    code_challenge: str
    expires_at: float


class IdentityProvider:
    def __init__(self, realm: Realm, keys: KeyRing, base_url: str) -> None:
        self.realm = realm
        self.keys = keys
        self.base_url = base_url.rstrip("/")
        self.sessions: dict[str, Session] = {}
        self.codes: dict[str, PendingCode] = {}

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{self.realm.name}"

    def client(self, client_id: str | None, secret: str | None) -> Client:
        client = self.realm.clients.get(client_id or "")
        if client is None or not client.enabled or client.bearer_only or not client.check_secret(secret):
            raise OAuthError("invalid_client", "Invalid client or Invalid client credentials", 401)
        return client

    def login(self, client: Client, username: str, password: str, scope: str) -> Session:
        user = self.realm.users.get(username)
        if user is None or user.service_account_client_id:
            raise OAuthError("invalid_grant", "Invalid user credentials", 401)
        if self.realm.is_locked(user):
            raise OAuthError("invalid_grant", "Invalid user credentials", 401)  # Keycloak does not reveal locks
        if not user.check_password(password):
            user.failures.append(time.monotonic())
            raise OAuthError("invalid_grant", "Invalid user credentials", 401)
        if not user.enabled:
            raise OAuthError("invalid_grant", "Account disabled", 400)
        user.failures.clear()
        return self._open_session(user, client, scope)

    def service_account_session(self, client: Client, scope: str) -> Session:
        user = self.realm.service_account(client.client_id)
        if not client.service_accounts or client.public or user is None:
            raise OAuthError("unauthorized_client", "Client not enabled to retrieve service account")
        return self._open_session(user, client, scope)

    def _open_session(self, user: User, client: Client, scope: str) -> Session:
        session = Session(
            id=str(uuid.uuid4()),
            user=user,
            client=client,
            scope=scope,
            expires_at=time.time() + self.realm.refresh_token_lifespan,
            refresh_jti="",
        )
        self.sessions[session.id] = session
        return session

    def tokens(self, session: Session, *, refresh: bool = True) -> dict[str, Any]:
        now = int(time.time())
        lifespan = session.client.access_token_lifespan or self.realm.access_token_lifespan
        claims = self.realm.claims_for(session.user, session.client, session.scope)
        claims |= {
            "exp": now + lifespan,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "sid": session.id,
        }
        body: dict[str, Any] = {
            "access_token": self.keys.sign(claims),
            "expires_in": lifespan,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": claims["scope"],
        }
        if refresh:
            session.refresh_jti = str(uuid.uuid4())
            session.expires_at = now + self.realm.refresh_token_lifespan
            body["refresh_token"] = self.keys.sign(
                {
                    "exp": int(session.expires_at),
                    "iat": now,
                    "jti": session.refresh_jti,
                    "iss": self.issuer,
                    "aud": self.issuer,
                    "sub": session.user.id,
                    "typ": "Refresh",
                    "azp": session.client.client_id,
                    "sid": session.id,
                }
            )
            body["refresh_expires_in"] = self.realm.refresh_token_lifespan
            body["session_state"] = session.id
        if "openid" in claims["scope"].split():
            body["id_token"] = self.keys.sign(
                {
                    k: v
                    for k, v in (claims | {"typ": "ID", "aud": session.client.client_id}).items()
                    if k not in {"realm_access", "scope"}
                }
            )
        return body

    def refresh(self, client: Client, refresh_token: str) -> Session:
        try:
            claims = self.keys.verify(refresh_token, audience=self.issuer, issuer=self.issuer)
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "Invalid refresh token") from exc
        session = self.sessions.get(str(claims.get("sid")))
        if claims.get("typ") != "Refresh" or session is None or claims.get("azp") != client.client_id:
            raise OAuthError("invalid_grant", "Session not active")
        if claims.get("jti") != session.refresh_jti:
            # A replayed refresh token: revoke the whole session, as Keycloak does with revokeRefreshToken.
            self.sessions.pop(session.id, None)
            raise OAuthError("invalid_grant", "Maximum allowed refresh token reuse exceeded")
        if not session.user.enabled:
            raise OAuthError("invalid_grant", "Account disabled")
        return session

    def logout(self, client: Client, refresh_token: str) -> None:
        try:
            claims = self.keys.verify(refresh_token, audience=self.issuer, issuer=self.issuer)
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "Invalid refresh token") from exc
        session = self.sessions.get(str(claims.get("sid")))
        if session is not None and session.client.client_id == client.client_id:
            del self.sessions[session.id]

    def issue_code(self, session: Session, redirect_uri: str, code_challenge: str) -> str:
        now = time.time()
        self.codes = {k: v for k, v in self.codes.items() if v.expires_at > now}
        code = secrets.token_urlsafe(32)
        self.codes[code] = PendingCode(session, redirect_uri, code_challenge, now + _CODE_TTL_SECONDS)
        return code

    def redeem_code(self, client: Client, code: str, redirect_uri: str, verifier: str) -> Session:
        pending = self.codes.pop(code, None)  # single use, even when the exchange fails
        if pending is None or pending.expires_at < time.time() or pending.session.client is not client:
            raise OAuthError("invalid_grant", "Code not valid")
        if pending.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", "Incorrect redirect_uri")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or not secrets.compare_digest(digest, pending.code_challenge):
            raise OAuthError("invalid_grant", "PKCE verification failed")
        return pending.session
