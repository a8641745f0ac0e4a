"""The FastAPI application: routes, problem+json errors, request ids, CORS, probes and metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.middleware.cors import CORSMiddleware

from chargewatch.partner_api.api import ROUTERS
from chargewatch.partner_api.deps import reject_unknown_query
from chargewatch.partner_api.errors import install_problem_handlers
from chargewatch.partner_api.middleware import ApiMiddleware
from chargewatch.partner_api.services import Services

DESCRIPTION = """
The ChargeWatch partner API: your stations and their live status, sessions and meter values,
uptime and SLA reports, incidents and excluded outages, security alerts (for analysts), remote
commands, driver tokens and access policies, and live events (Server-Sent Events and signed webhooks).

**Authentication.** Send an OAuth2 bearer token from the ChargeWatch identity provider (Keycloak):
the client-credentials grant for back ends, authorization code with PKCE for people. A partner
sees its own tenant's resources only; another tenant's station answers 404, as a missing one.

**Errors** are RFC 9457 problem details (`application/problem+json`). **Lists** page with an
opaque `cursor` (`next_cursor` of the previous page, also in the `Link` header). **Rate limits**
are per client; every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset`, and a refused one `Retry-After`. Station resources carry an `ETag`: send it as
`If-None-Match` to get `304 Not Modified` while nothing changed.

See docs/partners.md in the repository for a walk-through with examples.
"""

TAGS = [
    {"name": "stations", "description": "The fleet, live connector status, meter values, status history"},
    {"name": "commands", "description": "Remote commands, answered with the station's own answer"},
    {"name": "sessions", "description": "Charging sessions"},
    {"name": "fleet", "description": "Counts per site and CSV exports"},
    {"name": "driver tokens", "description": "RFID cards, app tokens and eMAIDs (authz)"},
    {"name": "access policies", "description": "Where, when and by whom charging may start (authz)"},
    {
        "name": "uptime and SLA",
        "description": "Uptime (23 CFR 680.116), reports, down-time budgets, port states, site profiles, contracts",
    },
    {
        "name": "blocks and certificates",
        "description": "Blocked tokens, quarantined stations, local lists, station client certificates (authz)",
    },
    {"name": "incidents", "description": "Port outages as incidents, and excluded outages with their evidence"},
    {
        "name": "security",
        "description": "Security alerts, incidents, risk scores and responses (operator, security-analyst)",
    },
    {"name": "events", "description": "Live events as Server-Sent Events"},
    {"name": "webhooks", "description": "Signed HTTP callbacks with retries"},
]


def create_app(*, services: Services, readiness: Callable[[], Mapping[str, bool]]) -> FastAPI:
    settings = services.settings
    app = FastAPI(
        title="ChargeWatch partner API",
        version="1.0.0",
        description=DESCRIPTION,
        servers=[{"url": settings.public_url}],
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        openapi_tags=TAGS,
        dependencies=[Depends(reject_unknown_query)],
        # FastAPI's own OpenTelemetry spans (request, every dependency, serialization) and metrics cost
        # more than a cached request itself; ApiMiddleware makes the one server span and the histogram.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.services = services
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)

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

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            # Every /v1 route needs the bearer token, including those whose 401 comes from a sub-dependency.
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["keycloak"] = {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from the ChargeWatch Keycloak realm",
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    app.add_middleware(ApiMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "Idempotency-Key", "Last-Event-ID"],
            expose_headers=[
                "ETag",
                "Link",
                "Location",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "RateLimit-Policy",
                "X-Request-ID",
                "X-Trace-ID",
            ],
            max_age=600,
        )
    return app
