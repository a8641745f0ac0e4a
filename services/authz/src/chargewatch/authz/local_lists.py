"""Local authorization lists, versioned per site (the station group), so stations authorize offline.

The list of a site is every token its stations would accept: the tenant's active, unexpired,
unblocked tokens that the site's policies allow (groups, blocklists; time windows and session
limits cannot be expressed offline and stay online-only). A new version is stored only when the
list changed. Each station's last accepted version and its entries are remembered, so a station
gets a differential update (changes and removals) when it can, a full one otherwise; the arguments
are written in the station's OCPP version's field names for the gateway's SEND_LOCAL_LIST.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chargewatch.authz.blocks import BlockStore
from chargewatch.authz.credentials import StationCredentialStore
from chargewatch.authz.gateway import CommandFailed, GatewayCommandsClient, StationNotConnected
from chargewatch.authz.policies import AccessPolicy, PolicyStore
from chargewatch.authz.tokens import DriverToken, TokenStore
from chargewatch.mongo import Document
from chargewatch.v1 import common_pb2, gateway_pb2

LISTS = "local_lists"
STATION_LISTS = "local_list_stations"
_OCPP16_IDTAG_MAX = 20

# key -> {"id_token", "type", "group_id", "expiry"} (expiry ISO 8601 or "")
Entries = dict[str, dict[str, str]]


@dataclass(frozen=True)
class Push:
    station_id: str
    update_type: str
    status: str


def list_entries(tokens: Iterable[DriverToken], policies: Iterable[AccessPolicy], blocked: set[str]) -> Entries:
    now = datetime.now(UTC)
    site_policies = list(policies)
    entries: Entries = {}
    for token in tokens:
        if token.effective_status(now).value != "active" or token.id_token in blocked:
            continue
        if any(token.id_token in p.blocked_id_tokens for p in site_policies):
            continue
        if any(p.allowed_groups and token.group_id not in p.allowed_groups for p in site_policies):
            continue
        entries[token.key] = {
            "id_token": token.id_token,
            "type": token.id_token_type,
            "group_id": token.group_id,
            "expiry": token.expires_at.isoformat() if token.expires_at else "",
        }
    return entries


def differential(
    old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]]
) -> tuple[Entries, list[str]]:
    """Entries added or changed, and keys removed, from `old` to `new`."""
    changed = {k: dict(v) for k, v in new.items() if old.get(k) != v}
    removed = sorted(k for k in old if k not in new)
    return changed, removed


def send_local_list_arguments(
    version: int,
    ocpp_version: int,
    update_type: str,
    entries: Mapping[str, Mapping[str, str]],
    removed: Iterable[Mapping[str, str]],
) -> dict[str, Any]:
    """SEND_LOCAL_LIST arguments in the station's version: SendLocalList (1.6) or SendLocalListRequest (2.0.1)."""
    if ocpp_version == common_pb2.OCPP_VERSION_1_6:
        items: list[dict[str, Any]] = []
        for entry in entries.values():
            if len(entry["id_token"]) > _OCPP16_IDTAG_MAX:
                continue  # 1.6 idTags are at most 20 characters
            info: dict[str, Any] = {"status": "Accepted"}
            if entry["expiry"]:
                info["expiryDate"] = entry["expiry"]
            if entry["group_id"]:
                info["parentIdTag"] = entry["group_id"][:_OCPP16_IDTAG_MAX]
            items.append({"idTag": entry["id_token"], "idTagInfo": info})
        items += [{"idTag": r["id_token"]} for r in removed if len(r["id_token"]) <= _OCPP16_IDTAG_MAX]
        return {"listVersion": version, "updateType": update_type, "localAuthorizationList": items}
    items = []
    for entry in entries.values():
        token_info: dict[str, Any] = {"status": "Accepted"}
        if entry["expiry"]:
            token_info["cacheExpiryDateTime"] = entry["expiry"]
        if entry["group_id"]:
            token_info["groupIdToken"] = {"idToken": entry["group_id"], "type": "Central"}
        items.append({"idToken": {"idToken": entry["id_token"], "type": entry["type"]}, "idTokenInfo": token_info})
    items += [{"idToken": {"idToken": r["id_token"], "type": r["type"]}} for r in removed]
    return {"versionNumber": version, "updateType": update_type, "localAuthorizationList": items}


