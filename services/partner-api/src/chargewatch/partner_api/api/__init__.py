"""Routes of the public API, one module per resource.

A router module uses `PrincipalDep` and the role aliases from `deps`, `to_proto` for the principal it
forwards to a service, problem answers from `common.errors`, `Cursor` paging, and gets an entry in
ROUTERS (the isolation test tries every route of every router listed here).
"""

from fastapi import APIRouter

from chargewatch.partner_api.api import (
    access_policies,
    alerts,
    authz_admin,
    commands,
    dashboard,
    events,
    fleet,
    incidents,
    sessions,
    sla,
    stations,
    tokens,
    webhooks,
)

ROUTERS: list[APIRouter] = [
    stations.router,
    commands.router,
    sessions.router,
    fleet.router,
    tokens.router,
    access_policies.router,
    sla.router,
    incidents.router,
    alerts.router,
    authz_admin.router,
    events.router,
    webhooks.router,
    dashboard.router,
]
