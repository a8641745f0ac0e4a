"""gRPC `GatewayCommands`: connection info, disconnects, and commands sent to stations.

A call for a station connected to another replica is forwarded to that replica (see
`forwarding`). Locally, a command is planned (`commands.plan_command`), guarded by its
idempotency key, sent, and audited: every SendCommand this replica answers publishes one
`CommandAudit` with the arguments redacted. The session's outcomes (`CommandError`s) are
translated to status codes here, once. A station's CALLERROR comes back as ABORTED with its
OCPP error code in the `ocpp-error-code` trailer.

Callers are authenticated by their access token (`chargewatch.rpc.CallerAuthentication`, wired in
`__main__`), which also makes `requested_by` the validated principal. On top of that: commands and
connection info need a tenant (its own stations only) or an operator-wide role, and a disconnect
needs the operator or security-analyst role. A forwarded call carries the caller's own token, so
the owning replica checks it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

import grpc
import orjson

from chargewatch.ocpp_gateway.auth import AuthenticationCache
from chargewatch.ocpp_gateway.commands import (
    CommandRefused,
    PlannedCall,
    Refusal,
    command_arguments,
    kind_name,
    plan_command,
    redacted,
    reply_status,
)
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.events import GatewayEvents
from chargewatch.ocpp_gateway.forwarding import CommandForwarder
from chargewatch.ocpp_gateway.idempotency import ClaimState, CommandReplies, fingerprint
from chargewatch.ocpp_gateway.protocol import error_code
from chargewatch.ocpp_gateway.sessions import (
    CLOSE_NORMAL,
    CommandError,
    InvalidCommand,
    InvalidStationAnswer,
    SessionClosed,
    SessionRegistry,
    StationCallError,
    StationSession,
    StationTimeout,
)
from chargewatch.rpc import ServicerContext, current_caller
from chargewatch.rpc.callers import to_proto
from chargewatch.v1 import common_pb2, events_pb2, gateway_pb2, gateway_pb2_grpc

log = logging.getLogger(__name__)

# Kept back from the caller's deadline so the reply (or the error) still reaches it in time.
_DEADLINE_MARGIN_SECONDS: Final = 0.05
OCPP_ERROR_CODE_TRAILER: Final = "ocpp-error-code"

# CommandAudit.outcome for the ways a command can fail (a station's answer gives its own status).
OUTCOME_NOT_CONNECTED: Final = "not_connected"
OUTCOME_TIMEOUT: Final = "timeout"
OUTCOME_CALL_ERROR: Final = "call_error"
OUTCOME_INVALID_ARGUMENTS: Final = "invalid_arguments"
OUTCOME_INVALID_ANSWER: Final = "invalid_answer"
OUTCOME_DISCONNECTED: Final = "disconnected"
OUTCOME_FORBIDDEN: Final = "forbidden"
OUTCOME_REFUSED: Final = "refused"
OUTCOME_REPLAYED: Final = "replayed"
OUTCOME_FAILED: Final = "failed"

# Roles that see every tenant's stations, and those that may take a station off.
_OPERATOR_WIDE: Final = frozenset({"operator", "sre", "security-analyst"})
_DISCONNECTERS: Final = frozenset({"operator", "security-analyst"})


def _authorization(context: ServicerContext) -> tuple[tuple[str, str], ...]:
    """The caller's own `authorization` entry, forwarded so the owning replica authenticates it too."""
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "authorization":
            return (("authorization", value.decode() if isinstance(value, bytes) else value),)
    return ()


def _may_reach(principal: common_pb2.Principal) -> bool:
    """A principal confined to a tenant, or with an operator-wide role (checked only for authenticated callers)."""
    return current_caller() is None or bool(principal.tenant_id) or not _OPERATOR_WIDE.isdisjoint(principal.roles)


