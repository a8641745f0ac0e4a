"""Driver authorization: ask authz, and decide by the offline policy when it cannot answer.

authz publishes every decision it makes on the authorization stream; when it cannot be asked
(deadline passed, unavailable) the gateway's offline policy decides and the gateway publishes
that decision itself, marked `decided_offline`. For the `accept_known` policy the gateway
remembers, in Redis, the tokens authz accepted in the last hours (by a hash of tenant, type and
token, so the cache names no token in clear).

The status vocabularies differ between versions: 1.6 knows Accepted, Blocked, Expired, Invalid
and ConcurrentTx; 2.0.1 adds Unknown, NotAtThisLocation, NotAtThisTime (and NoCredit,
NotAllowedTypeEVSE, which ChargeWatch does not decide). A status a version cannot express is
answered Invalid: a refusal stays a refusal.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import redis.asyncio as aioredis

from chargewatch.ocpp_gateway.authz_stream import AuthorizeChannel, AuthorizeFailed
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.events import GatewayEvents
from chargewatch.ocpp_gateway.ocpp_time import ocpp_datetime
from chargewatch.ocpp_gateway.sessions import StationSession
from chargewatch.v1 import authz_pb2, events_pb2

log = logging.getLogger(__name__)

OfflinePolicy = Literal["reject", "accept", "accept_known"]

_STATUS = events_pb2
STATUS_V16: Final[dict[int, str]] = {
    _STATUS.AUTHORIZATION_STATUS_ACCEPTED: "Accepted",
    _STATUS.AUTHORIZATION_STATUS_BLOCKED: "Blocked",
    _STATUS.AUTHORIZATION_STATUS_EXPIRED: "Expired",
    _STATUS.AUTHORIZATION_STATUS_INVALID: "Invalid",
    _STATUS.AUTHORIZATION_STATUS_CONCURRENT_TX: "ConcurrentTx",
}
STATUS_V201: Final[dict[int, str]] = {
    **STATUS_V16,
    _STATUS.AUTHORIZATION_STATUS_UNKNOWN: "Unknown",
    _STATUS.AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION: "NotAtThisLocation",
    _STATUS.AUTHORIZATION_STATUS_NOT_AT_THIS_TIME: "NotAtThisTime",
}
# 1.6 tokens are RFID card ids.
TOKEN_TYPE_V16: Final = "ISO14443"  # noqa: S105 (a token type, not a secret)
# 2.0.1: a token of this type needs no authorization (free charging, or authorized locally).
NO_AUTHORIZATION: Final = "NoAuthorization"
# OCPP caps: 1.6 parentIdTag is CiString20, 2.0.1 IdToken.idToken CiString36.
_PARENT_ID_TAG_LENGTH: Final = 20
_GROUP_ID_TOKEN_LENGTH: Final = 36


@dataclass(frozen=True, slots=True)
class Authorization:
    """What was decided about a token, whoever decided it."""

    status: events_pb2.AuthorizationStatus
    expiry: datetime | None = None
    group_id: str = ""
    decided_offline: bool = False

    @property
    def accepted(self) -> bool:
        return self.status == _STATUS.AUTHORIZATION_STATUS_ACCEPTED

    def id_tag_info(self) -> dict[str, Any]:
        """OCPP 1.6 IdTagInfo."""
        info: dict[str, Any] = {"status": STATUS_V16.get(self.status, "Invalid")}
        if self.expiry is not None:
            info["expiryDate"] = ocpp_datetime(self.expiry)
        if self.group_id:
            info["parentIdTag"] = self.group_id[:_PARENT_ID_TAG_LENGTH]
        return info

    def id_token_info(self) -> dict[str, Any]:
        """OCPP 2.0.1 IdTokenInfoType."""
        info: dict[str, Any] = {"status": STATUS_V201.get(self.status, "Invalid")}
        if self.expiry is not None:
            info["cacheExpiryDateTime"] = ocpp_datetime(self.expiry)
        if self.group_id:
            # A group id is ChargeWatch's own identifier, hence type Central.
            info["groupIdToken"] = {"idToken": self.group_id[:_GROUP_ID_TOKEN_LENGTH], "type": "Central"}
        return info


@dataclass(frozen=True, slots=True)
class TokenRequest:
    id_token: str
    id_token_type: str
    evse_id: int = 0
    transaction_id: str = ""


class Authorizer:
    def __init__(
        self,
        authz: AuthorizeChannel,
        redis: aioredis.Redis,
        events: GatewayEvents,
        *,
        deadline_seconds: float,
        offline_policy: OfflinePolicy,
        known_token_hours: float,
    ) -> None:
        self.authz = authz
        self.redis = redis
        self.events = events
        self.deadline_seconds = deadline_seconds
        self.offline_policy = offline_policy
        self.known_token_ttl = max(1, int(known_token_hours * 3600))

    @classmethod
    def from_settings(
        cls, authz: AuthorizeChannel, redis: aioredis.Redis, events: GatewayEvents, settings: GatewaySettings
    ) -> Authorizer:
        """The authorizer with the gateway's deadline, offline policy and known-token window."""
        return cls(
            authz,
            redis,
            events,
            deadline_seconds=settings.authorize_deadline_seconds,
            offline_policy=settings.offline_authorization_policy,
            known_token_hours=settings.offline_known_token_hours,
        )

    async def authorize(self, session: StationSession, request: TokenRequest) -> Authorization:
        """authz's decision on a token at the session's station, or the offline policy's."""
        try:
            reply = await self.authz.authorize(
                authz_pb2.AuthorizeRequest(
                    station_id=session.station_id,
                    id_token=request.id_token,
                    id_token_type=request.id_token_type,
                    evse_id=request.evse_id,
                    transaction_id=request.transaction_id,
                ),
                self.deadline_seconds,
            )
        except AuthorizeFailed as failed:
            # Deadline, unavailable, or authz failing: it did not decide, so the policy does.
            log.warning(
                "authz could not authorize; offline policy decides",
                extra={"station_id": session.station_id, "grpc_code": failed.code.name, "policy": self.offline_policy},
            )
            return await self._offline(session, request, failed.code.name)
        authorization = Authorization(
            status=reply.status,
            expiry=reply.expiry.ToDatetime(UTC) if reply.HasField("expiry") else None,
            group_id=reply.group_id,
        )
        if authorization.accepted and self.offline_policy == "accept_known":
            await self._remember(session, request)
        return authorization

    async def _offline(self, session: StationSession, request: TokenRequest, grpc_code: str) -> Authorization:
        if self.offline_policy == "accept":
            accepted, why = True, "offline policy accepts every token"
        elif self.offline_policy == "accept_known":
            accepted = await self._known(session, request)
            why = (
                f"token accepted by authz within {self.known_token_ttl // 3600} h"
                if accepted
                else "token not accepted by authz recently"
            )
        else:
            accepted, why = False, "offline policy rejects every token"
        status = _STATUS.AUTHORIZATION_STATUS_ACCEPTED if accepted else _STATUS.AUTHORIZATION_STATUS_UNKNOWN
        decision = events_pb2.AuthorizationDecision(
            id_token=request.id_token,
            id_token_type=request.id_token_type,
            status=status,
            reason=f"authz unavailable ({grpc_code}): {why}",
            decided_offline=True,
            transaction_id=request.transaction_id,
            evse_id=request.evse_id,
            policy_id=f"offline:{self.offline_policy}",
        )
        await self.events.publish(session, decision)
        return Authorization(status=status, decided_offline=True)

    def _known_key(self, session: StationSession, request: TokenRequest) -> str:
        digest = hashlib.sha256(
            f"{session.tenant_id}\x00{request.id_token_type}\x00{request.id_token}".encode()
        ).hexdigest()
        return f"cw:gw:known-token:{digest}"

    async def _remember(self, session: StationSession, request: TokenRequest) -> None:
        try:
            await self.redis.set(self._known_key(session, request), b"1", ex=self.known_token_ttl)
        except Exception:  # the answer stands; only a later offline decision is affected
            log.warning("could not remember an accepted token", extra={"station_id": session.station_id})

    async def _known(self, session: StationSession, request: TokenRequest) -> bool:
        try:
            return bool(await self.redis.exists(self._known_key(session, request)))
        except Exception:
            log.warning("could not read the known tokens; token treated as unknown")
            return False
