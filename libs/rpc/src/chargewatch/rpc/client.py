"""Client channels: OpenTelemetry propagation, a default deadline on every call, and
retries for the methods the caller declares idempotent (gRPC's own retry policy)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from chargewatch.rpc.callers import BearerToken, TokenSource

DEFAULT_DEADLINE_SECONDS = 5.0

_RETRYABLE_CODES = ("UNAVAILABLE", "RESOURCE_EXHAUSTED")


def retry_service_config(idempotent_methods: Sequence[str], *, max_attempts: int = 4) -> str:
    """A gRPC service config retrying only the listed methods ("chargewatch.v1.Authz/Authorize").

    A method not listed is never retried: a non-idempotent call sent twice could act twice.
    """
    names = []
    for method in idempotent_methods:
        service, _, name = method.partition("/")
        names.append({"service": service, "method": name} if name else {"service": service})
    config: dict[str, Any] = {"methodConfig": []}
    if names:
        config["methodConfig"].append(
            {
                "name": names,
                "retryPolicy": {
                    "maxAttempts": max_attempts,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": list(_RETRYABLE_CODES),
                },
            }
        )
    return json.dumps(config)


class _DefaultDeadline(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Sets a deadline on every call that has none, so no call can hang forever."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        if client_call_details.timeout is None:
            client_call_details = grpc.aio.ClientCallDetails(
                client_call_details.method,
                self.seconds,
                client_call_details.metadata,
                client_call_details.credentials,
                client_call_details.wait_for_ready,
            )
        return await continuation(client_call_details, request)


def _reconnect_options(max_backoff_seconds: float | None) -> list[tuple[str, Any]]:
    if max_backoff_seconds is None:
        return []
    backoff_ms = max(int(max_backoff_seconds * 1000), 100)
    return [
        ("grpc.initial_reconnect_backoff_ms", min(backoff_ms, 1000)),
        ("grpc.min_reconnect_backoff_ms", min(backoff_ms, 1000)),
        ("grpc.max_reconnect_backoff_ms", backoff_ms),
    ]


def client_channel(
    target: str,
    *,
    idempotent_methods: Sequence[str] = (),
    default_deadline: float = DEFAULT_DEADLINE_SECONDS,
    max_reconnect_backoff_seconds: float | None = None,
    bearer: TokenSource | None = None,
) -> grpc.aio.Channel:
    """An insecure channel inside the cluster's network (mTLS belongs to the mesh or a later switch).

    `max_reconnect_backoff_seconds` caps gRPC's reconnect backoff (120 s by default) for a peer on
    a hot path: after that peer restarts, the channel tries again within that time.
    `bearer` supplies the access token every call carries unless it sends its own `authorization`.
    """
    options: list[tuple[str, Any]] = [
        ("grpc.service_config", retry_service_config(idempotent_methods)),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", 30_000),
    ]
    options += _reconnect_options(max_reconnect_backoff_seconds)
    interceptors: list[Any] = [_DefaultDeadline(default_deadline), *aio_client_interceptors()]  # type: ignore[no-untyped-call]
    if bearer is not None:
        interceptors.append(BearerToken(bearer))
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)


def stream_channel(target: str, *, max_reconnect_backoff_seconds: float | None = None) -> grpc.aio.Channel:
    """A channel for one long-lived stream that multiplexes many calls (Authz/AuthorizeStream).

    No interceptors: gRPC's interceptors wrap every read and write of a stream in coroutines of
    their own, and OpenTelemetry's would open one span for the stream's whole life; the stream's
    messages carry their own deadline and trace context. Keepalive finds a dead peer on an idle stream.
    """
    options: list[tuple[str, Any]] = [
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    options += _reconnect_options(max_reconnect_backoff_seconds)
    return grpc.aio.insecure_channel(target, options=options)


async def health_check(channel: grpc.aio.Channel, service: str = "", deadline: float = 2.0) -> bool:
    """True when the peer's standard health service answers SERVING."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=deadline
        )
    except grpc.aio.AioRpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
