"""The realm as Keycloak would import it: clients, users, groups, roles and the claims they produce.

Only what ChargeWatch uses is modelled: realm roles (directly and through groups), user attributes,
confidential/public clients with service accounts, and the audience and user-attribute mappers of
client scopes.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
# Demo passwords are checked with a cheap argon2 profile: this IdP never runs in production.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
_DEFAULT_ROLES = ("offline_access", "uma_authorization")


class RealmError(ValueError):
    """The realm file cannot be loaded."""


@dataclass
class User:
    id: str
    username: str
    enabled: bool
    email: str
    first_name: str
    last_name: str
    realm_roles: set[str]
    attributes: dict[str, list[str]]
    groups: list[str]
    password_hash: str | None
    service_account_client_id: str | None = None
    client_roles: dict[str, set[str]] = field(default_factory=dict)
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    failures: list[float] = field(default_factory=list)

    def representation(self, *, brief: bool = False) -> dict[str, Any]:
        """Keycloak's UserRepresentation (the fields ChargeWatch reads)."""
        body: dict[str, Any] = {
            "id": self.id,
            "username": self.username,
            "enabled": self.enabled,
            "email": self.email,
            "emailVerified": bool(self.email),
            "firstName": self.first_name,
            "lastName": self.last_name,
            "createdTimestamp": self.created_ms,
        }
        if not brief:
            body["attributes"] = {k: list(v) for k, v in self.attributes.items()}
        if self.service_account_client_id:
            body["serviceAccountClientId"] = self.service_account_client_id
        return body

    def check_password(self, password: str) -> bool:
        if self.password_hash is None:
            return False
        try:
            return _HASHER.verify(self.password_hash, password)
        except VerificationError:
            return False

    def set_password(self, password: str) -> None:
        self.password_hash = _HASHER.hash(password)


@dataclass
class Client:
    client_id: str
    enabled: bool
    public: bool
    bearer_only: bool
    secret: str | None
    standard_flow: bool
    direct_access_grants: bool
    service_accounts: bool
    redirect_uris: list[str]
    default_scopes: list[str]
    # Origins a browser may call the token endpoint from (Keycloak's webOrigins; "+" means the
    # redirect URIs' origins, "*" any).
    web_origins: list[str] = field(default_factory=list)
    # Keycloak's per-client "access.token.lifespan" attribute; None uses the realm's.
    access_token_lifespan: int | None = None

    def check_secret(self, secret: str | None) -> bool:
        if self.public:
            return True
        if not self.secret or secret is None:
            return False
        return hmac.compare_digest(self.secret.encode(), secret.encode())

    def redirect_allowed(self, uri: str) -> bool:
        for pattern in self.redirect_uris:
            if pattern.endswith("*"):
                base = pattern[:-1]
                # "http://127.0.0.1/*" also admits any port on the loopback host, as native apps need.
                loopback = re.match(r"^(http://(127\.0\.0\.1|localhost))/", base)
                if uri.startswith(base) or (loopback and re.match(rf"^{re.escape(loopback.group(1))}(:\d+)?/", uri)):
                    return True
            elif uri == pattern:
                return True
        return False

    def origin_allowed(self, origin: str) -> bool:
        """Whether a browser page at `origin` may read this client's token responses (CORS)."""
        for entry in self.web_origins:
            if entry == "*":
                return True
            if entry == "+":
                if any(_origin_matches(pattern, origin) for pattern in self.redirect_uris):
                    return True
            elif entry.rstrip("/") == origin:
                return True
        return False


def _origin_matches(redirect_pattern: str, origin: str) -> bool:
    match = re.match(r"^(https?://[^/]+)", redirect_pattern)
    if match is None:
        return False
    base = match.group(1)
    # A loopback redirect pattern admits any port (see redirect_allowed), so its origin does too.
    if re.fullmatch(r"http://(127\.0\.0\.1|localhost)", base):
        return re.fullmatch(rf"{re.escape(base)}(:\d+)?", origin) is not None
    return origin == base


@dataclass
class Mapper:
    kind: str
    config: dict[str, str]


