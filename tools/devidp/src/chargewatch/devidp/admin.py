"""The Keycloak admin REST calls authz makes (through python-keycloak): users, their attributes,
groups and realm roles. Callers need a bearer token of this realm carrying the realm-management
client roles Keycloak would demand (view/query-users to read, manage-users to write).
"""

# No `from __future__ import annotations`: FastAPI must see the closures' Depends() at runtime.
import uuid
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Response

from chargewatch.devidp.provider import IdentityProvider
from chargewatch.devidp.realm import User

READ_ROLES = frozenset({"view-users", "query-users", "manage-users"})
WRITE_ROLES = frozenset({"manage-users"})
_MAX_PAGE = 1000


def _user_matches(user: User, username: str | None, search: str | None, exact: bool, q: str | None) -> bool:
    if username is not None:
        if exact and user.username != username.lower():
            return False
        if not exact and username.lower() not in user.username:
            return False
    if search is not None:
        needle = search.strip("*").lower()
        fields = (user.username, user.email, user.first_name, user.last_name)
        if not any(needle in (value or "").lower() for value in fields):
            return False
    if q:
        # Keycloak's attribute search: "key:value key2:value2", every pair must match exactly.
        for pair in q.split():
            key, _, value = pair.partition(":")
            if value not in user.attributes.get(key, []):
                return False
    return True


