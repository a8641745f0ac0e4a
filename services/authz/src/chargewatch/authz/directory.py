"""Keycloak as the directory of drivers and fleets, through python-keycloak's async admin API.

authz signs in with the client credentials of its service client (`chargewatch-services`, whose
service account holds realm-management's view/manage-users roles). Every failure to reach Keycloak
becomes `DirectoryUnavailable`, so callers can tell "Keycloak said no" from "Keycloak is down".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import httpx
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

# The user attribute listing a driver's tokens ("<type>:<uid>"), and the tenant attribute of users and groups.
ID_TOKENS_ATTRIBUTE = "id_tokens"
TENANT_ATTRIBUTE = "tenant_id"


class DirectoryUnavailable(Exception):
    """Keycloak could not be asked (down, timing out, or refusing our service credentials)."""


class LinkState(enum.Enum):
    OK = "ok"
    DISABLED = "disabled"  # the user exists but is disabled: its tokens are blocked
    GONE = "gone"  # the user or fleet no longer exists, or no longer lists the token
    TENANT_MISMATCH = "tenant_mismatch"


@dataclass(frozen=True)
class Fleet:
    group_id: str
    name: str
    tenant_id: str


def _first(attributes: dict[str, Any], name: str) -> str:
    values = attributes.get(name) or []
    return str(values[0]) if values else ""


class KeycloakDirectory:
    def __init__(
        self, server_url: str, realm: str, client_id: str, client_secret: str, *, timeout_seconds: float = 2.0
    ) -> None:
        connection = KeycloakOpenIDConnection(
            server_url=server_url,
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            timeout=timeout_seconds,  # type: ignore[arg-type]  # httpx takes floats
            verify=True,
        )
        self._admin = KeycloakAdmin(connection=connection)
        self.server_url = server_url

    def __repr__(self) -> str:  # the connection holds the client secret
        return f"KeycloakDirectory(server_url={self.server_url!r})"

    async def close(self) -> None:
        await self._admin.connection.aclose()

    async def _call(self, coroutine: Any) -> Any:
        try:
            return await coroutine
        except KeycloakError as exc:
            if exc.response_code == 404:
                return None
            raise DirectoryUnavailable(f"Keycloak answered {exc.response_code}") from exc
        except (httpx.HTTPError, OSError) as exc:
            raise DirectoryUnavailable(f"Keycloak unreachable: {type(exc).__name__}") from exc

    async def user(self, user_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self._call(self._admin.a_get_user(user_id))
        return result

    async def fleet(self, name: str) -> Fleet | None:
        group: dict[str, Any] | None = await self._call(self._admin.a_get_group_by_path(f"/{name}"))
        if not group or "id" not in group:
            return None
        return Fleet(
            str(group["id"]), str(group.get("name", name)), _first(group.get("attributes") or {}, TENANT_ATTRIBUTE)
        )

    async def user_link(self, user_id: str, key: str, tenant_id: str) -> LinkState:
        """Whether the user exists, lists the token, belongs to the tenant and is enabled."""
        user = await self.user(user_id)
        if user is None or key not in (user.get("attributes") or {}).get(ID_TOKENS_ATTRIBUTE, []):
            return LinkState.GONE
        user_tenant = _first(user.get("attributes") or {}, TENANT_ATTRIBUTE)
        if user_tenant and user_tenant != tenant_id:
            return LinkState.TENANT_MISMATCH
        return LinkState.OK if user.get("enabled", True) else LinkState.DISABLED

    async def fleet_link(self, name: str, tenant_id: str) -> LinkState:
        fleet = await self.fleet(name)
        if fleet is None:
            return LinkState.GONE
        if fleet.tenant_id and fleet.tenant_id != tenant_id:
            return LinkState.TENANT_MISMATCH
        return LinkState.OK

    async def add_token_to_user(self, user_id: str, key: str) -> None:
        """List the token in the user's id_tokens attribute (Keycloak replaces the whole map on update)."""
        user = await self.user(user_id)
        if user is None:
            raise LookupError(user_id)
        attributes: dict[str, list[str]] = dict(user.get("attributes") or {})
        listed = list(attributes.get(ID_TOKENS_ATTRIBUTE, []))
        if key not in listed:
            attributes[ID_TOKENS_ATTRIBUTE] = [*listed, key]
            await self._call(self._admin.a_update_user(user_id, {"attributes": attributes}))

    async def remove_token_from_user(self, user_id: str, key: str) -> None:
        user = await self.user(user_id)
        if user is None:
            return
        attributes: dict[str, list[str]] = dict(user.get("attributes") or {})
        listed = list(attributes.get(ID_TOKENS_ATTRIBUTE, []))
        if key in listed:
            attributes[ID_TOKENS_ATTRIBUTE] = [k for k in listed if k != key]
            await self._call(self._admin.a_update_user(user_id, {"attributes": attributes}))

    async def reachable(self) -> bool:
        """A cheap authenticated call: the realm's roles."""
        try:
            await self._call(self._admin.a_get_realm_roles())
        except DirectoryUnavailable:
            return False
        return True