@dataclass
class Realm:
    name: str
    access_token_lifespan: int
    refresh_token_lifespan: int
    failure_factor: int
    failure_window_seconds: int
    roles: set[str]
    clients: dict[str, Client]
    users: dict[str, User]
    groups: dict[str, dict[str, Any]]
    scopes: dict[str, list[Mapper]]

    # -- lookups ----------------------------------------------------------------------------
    def user_by_id(self, user_id: str) -> User | None:
        return next((u for u in self.users.values() if u.id == user_id), None)

    def service_account(self, client_id: str) -> User | None:
        return next((u for u in self.users.values() if u.service_account_client_id == client_id), None)

    def group_id(self, name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"chargewatch-devidp:group:{name}"))

    def group_by_id(self, group_id: str) -> dict[str, Any] | None:
        return next((g for name, g in self.groups.items() if self.group_id(name) == group_id), None)

    def effective_roles(self, user: User) -> set[str]:
        roles = set(user.realm_roles) | set(_DEFAULT_ROLES) | {f"default-roles-{self.name}"}
        for path in user.groups:
            roles.update(self.groups.get(path.lstrip("/"), {}).get("realmRoles", []))
        return roles

    def is_locked(self, user: User, now: float | None = None) -> bool:
        """Brute-force protection: too many recent failures lock the user for the window."""
        now = time.monotonic() if now is None else now
        user.failures = [t for t in user.failures if now - t < self.failure_window_seconds]
        return len(user.failures) >= self.failure_factor

    # -- claims -----------------------------------------------------------------------------
    def claims_for(self, user: User, client: Client, requested_scope: str = "") -> dict[str, Any]:
        scopes = list(dict.fromkeys([*client.default_scopes, *requested_scope.split()]))
        audiences: list[str] = []
        claims: dict[str, Any] = {
            "sub": user.id,
            "typ": "Bearer",
            "azp": client.client_id,
            "preferred_username": user.username,
            "realm_access": {"roles": sorted(self.effective_roles(user))},
            "scope": " ".join(s for s in ["openid", *scopes] if s in self.scopes or s in {"openid", "roles"}),
        }
        if user.service_account_client_id:
            claims["client_id"] = user.service_account_client_id
        if user.client_roles:
            claims["resource_access"] = {c: {"roles": sorted(r)} for c, r in user.client_roles.items()}
        if "email" in scopes and user.email:
            claims |= {"email": user.email, "email_verified": True}
        if "profile" in scopes:
            name = f"{user.first_name} {user.last_name}".strip()
            if name:
                claims |= {"name": name, "given_name": user.first_name, "family_name": user.last_name}
        for scope in scopes:
            for mapper in self.scopes.get(scope, []):
                if mapper.config.get("access.token.claim", "true") != "true":
                    continue
                if mapper.kind == "oidc-audience-mapper":
                    audience = mapper.config.get("included.client.audience")
                    if audience:
                        audiences.append(audience)
                elif mapper.kind == "oidc-usermodel-attribute-mapper":
                    values = user.attributes.get(mapper.config.get("user.attribute", ""), [])
                    if values:
                        multi = mapper.config.get("multivalued") == "true"
                        claims[mapper.config.get("claim.name") or mapper.config["user.attribute"]] = (
                            values if multi else values[0]
                        )
        audiences.append("account")
        claims["aud"] = audiences[0] if len(audiences) == 1 else list(dict.fromkeys(audiences))
        return claims


def _substitute(value: Any, placeholders: Mapping[str, str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            found = os.environ.get(name, placeholders.get(name))
            if found is None:
                raise RealmError(f"the realm needs a value for ${{{name}}}")
            return found

        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, list):
        return [_substitute(v, placeholders) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, placeholders) for k, v in value.items()}
    return value


def load_realm(realm_file: Path, overlay_file: Path | None = None) -> Realm:
    try:
        document = json.loads(realm_file.read_text())
        overlay = json.loads(overlay_file.read_text()) if overlay_file else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise RealmError(f"cannot read the realm: {exc}") from exc
    placeholders = overlay.get("placeholders", {})
    for key in ("clients", "users", "groups"):
        document[key] = [*document.get(key, []), *overlay.get(key, [])]
    document = _substitute(document, placeholders)
    return build_realm(document)


def _lifespan(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError) as exc:
        raise RealmError(f"access.token.lifespan must be a number of seconds, not {value!r}") from exc
    return seconds if seconds > 0 else None


def build_realm(document: Mapping[str, Any]) -> Realm:
    roles = {r["name"] for r in document.get("roles", {}).get("realm", [])}
    scopes = {
        s["name"]: [Mapper(m["protocolMapper"], dict(m.get("config", {}))) for m in s.get("protocolMappers", [])]
        for s in document.get("clientScopes", [])
    }
    for builtin in ("roles", "profile", "email", "web-origins"):
        scopes.setdefault(builtin, [])
    default_scopes = list(document.get("defaultDefaultClientScopes", []))
    clients: dict[str, Client] = {}
    for c in document.get("clients", []):
        clients[c["clientId"]] = Client(
            client_id=c["clientId"],
            enabled=c.get("enabled", True),
            public=c.get("publicClient", False),
            bearer_only=c.get("bearerOnly", False),
            secret=c.get("secret"),
            standard_flow=c.get("standardFlowEnabled", True),
            direct_access_grants=c.get("directAccessGrantsEnabled", False),
            service_accounts=c.get("serviceAccountsEnabled", False),
            redirect_uris=list(c.get("redirectUris", [])),
            default_scopes=list(c.get("defaultClientScopes", default_scopes)),
            web_origins=list(c.get("webOrigins", [])),
            access_token_lifespan=_lifespan(c.get("attributes", {}).get("access.token.lifespan")),
        )
    groups = {g["name"]: g for g in document.get("groups", [])}
    users: dict[str, User] = {}
    for u in document.get("users", []):
        unknown = set(u.get("realmRoles", [])) - roles
        if unknown:
            raise RealmError(f"user {u['username']} has undefined roles {sorted(unknown)}")
        if u["username"] in users:
            raise RealmError(f"user {u['username']} is defined twice")
        password = next((c["value"] for c in u.get("credentials", []) if c.get("type") == "password"), None)
        users[u["username"]] = User(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"chargewatch-devidp:{u['username']}")),
            username=u["username"],
            enabled=u.get("enabled", True),
            email=u.get("email", ""),
            first_name=u.get("firstName", ""),
            last_name=u.get("lastName", ""),
            realm_roles=set(u.get("realmRoles", [])),
            attributes={k: list(v) for k, v in u.get("attributes", {}).items()},
            groups=list(u.get("groups", [])),
            password_hash=_HASHER.hash(password) if password else None,
            service_account_client_id=u.get("serviceAccountClientId"),
            client_roles={c: set(r) for c, r in u.get("clientRoles", {}).items()},
        )
    return Realm(
        name=document["realm"],
        access_token_lifespan=int(document.get("accessTokenLifespan", 300)),
        refresh_token_lifespan=int(document.get("ssoSessionIdleTimeout", 1800)),
        failure_factor=int(document.get("failureFactor", 30)) if document.get("bruteForceProtected") else 1 << 30,
        failure_window_seconds=int(document.get("waitIncrementSeconds", 60)),
        roles=roles,
        clients=clients,
        users=users,
        groups=groups,
        scopes=scopes,
    )
