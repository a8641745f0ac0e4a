"""gRPC `Authz`: translates the wire into credential and token checks."""

from __future__ import annotations

import asyncio
import logging
import re

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from chargewatch.auth import AccessTokenValidator, InvalidTokenError
from chargewatch.authz.credentials import (
    Outcome,
    Profile,
    StationAlreadyRegistered,
    StationCredentialStore,
    StationNotFound,
    check_connection,
)
from chargewatch.rpc import ServicerContext, not_implemented_yet
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2

log = logging.getLogger(__name__)

# The same rule the gateway applies to the URL path: OCPP identities are short and printable.
STATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,48}$")
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9\-]{0,62}$")

_OUTCOMES = {
    Outcome.ACCEPTED: authz_pb2.AuthenticateStationResponse.OUTCOME_ACCEPTED,
    Outcome.UNKNOWN_STATION: authz_pb2.AuthenticateStationResponse.OUTCOME_UNKNOWN_STATION,
    Outcome.BAD_CREDENTIALS: authz_pb2.AuthenticateStationResponse.OUTCOME_BAD_CREDENTIALS,
    Outcome.PROFILE_TOO_LOW: authz_pb2.AuthenticateStationResponse.OUTCOME_PROFILE_TOO_LOW,
}


def _profile(value: int) -> Profile | None:
    try:
        return Profile(value)
    except ValueError:
        return None


class AuthzServicer(authz_pb2_grpc.AuthzServicer):
    def __init__(self, credentials: StationCredentialStore, tokens: AccessTokenValidator) -> None:
        self.credentials = credentials
        self.tokens = tokens

    async def RegisterStation(
        self, request: authz_pb2.RegisterStationRequest, context: ServicerContext
    ) -> authz_pb2.RegisterStationResponse:
        profile = _profile(request.security_profile)
        if not STATION_ID.match(request.station_id):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "station_id must be 1-48 of [A-Za-z0-9._:-]")
        if not TENANT_ID.match(request.tenant_id):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "tenant_id must be a lower-case slug")
        if profile is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "security_profile must be 1, 2 or 3")
        assert profile is not None
        try:
            password = await self.credentials.register(request.station_id, request.tenant_id, request.site_id, profile)
        except StationAlreadyRegistered:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"station {request.station_id} is already registered")
        log.info(
            "station registered",
            extra={
                "station_id": request.station_id,
                "tenant_id": request.tenant_id,
                "profile": int(profile),
                "by": request.requested_by.subject,
            },
        )
        return authz_pb2.RegisterStationResponse(
            station_id=request.station_id, security_profile=request.security_profile, password=password or ""
        )

    async def AuthenticateStation(
        self, request: authz_pb2.AuthenticateStationRequest, context: ServicerContext
    ) -> authz_pb2.AuthenticateStationResponse:
        connection_profile = _profile(request.connection_profile)
        if connection_profile is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "connection_profile must be 1, 2 or 3")
        assert connection_profile is not None
        record = await self.credentials.get(request.station_id) if STATION_ID.match(request.station_id) else None
        outcome = await asyncio.to_thread(
            check_connection,
            record,
            password=request.password,
            connection_profile=connection_profile,
            certificate_sha256=request.client_certificate_sha256,
        )
        response = authz_pb2.AuthenticateStationResponse(outcome=_OUTCOMES[outcome])
        if record is not None and outcome is Outcome.ACCEPTED:
            identity = self.credentials.identity(record)
            response.tenant_id = identity.tenant_id
            response.site_id = identity.site_id
            response.security_profile = int(identity.profile)  # type: ignore[assignment]
        if outcome is not Outcome.ACCEPTED:
            log.info(
                "station authentication refused",
                extra={"station_id": request.station_id, "outcome": outcome.value, "remote": request.remote_address},
            )
        return response

    async def RotateStationPassword(
        self, request: authz_pb2.RotateStationPasswordRequest, context: ServicerContext
    ) -> authz_pb2.RotateStationPasswordResponse:
        try:
            password = await self.credentials.rotate_password(request.station_id)
        except StationNotFound:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"station {request.station_id} is not registered")
        return authz_pb2.RotateStationPasswordResponse(password=password)

    async def ConfirmStationPassword(
        self, request: authz_pb2.ConfirmStationPasswordRequest, context: ServicerContext
    ) -> authz_pb2.ConfirmStationPasswordResponse:
        try:
            await self.credentials.confirm_password(request.station_id)
        except StationNotFound:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"station {request.station_id} is not registered")
        return authz_pb2.ConfirmStationPasswordResponse()

    async def SetStationRegistration(
        self, request: authz_pb2.SetStationRegistrationRequest, context: ServicerContext
    ) -> authz_pb2.SetStationRegistrationResponse:
        await not_implemented_yet(context, "SetStationRegistration", "authz issue #4")

    async def ValidateAccessToken(
        self, request: authz_pb2.ValidateAccessTokenRequest, context: ServicerContext
    ) -> authz_pb2.ValidateAccessTokenResponse:
        try:
            principal = await self.tokens.validate(request.access_token)
        except InvalidTokenError as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.reason)
        expires = Timestamp()
        expires.FromDatetime(principal.expires_at)
        return authz_pb2.ValidateAccessTokenResponse(
            principal=common_pb2.Principal(
                subject=principal.subject,
                client_id=principal.client_id,
                roles=sorted(principal.roles),
                tenant_id=principal.tenant_id or "",
            ),
            expires_at=expires,
        )

    async def Authorize(
        self, request: authz_pb2.AuthorizeRequest, context: ServicerContext
    ) -> authz_pb2.AuthorizeResponse:
        await not_implemented_yet(context, "Authorize", "authz issue #4")

    async def BlockToken(self, request: authz_pb2.BlockTokenRequest, context: ServicerContext) -> authz_pb2.Block:
        await not_implemented_yet(context, "BlockToken", "authz issue #4")

    async def QuarantineStation(
        self, request: authz_pb2.QuarantineStationRequest, context: ServicerContext
    ) -> authz_pb2.Block:
        await not_implemented_yet(context, "QuarantineStation", "authz issue #4")

    async def LiftBlock(self, request: authz_pb2.LiftBlockRequest, context: ServicerContext) -> authz_pb2.Block:
        await not_implemented_yet(context, "LiftBlock", "authz issue #4")
