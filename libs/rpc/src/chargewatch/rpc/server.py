"""An asyncio gRPC server every service uses the same way.

It always carries the standard health service (SERVING only while the owner says its
dependencies answer), server reflection, and the OpenTelemetry server interceptor; `stop`
gives in-flight calls a grace period matching the pod's termination grace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer as AioReflectionServicer
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from chargewatch.rpc.tracing import SampledServerInterceptor

log = logging.getLogger(__name__)

# `add_XServicer_to_server` from the generated code, bound to its servicer.
Registration = Callable[[grpc.aio.Server], None]

# Inbound message limit: our contracts carry pages and command arguments, never bulk data.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class _GenericOnly:
    """What generated `add_XServicer_to_server` functions see: generic handlers only."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name: str, handlers: Any) -> None:
        """Left out: the generic handler added alongside serves the same methods."""


class GrpcServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_concurrent_rpcs: int | None = None,
        sampled_tracing: bool = False,
        reuse_port: bool = False,
        generic_handlers_only: bool = False,
        caller_authentication: grpc.aio.ServerInterceptor | None = None,  # type: ignore[type-arg]
    ) -> None:
        """Options for hot services (all off by default):

        - `sampled_tracing`: spans only for the calls the sampler records
          (`tracing.SampledServerInterceptor`), for a unary service behind a head-sampling caller;
        - `reuse_port`: several processes serve one port (SO_REUSEPORT; the kernel spreads the
          connections over them);
        - `generic_handlers_only`: methods are found through the services' generic handlers, not
          registered one by one: grpc.aio's serving loop waits on one future per registered method
          for every call it accepts, which for a service with dozens of methods costs more CPU than
          looking the method up in a dict;
        - `caller_authentication`: every call but health and reflection must carry a valid access
          token (`callers.CallerAuthentication`).
        """
        self.host = host
        self.port = port
        self.service_names: list[str] = []
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        interceptor = SampledServerInterceptor() if sampled_tracing else aio_server_interceptor()  # type: ignore[no-untyped-call]
        interceptors: list[Any] = [interceptor]
        if caller_authentication is not None:
            interceptors.append(caller_authentication)
        self.server = grpc.aio.server(
            interceptors=interceptors,
            maximum_concurrent_rpcs=max_concurrent_rpcs,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 1 if reuse_port else 0),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ],
        )
        self._registrar: Any = _GenericOnly(self.server) if generic_handlers_only else self.server
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._registrar)

    def add_service(self, add_to_server: Callable[[Any, grpc.aio.Server], None], servicer: Any, full_name: str) -> None:
        """Register a generated servicer: (add_AuthzServicer_to_server, AuthzServicer(), "chargewatch.v1.Authz")."""
        add_to_server(servicer, self._registrar)
        self.service_names.append(full_name)

    async def start(self) -> int:
        names: Sequence[str] = (*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME)
        if self._registrar is self.server:
            reflection.enable_server_reflection(names, self.server)
        else:  # enable_server_reflection picks the aio servicer only for a grpc.aio.Server, by type
            reflection_pb2_grpc.add_ServerReflectionServicer_to_server(AioReflectionServicer(names), self._registrar)
        bound = self.server.add_insecure_port(f"{self.host}:{self.port}")
        if bound == 0:
            raise OSError(f"could not bind gRPC on {self.host}:{self.port}")
        self.port = bound
        await self.set_serving(False)
        await self.server.start()
        log.info("gRPC listening", extra={"port": self.port, "services": list(self.service_names)})
        return bound

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set("", status)
        for name in self.service_names:
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        await self.set_serving(False)
        await self.server.stop(grace)
