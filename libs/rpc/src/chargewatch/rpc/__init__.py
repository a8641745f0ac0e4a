"""gRPC helpers: servers with health, reflection, tracing and caller tokens; channels with deadlines and retries."""

from chargewatch.rpc.callers import (
    BearerToken,
    Caller,
    CallerAuthentication,
    TokenSource,
    current_caller,
)
from chargewatch.rpc.client import (
    DEFAULT_DEADLINE_SECONDS,
    client_channel,
    health_check,
    retry_service_config,
    stream_channel,
)
from chargewatch.rpc.errors import ServicerContext, not_implemented_yet
from chargewatch.rpc.server import GrpcServer
from chargewatch.rpc.tracing import SampledServerInterceptor

__all__ = [
    "DEFAULT_DEADLINE_SECONDS",
    "BearerToken",
    "Caller",
    "CallerAuthentication",
    "GrpcServer",
    "SampledServerInterceptor",
    "ServicerContext",
    "TokenSource",
    "client_channel",
    "current_caller",
    "health_check",
    "not_implemented_yet",
    "retry_service_config",
    "stream_channel",
]