_REFUSAL_CODES: Final = {
    Refusal.UNKNOWN_KIND: grpc.StatusCode.INVALID_ARGUMENT,
    Refusal.NOT_IN_VERSION: grpc.StatusCode.UNIMPLEMENTED,
    Refusal.INVALID_ARGUMENTS: grpc.StatusCode.INVALID_ARGUMENT,
    Refusal.PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
}


@dataclass
class _Audit:
    """What one SendCommand did, published once when it ends."""

    request: gateway_pb2.CommandRequest
    started: float = field(default_factory=time.perf_counter)
    tenant_id: str = ""
    action: str = ""
    arguments: str = ""
    message_id: str = ""

    def record(self, outcome: str) -> events_pb2.CommandAudit:
        principal = self.request.requested_by
        return events_pb2.CommandAudit(
            command_kind=kind_name(self.request.kind),
            ocpp_action=self.action,
            requested_by=principal.subject,
            requested_by_client=principal.client_id,
            requested_by_roles=list(principal.roles),
            tenant_id=self.tenant_id or principal.tenant_id,
            outcome=outcome,
            message_id=self.message_id,
            idempotency_key=self.request.idempotency_key,
            arguments_json=self.arguments,
            duration_ms=(time.perf_counter() - self.started) * 1000,
        )


