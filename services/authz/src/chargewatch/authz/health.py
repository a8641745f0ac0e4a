"""The degraded state: Keycloak unreachable while authz keeps answering cached tokens.

Authz stays SERVING (refusing every station's drivers because Keycloak is down would be worse), but
reports the degradation on its own gRPC health name, a Prometheus gauge and a log line, so SREs
and alerts see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from grpc_health.v1 import health_pb2
from prometheus_client import Gauge

log = logging.getLogger(__name__)

# gRPC health service name reporting whether Keycloak answers (NOT_SERVING: degraded).
IDENTITY_PROVIDER_HEALTH = "chargewatch.authz.identity-provider"

identity_provider_up = Gauge(
    "chargewatch_authz_identity_provider_up", "1 when Keycloak answers authz's admin calls, 0 when degraded"
)


class IdentityProviderMonitor:
    def __init__(self, probe: Callable[[], Awaitable[bool]], health_servicer: object | None) -> None:
        self._probe = probe
        self._health = health_servicer
        self.up: bool | None = None

    @property
    def status(self) -> str:
        return "degraded" if self.up is False else "ok"

    async def check(self) -> bool:
        try:
            up = bool(await self._probe())
        except Exception:
            up = False
        if up != self.up:
            if up:
                log.info("identity provider reachable")
            else:
                log.warning("identity provider unreachable: degraded, answering cached tokens only")
        self.up = up
        identity_provider_up.set(1 if up else 0)
        if self._health is not None:
            status = health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING
            await self._health.set(IDENTITY_PROVIDER_HEALTH, status)  # type: ignore[attr-defined]
        return up

    async def run(self, every_seconds: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)
