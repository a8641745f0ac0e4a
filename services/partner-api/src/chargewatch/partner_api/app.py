"""The FastAPI application: routes, problem+json errors, request ids, probes and metrics."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from chargewatch.auth import AccessTokenValidator
from chargewatch.partner_api.api import stations
from chargewatch.partner_api.clients import ServiceClients
from chargewatch.partner_api.errors import install_problem_handlers

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,128}$")

DESCRIPTION = """
The ChargeWatch partner API: your stations and their live status, sessions, uptime and SLA
reports, incidents, alerts and remote commands.

Authenticate with an OAuth2 bearer token from the ChargeWatch identity provider (Keycloak):
the client-credentials grant for back ends, authorization code with PKCE for people. A
partner sees its own tenant's resources only. Errors are RFC 9457 problem details.
"""


def create_app(
    *,
    clients: ServiceClients,
    token_validator: AccessTokenValidator,
    readiness: Callable[[], Mapping[str, bool]],
    public_url: str,
) -> FastAPI:
    app = FastAPI(
        title="ChargeWatch partner API",
        version="1.0.0",
        description=DESCRIPTION,
        servers=[{"url": public_url}],
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.clients = clients
    app.state.token_validator = token_validator
    install_problem_handlers(app)
    app.include_router(stations.router)

    @app.middleware("http")
    async def request_ids(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            response.headers["X-Trace-ID"] = format(context.trace_id, "032x")
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = dict(readiness())
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app
