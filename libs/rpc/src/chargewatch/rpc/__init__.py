"""gRPC helpers: a server with health, reflection and OpenTelemetry; client channels with deadlines and retries."""

from chargewatch.rpc.client import DEFAULT_DEADLINE_SECONDS, client_channel, health_check, retry_service_config
from chargewatch.rpc.errors import ServicerContext, not_implemented_yet
from chargewatch.rpc.server import GrpcServer
from chargewatch.rpc.tracing import SampledServerInterceptor

__all__ = [
    "DEFAULT_DEADLINE_SECONDS",
    "GrpcServer",
    "SampledServerInterceptor",
    "ServicerContext",
    "client_channel",
    "health_check",
    "not_implemented_yet",
    "retry_service_config",
]