def admin_router(provider: IdentityProvider) -> APIRouter:
    realm = provider.realm
    router = APIRouter(prefix=f"/admin/realms/{realm.name}")

    def caller_roles(authorization: Annotated[str | None, Header()] = None) -> frozenset[str]:
        token = (authorization or "").removeprefix("Bearer ").strip()
        try:
            claims = provider.keys.verify(token, issuer=provider.issuer, options={"verify_aud": False})
        except jwt.PyJWTError as exc:
            raise HTTPException(401, {"error": "HTTP 401 Unauthorized"}) from exc
        if claims.get("typ") != "Bearer":
            raise HTTPException(401, {"error": "HTTP 401 Unauthorized"})
        roles = claims.get("resource_access", {}).get("realm-management", {}).get("roles", [])
        return frozenset(roles)

    def reader(roles: Annotated[frozenset[str], Depends(caller_roles)]) -> None:
        if not roles & READ_ROLES:
            raise HTTPException(403, {"error": "HTTP 403 Forbidden"})

    def writer(roles: Annotated[frozenset[str], Depends(caller_roles)]) -> None:
        if not roles & WRITE_ROLES:
            raise HTTPException(403, {"error": "HTTP 403 Forbidden"})

    def find_user(user_id: str) -> User:
        user = realm.user_by_id(user_id)
        if user is None:
            raise HTTPException(404, {"error": "User not found"})
        return user

    def group_repr(name: str) -> dict[str, Any]:
        group = realm.groups[name]
        return {
            "id": realm.group_id(name),
            "name": name,
            "path": f"/{name}",
            "attributes": {k: list(v) for k, v in group.get("attributes", {}).items()},
            "realmRoles": list(group.get("realmRoles", [])),
            "subGroupCount": 0,
            "subGroups": [],
        }

    def apply_groups(user: User, paths: list[str]) -> None:
        for path in paths:
            if path.lstrip("/") not in realm.groups:
                raise HTTPException(400, {"errorMessage": f"Group {path} not found"})
        user.groups = list(dict.fromkeys([*user.groups, *paths]))

    @router.get("/users", dependencies=[Depends(reader)])
    async def list_users(
        username: str | None = None,
        search: str | None = None,
        q: str | None = None,
        exact: bool = False,
        first: Annotated[int, Query(ge=0)] = 0,
        max: Annotated[int, Query(ge=0, le=_MAX_PAGE)] = 100,
        briefRepresentation: bool = False,  # noqa: N803 - Keycloak's parameter name
    ) -> list[dict[str, Any]]:
        users = sorted(realm.users.values(), key=lambda u: u.username)
        found = [u for u in users if _user_matches(u, username, search, exact, q)]
        return [u.representation(brief=briefRepresentation) for u in found[first : first + max]]

    @router.get("/users/count", dependencies=[Depends(reader)])
    async def count_users(username: str | None = None, search: str | None = None, q: str | None = None) -> int:
        return sum(_user_matches(u, username, search, False, q) for u in realm.users.values())

    @router.post("/users", status_code=201, dependencies=[Depends(writer)])
    async def create_user(response: Response, payload: Annotated[dict[str, Any], Body()]) -> None:
        username = str(payload.get("username") or "").strip().lower()
        if not username or len(username) > 255:
            raise HTTPException(400, {"errorMessage": "username is required"})
        if username in realm.users:
            raise HTTPException(409, {"errorMessage": "User exists with same username"})
        user = User(
            id=str(uuid.uuid4()),
            username=username,
            enabled=bool(payload.get("enabled", True)),
            email=str(payload.get("email") or ""),
            first_name=str(payload.get("firstName") or ""),
            last_name=str(payload.get("lastName") or ""),
            realm_roles=set(),
            attributes={k: [str(x) for x in v] for k, v in (payload.get("attributes") or {}).items()},
            groups=[],
            password_hash=None,
        )
        apply_groups(user, list(payload.get("groups") or []))
        password = next((c.get("value") for c in payload.get("credentials") or [] if c.get("type") == "password"), None)
        if password:
            user.set_password(str(password))
        realm.users[username] = user
        response.headers["Location"] = f"{provider.base_url}/admin/realms/{realm.name}/users/{user.id}"

    @router.get("/users/{user_id}", dependencies=[Depends(reader)])
    async def get_user(user_id: str) -> dict[str, Any]:
        return find_user(user_id).representation()

    @router.put("/users/{user_id}", status_code=204, dependencies=[Depends(writer)])
    async def update_user(user_id: str, payload: Annotated[dict[str, Any], Body()]) -> None:
        user = find_user(user_id)
        if "enabled" in payload:
            user.enabled = bool(payload["enabled"])
        for field, attr in (("email", "email"), ("firstName", "first_name"), ("lastName", "last_name")):
            if field in payload:
                setattr(user, attr, str(payload[field] or ""))
        if "attributes" in payload:  # Keycloak replaces the whole attribute map
            user.attributes = {k: [str(x) for x in v] for k, v in (payload["attributes"] or {}).items()}

    @router.delete("/users/{user_id}", status_code=204, dependencies=[Depends(writer)])
    async def delete_user(user_id: str) -> None:
        user = find_user(user_id)
        del realm.users[user.username]
        for session_id in [s.id for s in provider.sessions.values() if s.user is user]:
            del provider.sessions[session_id]

    @router.get("/users/{user_id}/groups", dependencies=[Depends(reader)])
    async def user_groups(user_id: str) -> list[dict[str, Any]]:
        user = find_user(user_id)
        return [group_repr(p.lstrip("/")) for p in user.groups if p.lstrip("/") in realm.groups]

    @router.put("/users/{user_id}/groups/{group_id}", status_code=204, dependencies=[Depends(writer)])
    async def join_group(user_id: str, group_id: str) -> None:
        user = find_user(user_id)
        group = realm.group_by_id(group_id)
        if group is None:
            raise HTTPException(404, {"error": "Group not found"})
        apply_groups(user, [f"/{group['name']}"])

    @router.delete("/users/{user_id}/groups/{group_id}", status_code=204, dependencies=[Depends(writer)])
    async def leave_group(user_id: str, group_id: str) -> None:
        user = find_user(user_id)
        group = realm.group_by_id(group_id)
        if group is None:
            raise HTTPException(404, {"error": "Group not found"})
        user.groups = [p for p in user.groups if p.lstrip("/") != group["name"]]

    @router.get("/users/{user_id}/role-mappings/realm", dependencies=[Depends(reader)])
    async def user_realm_roles(user_id: str) -> list[dict[str, Any]]:
        return [{"name": r, "composite": False, "clientRole": False} for r in sorted(find_user(user_id).realm_roles)]

    @router.get("/roles", dependencies=[Depends(reader)])
    async def realm_roles() -> list[dict[str, Any]]:
        return [{"name": r, "composite": False, "clientRole": False} for r in sorted(realm.roles)]

    @router.get("/groups", dependencies=[Depends(reader)])
    async def list_groups(
        search: str | None = None,
        first: Annotated[int, Query(ge=0)] = 0,
        max: Annotated[int, Query(ge=0, le=_MAX_PAGE)] = 100,
    ) -> list[dict[str, Any]]:
        names = sorted(n for n in realm.groups if search is None or search.lower() in n.lower())
        return [group_repr(n) for n in names[first : first + max]]

    @router.get("/groups/{group_id}", dependencies=[Depends(reader)])
    async def get_group(group_id: str) -> dict[str, Any]:
        group = realm.group_by_id(group_id)
        if group is None:
            raise HTTPException(404, {"error": "Could not find group by id"})
        return group_repr(group["name"])

    @router.post("/groups", status_code=201, dependencies=[Depends(writer)])
    async def create_group(response: Response, payload: Annotated[dict[str, Any], Body()]) -> None:
        # Top-level groups only (fleets); Keycloak answers 409 for a sibling with the same name.
        name = str(payload.get("name") or "").strip()
        if not name or len(name) > 255 or "/" in name:
            raise HTTPException(400, {"errorMessage": "Group name is missing or invalid"})
        if name in realm.groups:
            raise HTTPException(409, {"errorMessage": f"Top level group named '{name}' already exists."})
        realm.groups[name] = {
            "name": name,
            "attributes": {k: [str(x) for x in v] for k, v in (payload.get("attributes") or {}).items()},
            "realmRoles": [],
        }
        response.headers["Location"] = f"{provider.base_url}/admin/realms/{realm.name}/groups/{realm.group_id(name)}"

    @router.put("/groups/{group_id}", status_code=204, dependencies=[Depends(writer)])
    async def update_group(group_id: str, payload: Annotated[dict[str, Any], Body()]) -> None:
        group = realm.group_by_id(group_id)
        if group is None:
            raise HTTPException(404, {"error": "Could not find group by id"})
        if "attributes" in payload:  # replaced as a whole, as Keycloak does
            group["attributes"] = {k: [str(x) for x in v] for k, v in (payload["attributes"] or {}).items()}

    @router.delete("/groups/{group_id}", status_code=204, dependencies=[Depends(writer)])
    async def delete_group(group_id: str) -> None:
        group = realm.group_by_id(group_id)
        if group is None:
            raise HTTPException(404, {"error": "Could not find group by id"})
        name = group["name"]
        del realm.groups[name]
        for user in realm.users.values():
            user.groups = [p for p in user.groups if p.lstrip("/") != name]

    @router.get("/group-by-path/{path:path}", dependencies=[Depends(reader)])
    async def group_by_path(path: str) -> dict[str, Any]:
        name = path.strip("/")
        if name not in realm.groups:
            raise HTTPException(404, {"error": "Group path does not exist"})
        return group_repr(name)

    @router.get("/groups/{group_id}/members", dependencies=[Depends(reader)])
    async def group_members(
        group_id: str,
        first: Annotated[int, Query(ge=0)] = 0,
        max: Annotated[int, Query(ge=0, le=_MAX_PAGE)] = 100,
    ) -> list[dict[str, Any]]:
        group = realm.group_by_id(group_id)
        if group is None:
            raise HTTPException(404, {"error": "Could not find group by id"})
        path = f"/{group['name']}"
        members = sorted((u for u in realm.users.values() if path in u.groups), key=lambda u: u.username)
        return [u.representation() for u in members[first : first + max]]

    return router