class LocalLists:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        tokens: TokenStore,
        policies: PolicyStore,
        blocks: BlockStore,
        credentials: StationCredentialStore,
        gateway: GatewayCommandsClient | None,
    ) -> None:
        self.lists = db[LISTS]
        self.station_lists = db[STATION_LISTS]
        self.tokens = tokens
        self.policies = policies
        self.blocks = blocks
        self.credentials = credentials
        self.gateway = gateway

    async def current(self, site_id: str, tenant_id: str) -> tuple[int, Entries]:
        """The site's list, stored as a new version when it differs from the last one."""
        site_policies = [p for p in self.policies.applicable(tenant_id, "", site_id)]
        tokens = await self.tokens.active_for_tenant(tenant_id)
        blocked = {t.id_token for t in tokens if self.blocks.active_for("token", t.id_token) is not None}
        entries = list_entries(tokens, site_policies, blocked)
        stored = await self.lists.find_one({"_id": site_id})
        if stored is not None and stored.get("entries") == entries:
            return int(stored["version"]), entries
        version = int(stored["version"]) + 1 if stored else 1
        await self.lists.replace_one(
            {"_id": site_id},
            {"_id": site_id, "tenant_id": tenant_id, "version": version, "entries": entries, "at": datetime.now(UTC)},
            upsert=True,
        )
        return version, entries

    async def publish(
        self, site_id: str, *, full: bool, requested_by: common_pb2.Principal | None
    ) -> tuple[int, int, list[Push]]:
        stations = await self.credentials.at_site(site_id)
        if not stations:
            raise LookupError(site_id)
        tenant_id = stations[0].get("tenant_id", "")
        version, entries = await self.current(site_id, tenant_id)
        pushes = [await self._push(s["_id"], version, entries, full, requested_by) for s in stations]
        return version, len(entries), pushes

    async def _push(
        self, station_id: str, version: int, entries: Entries, full: bool, requested_by: common_pb2.Principal | None
    ) -> Push:
        if self.gateway is None:
            return Push(station_id, "Full", "not_connected")
        held = await self.station_lists.find_one({"_id": station_id})
        if held is not None and int(held.get("version", 0)) == version and not full:
            return Push(station_id, "Differential", "up_to_date")
        try:
            ocpp_version = await self.gateway.ocpp_version(station_id)
        except (StationNotConnected, CommandFailed):
            return Push(station_id, "Full", "not_connected")
        if held is None or full:
            update_type, changed, removed = "Full", entries, []
        else:
            update_type = "Differential"
            changed, removed_keys = differential(held.get("entries", {}), entries)
            removed = [held["entries"][k] for k in removed_keys]
        arguments = send_local_list_arguments(version, ocpp_version, update_type, changed, removed)
        try:
            outcome = await self.gateway.send(
                station_id, gateway_pb2.COMMAND_KIND_SEND_LOCAL_LIST, arguments, requested_by=requested_by
            )
        except (StationNotConnected, CommandFailed):
            return Push(station_id, update_type, "not_connected")
        if outcome.status == "Accepted":
            await self.station_lists.replace_one(
                {"_id": station_id},
                {"_id": station_id, "version": version, "entries": entries, "at": datetime.now(UTC)},
                upsert=True,
            )
        elif outcome.status == "VersionMismatch" and update_type == "Differential":
            # The station lost track: forget what it held so the next push is a full one.
            await self.station_lists.delete_one({"_id": station_id})
        return Push(station_id, update_type, outcome.status or "unknown")
