"""Changes to tokens, quarantines and station passwords: each one written, audited and made effective.

A token change is written to MongoDB, audited, and its cached decision replaced at once (so
every replica answers the new state on its next Authorize). Quarantines act on the station through
the gateway; password rotations set the new password on the station before the old one stops
working.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from chargewatch.authz.authorizer import Authorizer
from chargewatch.authz.blocks import Block, BlockStore, QuarantineMode
from chargewatch.authz.credentials import Profile, StationCredentialStore, StationNotFound
from chargewatch.authz.directory import DirectoryUnavailable, KeycloakDirectory, LinkState
from chargewatch.authz.gateway import (
    CommandFailed,
    GatewayCommandsClient,
    StationNotConnected,
    change_availability_arguments,
)
from chargewatch.authz.tokens import DriverToken, TokenStatus, TokenStore, token_ref
from chargewatch.v1 import common_pb2, gateway_pb2

log = logging.getLogger(__name__)


class LinkRefused(ValueError):
    """The Keycloak user or fleet cannot take this token; the message is safe to return."""


class TokenManager:
    def __init__(self, store: TokenStore, authorizer: Authorizer, directory: KeycloakDirectory, blocks: BlockStore):
        self.store = store
        self.authorizer = authorizer
        self.directory = directory
        self.audit = blocks.audit

    async def _apply(self, token: DriverToken) -> None:
        """Replace the cached decision; when Keycloak is needed and down, drop it (refused until resolved)."""
        try:
            await self.authorizer.refresh(token.key)
        except DirectoryUnavailable:
            await self.authorizer.cache.invalidate(token.key)

    async def create(self, token: DriverToken, actor: str) -> DriverToken:
        if token.user_id or token.fleet:
            await self._check_link(token, token.user_id, token.fleet)
        created = await self.store.create(token)
        if created.user_id:
            await self.directory.add_token_to_user(created.user_id, created.key)
        await self.audit.record(
            "token.created", "token", token_ref(created.id_token), actor, type=created.id_token_type
        )
        await self._apply(created)
        return created

    async def set_status(
        self, key: str, status: TokenStatus, *, reason: str, expires_at: datetime | None, actor: str
    ) -> DriverToken:
        token = await self.store.require(key)
        if status is TokenStatus.EXPIRED:
            changed = await self.store.update(
                token, status=TokenStatus.EXPIRED, reason=reason, expires_at=datetime.now(UTC)
            )
        elif status is TokenStatus.ACTIVE:
            changed = await self.store.update(token, status=TokenStatus.ACTIVE, reason=reason, expires_at=expires_at)
        else:
            changed = await self.store.update(token, status=status, reason=reason)
        await self.audit.record(
            f"token.{status.value}", "token", token_ref(token.id_token), actor, reason=reason, type=token.id_token_type
        )
        await self._apply(changed)
        return changed

    async def _check_link(self, token: DriverToken, user_id: str, fleet: str) -> None:
        if bool(user_id) == bool(fleet):
            raise LinkRefused("give exactly one of user_id and fleet")
        if user_id:
            user = await self.directory.user(user_id)
            if user is None:
                raise LinkRefused("no such Keycloak user")
            tenant = ((user.get("attributes") or {}).get("tenant_id") or [""])[0]
            if tenant and tenant != token.tenant_id:
                raise LinkRefused("the user belongs to another tenant")
        else:
            state = await self.directory.fleet_link(fleet, token.tenant_id)
            if state is LinkState.GONE:
                raise LinkRefused("no such fleet group in Keycloak")
            if state is LinkState.TENANT_MISMATCH:
                raise LinkRefused("the fleet belongs to another tenant")

    async def link(self, key: str, *, user_id: str, fleet: str, actor: str) -> DriverToken:
        token = await self.store.require(key)
        await self._check_link(token, user_id, fleet)
        if token.user_id and token.user_id != user_id:
            await self.directory.remove_token_from_user(token.user_id, key)
        if user_id:
            await self.directory.add_token_to_user(user_id, key)
        group_id = token.group_id or (fleet if fleet else "")
        changed = await self.store.update(token, user_id=user_id, fleet=fleet, group_id=group_id)
        await self.audit.record("token.linked", "token", token_ref(token.id_token), actor, user_id=user_id, fleet=fleet)
        await self._apply(changed)
        return changed


class StationActions:
    """Quarantines and password rotation: the parts that reach the station through the gateway."""

    def __init__(
        self,
        credentials: StationCredentialStore,
        blocks: BlockStore,
        gateway: GatewayCommandsClient | None,
    ) -> None:
        self.credentials = credentials
        self.blocks = blocks
        self.gateway = gateway

    async def quarantine(
        self,
        station_id: str,
        mode: QuarantineMode,
        *,
        reason: str,
        actor: str,
        expires_at: datetime | None,
        requested_by: common_pb2.Principal | None,
    ) -> Block:
        if await self.credentials.get(station_id) is None:
            raise StationNotFound(station_id)
        block = await self.blocks.create(
            "station", station_id, reason=reason, actor=actor, expires_at=expires_at, mode=mode.value
        )
        await self._act(station_id, mode, operative=False, reason=reason, requested_by=requested_by)
        return block

    async def lift(self, block_id: str, *, reason: str, actor: str, requested_by: common_pb2.Principal | None) -> Block:
        block = await self.blocks.lift(block_id, actor=actor, reason=reason)
        if block.subject_kind == "station" and block.mode == QuarantineMode.SET_UNAVAILABLE.value:
            await self._act(
                block.subject_id,
                QuarantineMode.SET_UNAVAILABLE,
                operative=True,
                reason=reason,
                requested_by=requested_by,
            )
        return block

    async def _act(
        self,
        station_id: str,
        mode: QuarantineMode,
        *,
        operative: bool,
        reason: str,
        requested_by: common_pb2.Principal | None,
    ) -> None:
        """Best effort: a station that is offline gets refused at its next connection anyway."""
        if self.gateway is None:
            return
        try:
            if mode is QuarantineMode.REFUSE_CONNECTIONS:
                await self.gateway.disconnect(station_id, f"quarantined: {reason}", requested_by)
            else:
                version = await self.gateway.ocpp_version(station_id)
                await self.gateway.send(
                    station_id,
                    gateway_pb2.COMMAND_KIND_CHANGE_AVAILABILITY,
                    change_availability_arguments(version, operative),
                    requested_by=requested_by,
                )
        except (StationNotConnected, CommandFailed) as exc:
            log.warning(
                "quarantine action did not reach the station",
                extra={"station_id": station_id, "mode": mode.value, "error": str(exc)},
            )

    async def rotate_password(
        self, station_id: str, *, actor: str, requested_by: common_pb2.Principal | None
    ) -> tuple[str, str]:
        """New password onto the station through the gateway; ("accepted" | "rejected" | "not_connected", detail)."""
        record = await self.credentials.get(station_id)
        if record is None:
            raise StationNotFound(station_id)
        if not Profile(record["security_profile"]).uses_password:
            raise ValueError("a profile 3 station authenticates with its certificate, not a password")
        if self.gateway is None:
            return "not_connected", "no gateway configured"
        try:
            await self.gateway.ocpp_version(station_id)
        except StationNotConnected:
            return "not_connected", "the station is not connected; nothing changed"
        # Both passwords are valid from here until the station authenticates with the new one.
        password, before = await self.credentials.begin_rotation(station_id)
        try:
            outcome = await self.gateway.send(
                station_id, gateway_pb2.COMMAND_KIND_SET_PASSWORD, {"password": password}, requested_by=requested_by
            )
        except (StationNotConnected, CommandFailed) as exc:
            await self.credentials.abort_rotation(station_id, before)
            result, detail = "not_connected", f"the station did not take the password ({exc}); nothing changed"
        else:
            if outcome.status == "Accepted":
                result, detail = "accepted", "the old password works until the station connects with the new one"
            else:
                await self.credentials.abort_rotation(station_id, before)
                result, detail = "rejected", f"the station answered {outcome.status or 'without a status'}"
        del password
        await self.blocks.audit.record("station.password_rotation", "station", station_id, actor, outcome=result)
        return result, detail
