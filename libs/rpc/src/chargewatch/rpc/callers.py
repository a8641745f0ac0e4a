"""Caller authentication for gRPC servers, and bearer tokens for gRPC clients.

`CallerAuthentication` is a server interceptor: every call except health and reflection must carry
`authorization: Bearer <access token>` (UNAUTHENTICATED otherwise). The validated principal then
replaces what the request claims, by one rule (docs/architecture.md, "Who calls whom"):

* the platform's service account (`chargewatch.auth.is_service_account`) acts for itself or on
  behalf of the end user named in the request's principal field, which is honoured as sent (an
  empty one becomes the service account's own operator principal);
* anyone else (an end user whose token the partner API forwards, a partner back end) is exactly
  what its token says: the request's principal field is overwritten with the token's principal,
  so a request can never widen it.

Servicers keep deciding from the request's principal field, which is now trustworthy, and can read
the authenticated caller itself with `current_caller()` (for requests without a principal field).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from chargewatch.auth import OPERATOR, SECURITY_ANALYST, SRE, CallerAuthenticator, Principal, Unauthenticated
from chargewatch.auth import is_service_account as _is_service_account
from chargewatch.v1 import common_pb2

# Always open: probes and tooling carry no token.
OPEN_SERVICES = frozenset(
    {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}
)
_OPERATOR_WIDE = frozenset({OPERATOR, SRE, SECURITY_ANALYST})
_PRINCIPAL_TYPE = common_pb2.Principal.DESCRIPTOR.full_name


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    token: str  # the caller's own access token, to forward to a peer replica on its behalf
    is_service: bool


_CALLER: ContextVar[Caller | None] = ContextVar("chargewatch_rpc_caller", default=None)


def current_caller() -> Caller | None:
    """The authenticated caller of the RPC being served; None where the server checks no tokens."""
    return _CALLER.get()


def to_proto(principal: Principal) -> common_pb2.Principal:
    """The wire principal of a token: operator-wide roles carry no tenant (as the partner API sends it)."""
    return common_pb2.Principal(
        subject=principal.subject,
        client_id=principal.client_id,
        roles=sorted(principal.roles),
        tenant_id="" if principal.roles & _OPERATOR_WIDE else (principal.tenant_id or ""),
    )


_principal_fields: dict[str, tuple[FieldDescriptor, ...]] = {}


def _fields_of(descriptor: Any) -> tuple[FieldDescriptor, ...]:
    fields = _principal_fields.get(descriptor.full_name)
    if fields is None:
        fields = tuple(
            f
            for f in descriptor.fields
            if f.message_type is not None
            and f.message_type.full_name == _PRINCIPAL_TYPE
            and not f.is_repeated  # a list of principals is data, not the caller
        )
        _principal_fields[descriptor.full_name] = fields
    return fields


def apply_caller(request: Message, caller: Caller) -> None:
    """Make the request's principal field(s) say who may act, by the rule in the module docstring."""
    own = to_proto(caller.principal)
    for field in _fields_of(request.DESCRIPTOR):
        claimed: common_pb2.Principal = getattr(request, field.name)
        if caller.is_service and request.HasField(field.name) and claimed.ByteSize():
            continue  # the service acts on behalf of this end user, whose rights it checked
        claimed.CopyFrom(own)


class CallerAuthentication(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, authenticator: CallerAuthenticator, *, open_services: Iterable[str] = OPEN_SERVICES) -> None:
        self.authenticator = authenticator
        self.open_services = frozenset(open_services)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method or ""
        if handler is None or method.lstrip("/").partition("/")[0] in self.open_services:
            return handler
        if handler.unary_unary is None:  # none of our services streams; refuse rather than pass unchecked
            return grpc.unary_unary_rpc_method_handler(_refuse_stream)
        behaviour = handler.unary_unary
        authenticator = self.authenticator

        async def authenticated(request: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                principal, token = await authenticator.authenticate(context.invocation_metadata())
            except Unauthenticated as exc:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
                raise AssertionError("unreachable: abort raises") from exc
            caller = Caller(principal, token, _is_service_account(principal))
            apply_caller(request, caller)
            reset = _CALLER.set(caller)
            try:
                return await behaviour(request, context)
            finally:
                _CALLER.reset(reset)

        return grpc.unary_unary_rpc_method_handler(
            authenticated,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def _refuse_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "streaming calls are not served with caller tokens")


TokenSource = Callable[[], Awaitable[str | None]]


class BearerToken(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Adds `authorization: Bearer <token>` to every unary call that does not carry one already."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        metadata: Any = tuple(client_call_details.metadata or ())
        if not any(key.lower() == "authorization" for key, _ in metadata):
            try:
                token = await self.source()
            except Exception as exc:  # the identity provider: callers handle a failed call, not an httpx error
                raise grpc.aio.AioRpcError(
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.aio.Metadata(),
                    grpc.aio.Metadata(),
                    f"no access token for the call: {type(exc).__name__}",
                    None,
                ) from exc
            if token:
                client_call_details = grpc.aio.ClientCallDetails(
                    client_call_details.method,
                    client_call_details.timeout,
                    grpc.aio.Metadata(*metadata, ("authorization", f"Bearer {token}")),
                    client_call_details.credentials,
                    client_call_details.wait_for_ready,
                )
        return await continuation(client_call_details, request)
