"""`python -m chargewatch.partner_api`: settings, telemetry, service clients and the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import uvicorn

from chargewatch.auth import AccessTokenValidator
from chargewatch.partner_api.app import create_app
from chargewatch.partner_api.clients import ServiceClients
from chargewatch.partner_api.config import PartnerApiSettings
from chargewatch.rpc import health_check
from chargewatch.service import ServiceRuntime


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service runtime owns SIGTERM and drains."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: PartnerApiSettings) -> None:
    # The API serves /healthz, /readyz and /metrics itself, on its public port.
    runtime = ServiceRuntime("partner-api", settings, ops_server=False)
    clients = ServiceClients.connect(settings)
    http = httpx.AsyncClient(timeout=5.0)
    validator = AccessTokenValidator(settings.issuer, settings.api_audience, http=http)
    runtime.depends_on("telemetry", lambda: health_check(clients.telemetry_channel))
    runtime.depends_on("authz", lambda: health_check(clients.authz_channel))
    runtime.depends_on("identity-provider", validator.ready)

    app = create_app(
        clients=clients, token_validator=validator, readiness=runtime.readiness, public_url=settings.public_url
    )
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            limit_concurrency=2000,
        )
    )

    def stop() -> None:
        server.should_exit = True

    runtime.add_worker("http", server.serve, stop)
    runtime.on_shutdown(clients.close)
    runtime.on_shutdown(http.aclose)
    await runtime.run()


def main() -> None:
    asyncio.run(serve(PartnerApiSettings()))


if __name__ == "__main__":
    main()
