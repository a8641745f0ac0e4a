"""/v1/access-policies: where, when and by whom charging may start (authz's policies).

Everyone reads the policies of their own scope; operators write them (authz enforces both from the
caller's forwarded token; the role check here answers early with the same verdict).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from chargewatch.partner_api.api.common import Cursor, errors, model_response, next_link
from chargewatch.partner_api.convert import policy_out
from chargewatch.partner_api.deps import (
    OperatorDep,
    PrincipalDep,
    ServicesDep,
    caller_metadata,
    check_tenant_filter,
    to_proto,
)
from chargewatch.partner_api.models import (
    POLICY_ID_PATTERN,
    TENANT_PATTERN,
    AccessPolicyIn,
    AccessPolicyOut,
    AccessPolicyPage,
)
from chargewatch.v1 import authz_pb2, common_pb2

router = APIRouter(prefix="/v1/access-policies", tags=["access policies"])

PolicyId = Annotated[str, Path(pattern=POLICY_ID_PATTERN)]


def _wire(body: AccessPolicyIn, policy_id: str = "") -> authz_pb2.AccessPolicy:
    return authz_pb2.AccessPolicy(
        policy_id=policy_id,
        tenant_id=body.tenant_id,
        name=body.name,
        site_ids=body.site_ids,
        station_ids=body.station_ids,
        allowed_groups=body.allowed_groups,
        time_windows=[
            authz_pb2.TimeWindow(days_of_week=w.days_of_week, start=w.start, end=w.end) for w in body.time_windows
        ],
        timezone=body.timezone,
        max_concurrent_sessions=body.max_concurrent_sessions,
        max_session_seconds=body.max_session_seconds,
        blocked_id_tokens=body.blocked_id_tokens,
    )


def _etag(policy: AccessPolicyOut) -> dict[str, str]:
    return {"ETag": f'"{policy.policy_id}-v{policy.version}"'}


@router.get("", response_model=AccessPolicyPage, responses=errors(), summary="List access policies")
async def list_policies(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_PATTERN, description="Operators only")] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    tenant = check_tenant_filter(principal, tenant_id, "lists policies")
    reply = await services.clients.authz.ListAccessPolicies(
        authz_pb2.ListAccessPoliciesRequest(
            tenant_id=tenant or "",
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
            requested_by=to_proto(principal),
        ),
        metadata=caller_metadata(request),
    )
    page = AccessPolicyPage(
        items=[policy_out(p) for p in reply.policies],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.post(
    "",
    response_model=AccessPolicyOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
    summary="Create an access policy (operator)",
)
async def create_policy(
    request: Request, body: AccessPolicyIn, principal: OperatorDep, services: ServicesDep, response: Response
) -> AccessPolicyOut:
    stored = policy_out(
        await services.clients.authz.PutAccessPolicy(
            authz_pb2.PutAccessPolicyRequest(policy=_wire(body), requested_by=to_proto(principal)),
            metadata=caller_metadata(request),
        )
    )
    response.headers["Location"] = f"/v1/access-policies/{stored.policy_id}"
    response.headers.update(_etag(stored))
    return stored


@router.get("/{policy_id}", response_model=AccessPolicyOut, responses=errors(404), summary="One access policy")
async def get_policy(request: Request, principal: PrincipalDep, services: ServicesDep, policy_id: PolicyId) -> Response:
    policy = policy_out(
        await services.clients.authz.GetAccessPolicy(
            authz_pb2.GetAccessPolicyRequest(policy_id=policy_id, requested_by=to_proto(principal)),
            metadata=caller_metadata(request),
        )
    )
    return model_response(request, policy, _etag(policy))


@router.put(
    "/{policy_id}",
    response_model=AccessPolicyOut,
    responses=errors(404, 409),
    summary="Replace an access policy (operator)",
)
async def put_policy(
    request: Request, body: AccessPolicyIn, principal: OperatorDep, services: ServicesDep, policy_id: PolicyId
) -> Response:
    # Read first: replacing a policy that does not exist (or that the caller cannot see) is a 404.
    await services.clients.authz.GetAccessPolicy(
        authz_pb2.GetAccessPolicyRequest(policy_id=policy_id, requested_by=to_proto(principal)),
        metadata=caller_metadata(request),
    )
    stored = policy_out(
        await services.clients.authz.PutAccessPolicy(
            authz_pb2.PutAccessPolicyRequest(policy=_wire(body, policy_id), requested_by=to_proto(principal)),
            metadata=caller_metadata(request),
        )
    )
    return model_response(request, stored, _etag(stored))


@router.delete(
    "/{policy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(404),
    summary="Delete an access policy (operator)",
)
async def delete_policy(
    request: Request, principal: OperatorDep, services: ServicesDep, policy_id: PolicyId
) -> Response:
    await services.clients.authz.DeleteAccessPolicy(
        authz_pb2.DeleteAccessPolicyRequest(policy_id=policy_id, requested_by=to_proto(principal)),
        metadata=caller_metadata(request),
    )
    return Response(status_code=204)
