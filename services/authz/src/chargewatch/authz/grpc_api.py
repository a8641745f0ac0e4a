"""gRPC `Authz`: translates the wire into credential, token, policy and block operations.

The hot paths the gateway calls (AuthenticateStation, Authorize, and AuthorizeStream when it
opens) admit only the platform's service account (`service_callers_only`, set from
`CW_AUTHZ_REQUIRE_CALLER_TOKEN`): its token is verified once and then remembered until it expires
(`AccessTokenValidator`), so a call pays a digest and a lookup. ValidateAccessToken takes none (it
tells the caller only what the token it holds says). Every management RPC, RegisterStation
included (it mints a credential), authenticates its caller from the `authorization` metadata
(access.py) and authorizes the object it touches.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from chargewatch.auth import AccessTokenValidator, InvalidTokenError, Principal, is_service_account
from chargewatch.authz import access
from chargewatch.authz.authorize_stream import STATION_ID, AuthorizeStream, CallRefused, decide
from chargewatch.authz.authorizer import Authorizer, StationDirectory
from chargewatch.authz.blocks import Block, BlockAlreadyLifted, BlockNotFound, BlockStore, QuarantineMode
from chargewatch.authz.credentials import (
    HASHING,
    REGISTRATION_STATUSES,
    CertificateNotFound,
    DeadlinePassed,
    HashingBusy,
    InvalidCertificate,
    Outcome,
    Profile,
    StationAlreadyRegistered,
    StationCredentialStore,
    StationNotFound,
    check_connection_detail,
    remembered_connection_check,
)
from chargewatch.authz.directory import DirectoryUnavailable
from chargewatch.authz.local_lists import LocalLists
from chargewatch.authz.management import LinkRefused, StationActions, TokenManager
from chargewatch.authz.policies import (
    AccessPolicy,
    InvalidPolicy,
    PolicyConflict,
    PolicyNotFound,
    PolicyStore,
    build_policy,
)
from chargewatch.authz.tokens import (
    FLEET,
    GROUP_ID,
    KEYCODE_TYPE,
    DriverToken,
    InvalidToken,
    TokenExists,
    TokenNotFound,
    TokenStatus,
    TokenStore,
    normalise,
    token_key,
    token_ref,
)
from chargewatch.rpc import ServicerContext
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2

log = logging.getLogger(__name__)

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9\-]{0,62}$")
SITE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_REASON_MAX = 500
# gRPC's retry pushback (trailing metadata): a negative value tells the client not to retry.
RETRY_PUSHBACK = "grpc-retry-pushback-ms"
_DEFAULT_PAGE = 50
_MAX_PAGE = 500

_OUTCOMES = {
    Outcome.ACCEPTED: authz_pb2.AuthenticateStationResponse.OUTCOME_ACCEPTED,
    Outcome.UNKNOWN_STATION: authz_pb2.AuthenticateStationResponse.OUTCOME_UNKNOWN_STATION,
    Outcome.BAD_CREDENTIALS: authz_pb2.AuthenticateStationResponse.OUTCOME_BAD_CREDENTIALS,
    Outcome.PROFILE_TOO_LOW: authz_pb2.AuthenticateStationResponse.OUTCOME_PROFILE_TOO_LOW,
}
_REGISTRATION = {
    "Accepted": common_pb2.REGISTRATION_STATUS_ACCEPTED,
    "Pending": common_pb2.REGISTRATION_STATUS_PENDING,
    "Rejected": common_pb2.REGISTRATION_STATUS_REJECTED,
}
_REGISTRATION_NAMES = {value: name for name, value in _REGISTRATION.items()}

T = TypeVar("T")


def _profile(value: int) -> Profile | None:
    try:
        return Profile(value)
    except ValueError:
        return None


def _stamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _when(message: Message, field: str) -> datetime | None:
    return getattr(message, field).ToDatetime(tzinfo=UTC) if message.HasField(field) else None


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("page_token is not a cursor this service issued") from exc


def page_size(page: common_pb2.PageRequest) -> int:
    return min(page.page_size or _DEFAULT_PAGE, _MAX_PAGE)


def token_message(token: DriverToken) -> authz_pb2.DriverToken:
    return authz_pb2.DriverToken(
        # A KeyCode is a PIN: shown only by digest once stored.
        id_token=token_ref(token.id_token) if token.id_token_type == KEYCODE_TYPE else token.id_token,
        id_token_type=token.id_token_type,
        tenant_id=token.tenant_id,
        status=token.effective_status(datetime.now(UTC)).value,
        expires_at=_stamp(token.expires_at),
        group_id=token.group_id,
        user_id=token.user_id,
        fleet=token.fleet,
        reason=token.reason,
        created_at=_stamp(token.created_at),
        updated_at=_stamp(token.updated_at),
    )


def policy_message(policy: AccessPolicy) -> authz_pb2.AccessPolicy:
    return authz_pb2.AccessPolicy(
        policy_id=policy.policy_id,
        tenant_id=policy.tenant_id,
        name=policy.name,
        site_ids=sorted(policy.site_ids),
        station_ids=sorted(policy.station_ids),
        allowed_groups=sorted(policy.allowed_groups),
        time_windows=[
            authz_pb2.TimeWindow(
                days_of_week=sorted(w.days_of_week), start=w.start.strftime("%H:%M"), end=w.end.strftime("%H:%M")
            )
            for w in policy.time_windows
        ],
        timezone=policy.timezone,
        max_concurrent_sessions=policy.max_concurrent_sessions,
        max_session_seconds=policy.max_session_seconds,
        blocked_id_tokens=sorted(policy.blocked_id_tokens),
        version=policy.version,
        updated_at=_stamp(policy.updated_at),
    )


def block_message(block: Block) -> authz_pb2.Block:
    return authz_pb2.Block(
        block_id=block.block_id,
        subject_kind=block.subject_kind,
        subject_id=block.subject_id,
        reason=block.reason,
        requested_by=block.requested_by,
        created_at=_stamp(block.created_at),
        expires_at=_stamp(block.expires_at),
        lifted_at=_stamp(block.lifted_at),
        mode=block.mode,
    )


def certificate_message(doc: dict[str, Any]) -> authz_pb2.ClientCertificate:
    return authz_pb2.ClientCertificate(
        sha256_fingerprint=doc["_id"],
        station_id=doc.get("station_id", ""),
        subject=doc.get("subject", ""),
        not_before=_stamp(doc.get("not_before")),
        not_after=_stamp(doc.get("not_after")),
        revoked_at=_stamp(doc.get("revoked_at")),
        revocation_reason=doc.get("revocation_reason", ""),
    )


def _reason(text: str) -> str:
    if len(text) > _REASON_MAX:
        raise ValueError(f"reason is at most {_REASON_MAX} characters")
    return text


class AuthzServicer(authz_pb2_grpc.AuthzServicer):
    def __init__(
        self,
        credentials: StationCredentialStore,
        tokens: AccessTokenValidator,
        *,
        authorizer: Authorizer | None = None,
        token_store: TokenStore | None = None,
        token_manager: TokenManager | None = None,
        policies: PolicyStore | None = None,
        blocks: BlockStore | None = None,
        station_actions: StationActions | None = None,
        stations: StationDirectory | None = None,
        local_lists: LocalLists | None = None,
        service_callers_only: bool = False,
    ) -> None:
        self.credentials = credentials
        self.service_callers_only = service_callers_only
        self.tokens = tokens
        self.callers = access.CallerAuthenticator(tokens)
        # Passwords that matched their stored argon2id hash lately, or were made with it here
        # (see credentials.VerifiedPasswords).
        self.verified_passwords = credentials.verified
        self.authorizer = authorizer
        self.token_store = token_store
        self.token_manager = token_manager
        self.policies = policies
        self.blocks = blocks
        self.station_actions = station_actions
        self.stations = stations
        self.local_lists = local_lists

    # -- plumbing ---------------------------------------------------------------------------------
    async def _caller(self, context: ServicerContext) -> Principal:
        try:
            return await self.callers.principal(context.invocation_metadata())
        except access.Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
            raise AssertionError("unreachable") from exc

    async def _service_caller(self, context: ServicerContext) -> Principal | None:
        """A hot path: only the platform's service account (the gateway) may call it (None: anyone may)."""
        if not self.service_callers_only:
            return None
        principal = await self._caller(context)
        if not is_service_account(principal):
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "only the platform's services may call this")
        return principal

    async def _guard(self, context: ServicerContext, body: Callable[[], Awaitable[T]]) -> T:
        """Run a management operation, turning domain errors into status codes once."""
        try:
            return await body()
        except access.Forbidden as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        except (InvalidToken, InvalidPolicy, InvalidCertificate, LinkRefused, ValueError) as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except (TokenNotFound, PolicyNotFound, BlockNotFound, StationNotFound, CertificateNotFound) as exc:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"{type(exc).__name__.removesuffix('NotFound').lower()} not found"
            )
        except (TokenExists, StationAlreadyRegistered) as exc:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"{type(exc).__name__} already exists")
        except (PolicyConflict, BlockAlreadyLifted) as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc) or type(exc).__name__)
        except DirectoryUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"the identity provider is unavailable: {exc}")
        raise AssertionError("unreachable: abort raises")

    def _need(self, component: T | None, context_name: str) -> T:
        if component is None:
            raise RuntimeError(f"{context_name} is not wired in this server")
        return component

    # -- stations ---------------------------------------------------------------------------------
    async def RegisterStation(
        self, request: authz_pb2.RegisterStationRequest, context: ServicerContext
    ) -> authz_pb2.RegisterStationResponse:
        # It mints a credential: only an operator (or a service principal holding the role) may ask.
        principal = await self._caller(context)

        async def operator() -> None:
            access.require_operator(principal)

        await self._guard(context, operator)
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
        if self.stations is not None:
            self.stations.forget(request.station_id)
        log.info(
            "station registered",
            extra={
                "station_id": request.station_id,
                "tenant_id": request.tenant_id,
                "profile": int(profile),
                "by": access.actor(principal),
            },
        )
        return authz_pb2.RegisterStationResponse(
            station_id=request.station_id, security_profile=request.security_profile, password=password or ""
        )

    async def AuthenticateStation(
        self, request: authz_pb2.AuthenticateStationRequest, context: ServicerContext
    ) -> authz_pb2.AuthenticateStationResponse:
        await self._service_caller(context)
        connection_profile = _profile(request.connection_profile)
        if connection_profile is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "connection_profile must be 1, 2 or 3")
        assert connection_profile is not None
        record = await self.credentials.get(request.station_id) if STATION_ID.match(request.station_id) else None
        fingerprint = request.client_certificate_sha256.lower()
        certificate = await self.credentials.certificate(fingerprint) if fingerprint and record else None
        # A reconnecting station's password is usually remembered: answered here, at once. Only a
        # first login (or a wrong password) waits for a hashing thread, and not past its deadline.
        check = remembered_connection_check(
            record, password=request.password, connection_profile=connection_profile, verified=self.verified_passwords
        )
        if check is None:
            remaining = context.time_remaining()
            deadline = time.monotonic() + remaining if remaining is not None else None
            try:
                check = await HASHING.run(
                    deadline,
                    check_connection_detail,
                    record,
                    password=request.password,
                    connection_profile=connection_profile,
                    certificate_sha256=fingerprint,
                    certificate=certificate,
                    verified=self.verified_passwords,
                )
            except HashingBusy:
                # Refused at once rather than late: the station retries, as after any 503. The
                # pushback tells the gateway's channel not to retry the call itself (it retries
                # RESOURCE_EXHAUSTED): asking again at once only queues more work behind a full queue.
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "too many password checks queued; retry",
                    trailing_metadata=((RETRY_PUSHBACK, "-1"),),
                )
                raise AssertionError("unreachable: abort raises") from None
            except DeadlinePassed:
                await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "the check waited past the caller's deadline")
                raise AssertionError("unreachable: abort raises") from None
        outcome = check.outcome
        quarantine = self.blocks.active_for("station", request.station_id) if self.blocks else None
        refused_by_quarantine = (
            outcome is Outcome.ACCEPTED
            and quarantine is not None
            and quarantine.mode == QuarantineMode.REFUSE_CONNECTIONS.value
        )
        if refused_by_quarantine:
            response = authz_pb2.AuthenticateStationResponse(
                outcome=authz_pb2.AuthenticateStationResponse.OUTCOME_QUARANTINED
            )
        else:
            response = authz_pb2.AuthenticateStationResponse(outcome=_OUTCOMES[outcome])
        if record is not None and outcome is Outcome.ACCEPTED and not refused_by_quarantine:
            identity = self.credentials.identity(record)
            response.tenant_id = identity.tenant_id
            response.site_id = identity.site_id
            response.security_profile = int(identity.profile)  # type: ignore[assignment]
            response.registration_status = _REGISTRATION.get(
                record.get("registration_status", "Accepted"), common_pb2.REGISTRATION_STATUS_ACCEPTED
            )
            if check.completes_rotation:
                # The station proved it has the new password: the previous one stops working now.
                await self.credentials.confirm_password(request.station_id)
                log.info("station password rotation completed", extra={"station_id": request.station_id})
        else:
            log.info(
                "station authentication refused",
                extra={
                    "station_id": request.station_id,
                    "outcome": "quarantined" if refused_by_quarantine else outcome.value,
                    "remote": request.remote_address,
                },
            )
        return response

    async def RotateStationPassword(
        self, request: authz_pb2.RotateStationPasswordRequest, context: ServicerContext
    ) -> authz_pb2.RotateStationPasswordResponse:
        principal = await self._caller(context)

        async def body() -> str:
            access.require_operator(principal)
            password = await self.credentials.rotate_password(request.station_id)
            if self.blocks is not None:
                await self.blocks.audit.record(
                    "station.password_rotated_manually", "station", request.station_id, access.actor(principal)
                )
            return password

        return authz_pb2.RotateStationPasswordResponse(password=await self._guard(context, body))

    async def ConfirmStationPassword(
        self, request: authz_pb2.ConfirmStationPasswordRequest, context: ServicerContext
    ) -> authz_pb2.ConfirmStationPasswordResponse:
        principal = await self._caller(context)

        async def body() -> None:
            access.require_operator(principal)
            await self.credentials.confirm_password(request.station_id)

        await self._guard(context, body)
        return authz_pb2.ConfirmStationPasswordResponse()

    async def RotateStationCredentials(
        self, request: authz_pb2.RotateStationCredentialsRequest, context: ServicerContext
    ) -> authz_pb2.RotateStationCredentialsResponse:
        principal = await self._caller(context)
        actions = self._need(self.station_actions, "station actions")

        async def body() -> tuple[str, str]:
            access.require_operator(principal)
            return await actions.rotate_password(
                request.station_id, actor=access.actor(principal), requested_by=request.requested_by
            )

        outcome, detail = await self._guard(context, body)
        return authz_pb2.RotateStationCredentialsResponse(outcome=outcome, detail=detail)

    async def SetStationRegistration(
        self, request: authz_pb2.SetStationRegistrationRequest, context: ServicerContext
    ) -> authz_pb2.SetStationRegistrationResponse:
        principal = await self._caller(context)

        async def body() -> str:
            access.require_operator(principal)
            status = _REGISTRATION_NAMES.get(request.registration_status)
            if status not in REGISTRATION_STATUSES:
                raise ValueError("registration_status must be Accepted, Pending or Rejected")
            assert status is not None
            await self.credentials.set_registration(request.station_id, status)
            if self.blocks is not None:
                await self.blocks.audit.record(
                    "station.registration",
                    "station",
                    request.station_id,
                    access.actor(principal),
                    status=status,
                    reason=_reason(request.reason),
                )
            return status

        status = await self._guard(context, body)
        return authz_pb2.SetStationRegistrationResponse(registration_status=_REGISTRATION[status])

    async def RegisterClientCertificate(
        self, request: authz_pb2.RegisterClientCertificateRequest, context: ServicerContext
    ) -> authz_pb2.ClientCertificate:
        principal = await self._caller(context)

        async def body() -> dict[str, Any]:
            access.require_operator(principal)
            if len(request.certificate_pem) > 16_384:
                raise ValueError("certificate_pem is at most 16 KiB")
            doc = await self.credentials.register_certificate(request.station_id, request.certificate_pem)
            if self.blocks is not None:
                await self.blocks.audit.record(
                    "certificate.registered",
                    "station",
                    request.station_id,
                    access.actor(principal),
                    fingerprint=doc["_id"],
                )
            return doc

        return certificate_message(await self._guard(context, body))

    async def RevokeClientCertificate(
        self, request: authz_pb2.RevokeClientCertificateRequest, context: ServicerContext
    ) -> authz_pb2.ClientCertificate:
        principal = await self._caller(context)

        async def body() -> dict[str, Any]:
            access.require_blocker(principal)
            doc = await self.credentials.revoke_certificate(request.sha256_fingerprint, _reason(request.reason))
            if self.blocks is not None:
                await self.blocks.audit.record(
                    "certificate.revoked",
                    "station",
                    doc.get("station_id", ""),
                    access.actor(principal),
                    fingerprint=doc["_id"],
                    reason=request.reason,
                )
            return doc

        return certificate_message(await self._guard(context, body))

    async def ListClientCertificates(
        self, request: authz_pb2.ListClientCertificatesRequest, context: ServicerContext
    ) -> authz_pb2.ListClientCertificatesResponse:
        principal = await self._caller(context)

        async def body() -> list[dict[str, Any]]:
            if access.read_scope(principal) is not None:
                raise access.Forbidden("certificates are visible to operator-wide roles only")
            return await self.credentials.certificates_of(request.station_id)

        docs = await self._guard(context, body)
        return authz_pb2.ListClientCertificatesResponse(certificates=[certificate_message(d) for d in docs])

    # -- partner and operator access tokens -------------------------------------------------------
    async def ValidateAccessToken(
        self, request: authz_pb2.ValidateAccessTokenRequest, context: ServicerContext
    ) -> authz_pb2.ValidateAccessTokenResponse:
        try:
            principal = await self.tokens.validate(request.access_token)
        except InvalidTokenError as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.reason)
        return authz_pb2.ValidateAccessTokenResponse(
            principal=common_pb2.Principal(
                subject=principal.subject,
                client_id=principal.client_id,
                roles=sorted(principal.roles),
                tenant_id=principal.tenant_id or "",
            ),
            expires_at=_stamp(principal.expires_at),
        )

    # -- driver authorization ---------------------------------------------------------------------
    async def Authorize(
        self, request: authz_pb2.AuthorizeRequest, context: ServicerContext
    ) -> authz_pb2.AuthorizeResponse:
        await self._service_caller(context)
        authorizer = self._need(self.authorizer, "the authorizer")
        try:
            return await decide(authorizer, request)
        except CallRefused as refused:
            await context.abort(refused.code, refused.message)
            raise AssertionError("unreachable: abort raises") from refused

    async def AuthorizeStream(
        self, request_iterator: AsyncIterator[authz_pb2.AuthorizeCalls], context: ServicerContext
    ) -> AsyncIterator[authz_pb2.AuthorizeAnswers]:
        # Checked when the stream opens; its calls are served until the token expires, then refused
        # UNAUTHENTICATED (undecided) so the caller moves to a stream opened with a fresh token.
        principal = await self._service_caller(context)
        authorizer = self._need(self.authorizer, "the authorizer")
        # As long as the validator would still take the token (its leeway for clock skew included).
        leeway = self.callers.validator.leeway_seconds
        expires_at = principal.expires_at.timestamp() + leeway if principal is not None else None
        async for answers in AuthorizeStream(authorizer, expires_at=expires_at).serve(request_iterator):
            yield answers

    # -- driver tokens ----------------------------------------------------------------------------
    def _key(self, id_token: str, id_token_type: str) -> str:
        uid, token_type = normalise(id_token, id_token_type)
        return token_key(uid, token_type)

    async def _token_in_scope(self, principal: Principal, key: str, *, write: bool) -> DriverToken:
        store = self._need(self.token_store, "the token store")
        scope = access.token_scope(principal) if write else access.read_scope(principal)
        token = await store.get(key)
        # Another tenant's token answers exactly like a missing one: its existence is not disclosed.
        if token is None or (scope is not None and token.tenant_id != scope):
            raise TokenNotFound(key)
        return token

    async def CreateToken(
        self, request: authz_pb2.CreateTokenRequest, context: ServicerContext
    ) -> authz_pb2.DriverToken:
        principal = await self._caller(context)
        manager = self._need(self.token_manager, "the token manager")

        async def body() -> DriverToken:
            scope = access.token_scope(principal)
            wire = request.token
            uid, token_type = normalise(wire.id_token, wire.id_token_type)
            tenant = wire.tenant_id or scope or ""
            if scope is not None and tenant != scope:
                raise access.Forbidden("a partner creates tokens of its own tenant only")
            if not TENANT_ID.match(tenant):
                raise ValueError("tenant_id must be a lower-case slug")
            if wire.group_id and not GROUP_ID.match(wire.group_id):
                raise ValueError("group_id is 1-36 of [A-Za-z0-9._:-]")
            if wire.fleet and not FLEET.match(wire.fleet):
                raise ValueError("fleet is a Keycloak group name, 1-64 of [A-Za-z0-9._-]")
            status = TokenStatus(wire.status or "active")
            token = DriverToken(
                id_token=uid,
                id_token_type=token_type,
                tenant_id=tenant,
                status=status,
                expires_at=_when(wire, "expires_at"),
                group_id=wire.group_id or wire.fleet,
                user_id=wire.user_id,
                fleet=wire.fleet,
                reason=_reason(wire.reason),
            )
            return await manager.create(token, access.actor(principal))

        return token_message(await self._guard(context, body))

    async def GetToken(self, request: authz_pb2.GetTokenRequest, context: ServicerContext) -> authz_pb2.DriverToken:
        principal = await self._caller(context)

        async def body() -> DriverToken:
            return await self._token_in_scope(
                principal, self._key(request.id_token, request.id_token_type), write=False
            )

        return token_message(await self._guard(context, body))

    async def ListTokens(
        self, request: authz_pb2.ListTokensRequest, context: ServicerContext
    ) -> authz_pb2.ListTokensResponse:
        principal = await self._caller(context)
        store = self._need(self.token_store, "the token store")

        async def body() -> authz_pb2.ListTokensResponse:
            scope = access.read_scope(principal)
            if scope is not None and request.tenant_id not in ("", scope):
                raise access.Forbidden("a partner lists its own tenant's tokens only")
            if request.status and request.status not in {s.value for s in TokenStatus}:
                raise ValueError("status must be active, blocked or expired")
            limit = page_size(request.page)
            items, total = await store.page(
                tenant_id=scope or request.tenant_id or None,
                status=request.status or None,
                fleet=request.fleet or None,
                after=decode_cursor(request.page.page_token),
                limit=limit,
            )
            next_token = encode_cursor(items[-1].key) if len(items) == limit else ""
            return authz_pb2.ListTokensResponse(
                tokens=[token_message(t) for t in items],
                page=common_pb2.PageResponse(next_page_token=next_token, total_size=total),
            )

        return await self._guard(context, body)

    async def SetTokenStatus(
        self, request: authz_pb2.SetTokenStatusRequest, context: ServicerContext
    ) -> authz_pb2.DriverToken:
        principal = await self._caller(context)
        manager = self._need(self.token_manager, "the token manager")

        async def body() -> DriverToken:
            key = self._key(request.id_token, request.id_token_type)
            await self._token_in_scope(principal, key, write=True)
            try:
                status = TokenStatus(request.status)
            except ValueError as exc:
                raise ValueError("status must be active, blocked or expired") from exc
            return await manager.set_status(
                key,
                status,
                reason=_reason(request.reason),
                expires_at=_when(request, "expires_at"),
                actor=access.actor(principal),
            )

        return token_message(await self._guard(context, body))

    async def LinkToken(self, request: authz_pb2.LinkTokenRequest, context: ServicerContext) -> authz_pb2.DriverToken:
        principal = await self._caller(context)
        manager = self._need(self.token_manager, "the token manager")

        async def body() -> DriverToken:
            key = self._key(request.id_token, request.id_token_type)
            await self._token_in_scope(principal, key, write=True)
            if request.fleet and not FLEET.match(request.fleet):
                raise ValueError("fleet is a Keycloak group name, 1-64 of [A-Za-z0-9._-]")
            if request.user_id and not re.match(r"^[A-Za-z0-9\-]{1,64}$", request.user_id):
                raise ValueError("user_id is a Keycloak user id")
            return await manager.link(key, user_id=request.user_id, fleet=request.fleet, actor=access.actor(principal))

        return token_message(await self._guard(context, body))

    # -- access policies --------------------------------------------------------------------------
    async def PutAccessPolicy(
        self, request: authz_pb2.PutAccessPolicyRequest, context: ServicerContext
    ) -> authz_pb2.AccessPolicy:
        principal = await self._caller(context)
        store = self._need(self.policies, "the policy store")

        async def body() -> AccessPolicy:
            access.require_operator(principal)
            wire = request.policy
            if not TENANT_ID.match(wire.tenant_id):
                raise ValueError("tenant_id must be a lower-case slug")
            if wire.policy_id and not re.match(r"^[A-Za-z0-9._\-]{1,64}$", wire.policy_id):
                raise ValueError("policy_id is 1-64 of [A-Za-z0-9._-]")
            policy = build_policy(
                policy_id=wire.policy_id,
                tenant_id=wire.tenant_id,
                name=wire.name,
                site_ids=list(wire.site_ids),
                station_ids=list(wire.station_ids),
                allowed_groups=list(wire.allowed_groups),
                time_windows=[(list(w.days_of_week), w.start, w.end) for w in wire.time_windows],
                timezone=wire.timezone,
                max_concurrent_sessions=wire.max_concurrent_sessions,
                max_session_seconds=wire.max_session_seconds,
                blocked_id_tokens=list(wire.blocked_id_tokens),
            )
            stored = await store.put(policy)
            if self.blocks is not None:
                await self.blocks.audit.record(
                    "policy.put", "policy", stored.policy_id, access.actor(principal), version=stored.version
                )
            return stored

        return policy_message(await self._guard(context, body))

    async def GetAccessPolicy(
        self, request: authz_pb2.GetAccessPolicyRequest, context: ServicerContext
    ) -> authz_pb2.AccessPolicy:
        principal = await self._caller(context)
        store = self._need(self.policies, "the policy store")

        async def body() -> AccessPolicy:
            scope = access.read_scope(principal)
            policy = await store.get(request.policy_id)
            if policy is None or (scope is not None and policy.tenant_id != scope):
                raise PolicyNotFound(request.policy_id)
            return policy

        return policy_message(await self._guard(context, body))

    async def ListAccessPolicies(
        self, request: authz_pb2.ListAccessPoliciesRequest, context: ServicerContext
    ) -> authz_pb2.ListAccessPoliciesResponse:
        principal = await self._caller(context)
        store = self._need(self.policies, "the policy store")

        async def body() -> authz_pb2.ListAccessPoliciesResponse:
            scope = access.read_scope(principal)
            if scope is not None and request.tenant_id not in ("", scope):
                raise access.Forbidden("a partner lists its own tenant's policies only")
            limit = page_size(request.page)
            items, total = await store.page(
                tenant_id=scope or request.tenant_id or None, after=decode_cursor(request.page.page_token), limit=limit
            )
            next_token = encode_cursor(items[-1].policy_id) if len(items) == limit else ""
            return authz_pb2.ListAccessPoliciesResponse(
                policies=[policy_message(p) for p in items],
                page=common_pb2.PageResponse(next_page_token=next_token, total_size=total),
            )

        return await self._guard(context, body)

    async def DeleteAccessPolicy(
        self, request: authz_pb2.DeleteAccessPolicyRequest, context: ServicerContext
    ) -> authz_pb2.DeleteAccessPolicyResponse:
        principal = await self._caller(context)
        store = self._need(self.policies, "the policy store")

        async def body() -> None:
            access.require_operator(principal)
            await store.delete(request.policy_id)
            if self.blocks is not None:
                await self.blocks.audit.record("policy.deleted", "policy", request.policy_id, access.actor(principal))

        await self._guard(context, body)
        return authz_pb2.DeleteAccessPolicyResponse()

    # -- blocks and quarantines -------------------------------------------------------------------
    async def BlockToken(self, request: authz_pb2.BlockTokenRequest, context: ServicerContext) -> authz_pb2.Block:
        principal = await self._caller(context)
        blocks = self._need(self.blocks, "the block store")

        async def body() -> Block:
            access.require_blocker(principal)
            if not request.id_token or len(request.id_token) > 64:
                raise ValueError("id_token is 1-64 characters")
            if not request.reason:
                raise ValueError("a block needs a reason")
            try:
                uid, _ = normalise(request.id_token, "ISO14443")
            except InvalidToken:
                uid = request.id_token  # app tokens and eMAIDs are blocked as given
            return await blocks.create(
                "token",
                uid,
                reason=_reason(request.reason),
                actor=access.actor(principal),
                expires_at=_when(request, "expires_at"),
            )

        return block_message(await self._guard(context, body))

    async def QuarantineStation(
        self, request: authz_pb2.QuarantineStationRequest, context: ServicerContext
    ) -> authz_pb2.Block:
        principal = await self._caller(context)
        actions = self._need(self.station_actions, "station actions")

        async def body() -> Block:
            access.require_blocker(principal)
            if not STATION_ID.match(request.station_id):
                raise ValueError("station_id must be 1-48 of [A-Za-z0-9._:-]")
            try:
                mode = QuarantineMode(request.mode or QuarantineMode.REFUSE_CONNECTIONS.value)
            except ValueError as exc:
                raise ValueError("mode must be refuse_connections or set_unavailable") from exc
            if not request.reason:
                raise ValueError("a quarantine needs a reason")
            block = await actions.quarantine(
                request.station_id,
                mode,
                reason=_reason(request.reason),
                actor=access.actor(principal),
                expires_at=_when(request, "expires_at"),
                requested_by=request.requested_by,
            )
            if self.stations is not None:
                self.stations.forget(request.station_id)
            return block

        return block_message(await self._guard(context, body))

    async def LiftBlock(self, request: authz_pb2.LiftBlockRequest, context: ServicerContext) -> authz_pb2.Block:
        principal = await self._caller(context)
        actions = self._need(self.station_actions, "station actions")

        async def body() -> Block:
            access.require_blocker(principal)
            return await actions.lift(
                request.block_id,
                reason=_reason(request.reason),
                actor=access.actor(principal),
                requested_by=request.requested_by,
            )

        return block_message(await self._guard(context, body))

    async def ListBlocks(
        self, request: authz_pb2.ListBlocksRequest, context: ServicerContext
    ) -> authz_pb2.ListBlocksResponse:
        principal = await self._caller(context)
        blocks = self._need(self.blocks, "the block store")

        async def body() -> authz_pb2.ListBlocksResponse:
            if access.read_scope(principal) is not None:
                raise access.Forbidden("blocks are visible to operator-wide roles only")
            if request.subject_kind not in ("", "token", "station"):
                raise ValueError("subject_kind must be token or station")
            limit = page_size(request.page)
            items, total = await blocks.page(
                subject_kind=request.subject_kind or None,
                include_lifted=request.include_lifted,
                after=decode_cursor(request.page.page_token),
                limit=limit,
            )
            next_token = encode_cursor(items[-1].block_id) if len(items) == limit else ""
            return authz_pb2.ListBlocksResponse(
                blocks=[block_message(b) for b in items],
                page=common_pb2.PageResponse(next_page_token=next_token, total_size=total),
            )

        return await self._guard(context, body)

    # -- local authorization lists ----------------------------------------------------------------
    async def PublishLocalList(
        self, request: authz_pb2.PublishLocalListRequest, context: ServicerContext
    ) -> authz_pb2.PublishLocalListResponse:
        principal = await self._caller(context)
        lists = self._need(self.local_lists, "local lists")

        async def body() -> authz_pb2.PublishLocalListResponse:
            access.require_operator(principal)
            if not SITE_ID.match(request.site_id):
                raise ValueError("site_id is 1-64 of [A-Za-z0-9._:-]")
            try:
                version, entries, pushes = await lists.publish(
                    request.site_id, full=request.full, requested_by=request.requested_by
                )
            except LookupError as exc:
                raise StationNotFound(request.site_id) from exc
            if self.blocks is not None:
                await self.blocks.audit.record(
                    "local_list.published", "site", request.site_id, access.actor(principal), version=version
                )
            return authz_pb2.PublishLocalListResponse(
                site_id=request.site_id,
                version=version,
                entries=entries,
                pushes=[
                    authz_pb2.LocalListPush(station_id=p.station_id, update_type=p.update_type, status=p.status)
                    for p in pushes
                ],
            )

        return await self._guard(context, body)