class GatewayCommandsServicer(gateway_pb2_grpc.GatewayCommandsServicer):
    def __init__(
        self,
        registry: SessionRegistry,
        settings: GatewaySettings,
        *,
        events: GatewayEvents,
        replies: CommandReplies | None = None,
        forwarder: CommandForwarder | None = None,
        authentication_cache: AuthenticationCache | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.events = events
        self.replies = replies
        self.forwarder = forwarder
        self.authentication_cache = authentication_cache

    # -- forwarding ---------------------------------------------------------------------------
    async def _forwarded(self, method: str, request: Any, context: ServicerContext) -> Any | None:
        """The owner replica's answer when another replica holds the station; None when none does."""
        if self.forwarder is None:
            return None
        owner = await self.forwarder.owner_elsewhere(request.station_id, context)
        if owner is None:
            return None
        remaining = context.time_remaining()
        timeout = (
            max(remaining - _DEADLINE_MARGIN_SECONDS, 0.0)
            if remaining is not None
            else self.settings.command_timeout_seconds + 1.0
        )
        log.info(
            "forwarding to the station's replica",
            extra={"station_id": request.station_id, "method": method, "owner": owner.instance},
        )
        call = getattr(self.forwarder.stub(owner), method)
        try:
            metadata = (*self.forwarder.metadata(), *_authorization(context))
            return await call(request, timeout=timeout, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            # At run time a sequence of (key, value) pairs, whatever the stubs say.
            received: Any = error.trailing_metadata() or ()
            trailers = [(k, v) for k, v in received if k == OCPP_ERROR_CODE_TRAILER]
            if trailers:
                context.set_trailing_metadata(tuple(trailers))
            details = error.details() or ""
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                details = f"replica {owner.instance} holding {request.station_id} is unreachable: {details}"
            await context.abort(error.code(), details)
        raise AssertionError("unreachable: abort raises")

    # -- connection info and disconnects ------------------------------------------------------
    async def GetConnection(
        self, request: gateway_pb2.GetConnectionRequest, context: ServicerContext
    ) -> gateway_pb2.StationConnectionInfo:
        caller = current_caller()
        principal = to_proto(caller.principal) if caller is not None else None
        if principal is not None and not _may_reach(principal):
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "this needs a tenant or an operator-wide role")
        session = self.registry.get(request.station_id)
        if session is not None and principal is not None and principal.tenant_id not in ("", session.tenant_id):
            session = None  # another tenant's station is answered exactly as one not connected
        if session is None:
            forwarded: gateway_pb2.StationConnectionInfo | None = await self._forwarded(
                "GetConnection", request, context
            )
            if forwarded is not None:
                return forwarded
            await context.abort(grpc.StatusCode.NOT_FOUND, f"station {request.station_id} is not connected")
        assert session is not None
        info = gateway_pb2.StationConnectionInfo(
            station_id=session.station_id,
            gateway_instance=session.gateway_instance,
            ocpp_version=session.version.proto,
            security_profile=session.identity.security_profile,
            remote_address=session.remote_address,
        )
        info.connected_at.FromDatetime(session.connected_at)
        return info

    async def Disconnect(
        self, request: gateway_pb2.DisconnectRequest, context: ServicerContext
    ) -> gateway_pb2.DisconnectReply:
        if current_caller() is not None and _DISCONNECTERS.isdisjoint(request.requested_by.roles):
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "this needs the operator or security-analyst role")
        if self.authentication_cache is not None:
            # A station taken off (a quarantine's response) must ask authz again to come back.
            self.authentication_cache.forget(request.station_id)
        session = self.registry.get(request.station_id)
        if session is None:
            forwarded: gateway_pb2.DisconnectReply | None = await self._forwarded("Disconnect", request, context)
            return forwarded if forwarded is not None else gateway_pb2.DisconnectReply(was_connected=False)
        reason = request.reason or "disconnected by request"
        log.info(
            "disconnecting station",
            extra={"station_id": session.station_id, "reason": reason, "by": request.requested_by.subject},
        )
        await session.close(CLOSE_NORMAL, reason)
        return gateway_pb2.DisconnectReply(was_connected=True)

    # -- commands -----------------------------------------------------------------------------
    async def SendCommand(
        self, request: gateway_pb2.CommandRequest, context: ServicerContext
    ) -> gateway_pb2.CommandReply:
        audit = _Audit(request)
        session = self.registry.get(request.station_id)
        if session is None:
            forwarded: gateway_pb2.CommandReply | None = await self._forwarded("SendCommand", request, context)
            if forwarded is not None:
                return forwarded  # the owner audited it
            await self._fail(
                context,
                audit,
                OUTCOME_NOT_CONNECTED,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"station {request.station_id} is not connected",
            )
        assert session is not None
        return await self._send(session, request, context, audit)

    async def _send(
        self,
        session: StationSession,
        request: gateway_pb2.CommandRequest,
        context: ServicerContext,
        audit: _Audit,
    ) -> gateway_pb2.CommandReply:
        audit.tenant_id = session.tenant_id
        principal_tenant = request.requested_by.tenant_id
        if not _may_reach(request.requested_by):
            await self._fail(
                context,
                audit,
                OUTCOME_FORBIDDEN,
                grpc.StatusCode.PERMISSION_DENIED,
                "commands need a tenant or an operator-wide role",
            )
        if principal_tenant and principal_tenant != session.tenant_id:
            await self._fail(
                context,
                audit,
                OUTCOME_FORBIDDEN,
                grpc.StatusCode.PERMISSION_DENIED,
                f"station {session.station_id} does not belong to tenant {principal_tenant}",
            )
        try:
            arguments = command_arguments(request.arguments_json)
        except ValueError as error:
            await self._fail(context, audit, OUTCOME_INVALID_ARGUMENTS, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        audit.arguments = redacted(arguments)
        try:
            planned = plan_command(
                session.version, request.kind, arguments, security_profile=session.identity.security_profile
            )
        except CommandRefused as refused:
            outcome = OUTCOME_INVALID_ARGUMENTS if refused.refusal is Refusal.INVALID_ARGUMENTS else OUTCOME_REFUSED
            await self._fail(context, audit, outcome, _REFUSAL_CODES[refused.refusal], str(refused))
        audit.action = planned.action
        audit.arguments = redacted(planned.payload)

        timeout = self.settings.command_timeout_seconds
        remaining = context.time_remaining()
        if remaining is not None:
            timeout = min(timeout, max(remaining - _DEADLINE_MARGIN_SECONDS, 0.0))

        key = request.idempotency_key
        bound_to = fingerprint(session.station_id, request.kind, redacted(arguments))
        if key and self.replies is not None:
            claim = await self.replies.claim(
                session.station_id, key, bound_to, wait_seconds=timeout, pending_seconds=timeout + 5.0
            )
            if claim.state is ClaimState.REPLAY:
                assert claim.reply is not None
                audit.message_id = claim.reply.message_id
                await self.events.command_audit(session.station_id, session.tenant_id, audit.record(OUTCOME_REPLAYED))
                return claim.reply
            if claim.state is ClaimState.CONFLICT:
                await self._fail(
                    context,
                    audit,
                    OUTCOME_INVALID_ARGUMENTS,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "idempotency_key was already used for a different command to this station",
                )
            if claim.state is ClaimState.IN_PROGRESS:
                await self._fail(
                    context,
                    audit,
                    OUTCOME_TIMEOUT,
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    "a command with this idempotency_key is still waiting for the station's answer",
                )

        log.info(
            "command to station",
            extra={"station_id": session.station_id, "action": planned.action, "by": request.requested_by.subject},
        )
        try:
            answer = await session.call(planned.action, planned.payload, timeout)
        except CommandError as error:
            if key and self.replies is not None:
                await self.replies.forget(session.station_id, key)
            await self._call_failed(context, session, planned, audit, error)
        reply = gateway_pb2.CommandReply(
            station_id=session.station_id,
            status=reply_status(planned, request.kind, answer.payload),
            response_json=orjson.dumps(answer.payload).decode(),
            ocpp_action=planned.action,
            message_id=answer.message_id,
        )
        if key and self.replies is not None:
            await self.replies.remember(session.station_id, key, bound_to, reply)
        audit.message_id = answer.message_id
        await self.events.command_audit(session.station_id, session.tenant_id, audit.record(reply.status or "answered"))
        return reply

    async def _fail(
        self,
        context: ServicerContext,
        audit: _Audit,
        outcome: str,
        code: grpc.StatusCode,
        message: str,
        trailers: Sequence[tuple[str, str]] = (),
    ) -> NoReturn:
        await self.events.command_audit(audit.request.station_id, audit.tenant_id, audit.record(outcome))
        if trailers:
            context.set_trailing_metadata(tuple(trailers))
        await context.abort(code, message)
        raise AssertionError("unreachable: abort raises")

    async def _call_failed(
        self,
        context: ServicerContext,
        session: StationSession,
        planned: PlannedCall,
        audit: _Audit,
        error: CommandError,
    ) -> NoReturn:
        station, action = session.station_id, planned.action
        if isinstance(error, InvalidCommand):
            await self._fail(
                context,
                audit,
                OUTCOME_INVALID_ARGUMENTS,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{action} arguments: {error.error.description}",
            )
        if isinstance(error, StationTimeout):
            await self._fail(context, audit, OUTCOME_TIMEOUT, grpc.StatusCode.DEADLINE_EXCEEDED, str(error))
        if isinstance(error, StationCallError):
            await self._fail(
                context,
                audit,
                OUTCOME_CALL_ERROR,
                grpc.StatusCode.ABORTED,
                f"{station} answered {action} with {error.error.code}: {error.error.description}",
                ((OCPP_ERROR_CODE_TRAILER, error.error.code),),
            )
        if isinstance(error, InvalidStationAnswer):
            code = error_code(error.error.kind, session.version)
            await self._fail(
                context,
                audit,
                OUTCOME_INVALID_ANSWER,
                grpc.StatusCode.ABORTED,
                f"{station} answered {action} outside the schema: {error.error.description}",
                ((OCPP_ERROR_CODE_TRAILER, code),),
            )
        if isinstance(error, SessionClosed):
            await self._fail(
                context,
                audit,
                OUTCOME_DISCONNECTED,
                grpc.StatusCode.UNAVAILABLE,
                f"{station} disconnected before answering {action}",
            )
        await self._fail(context, audit, OUTCOME_FAILED, grpc.StatusCode.INTERNAL, f"{action} to {station} failed")
