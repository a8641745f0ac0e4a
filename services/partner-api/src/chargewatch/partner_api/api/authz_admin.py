"""Blocks and quarantines, local authorization lists and station client certificates (authz).

authz authorizes each call itself from the caller's own access token (forwarded as metadata); the
role checks here answer early with the same verdict: blocks and quarantines are for operators and
security analysts (every operator-wide role reads them), local lists and certificate registration for
operators. None of these is a partner's: another tenant's objects are never in reach.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from chargewatch.auth import OPERATOR, SECURITY_ANALYST, SRE, Principal
from chargewatch.partner_api.api.common import Cursor, errors, model_response, next_link
from chargewatch.partner_api.convert import block_out, client_certificate_out, local_list_out
from chargewatch.partner_api.deps import OperatorDep, ServicesDep, caller_metadata, require_role, to_proto
from chargewatch.partner_api.errors import ApiError
from chargewatch.partner_api.models import (
    FINGERPRINT_PATTERN,
    SITE_PATTERN,
    STATION_ID_PATTERN,
    BlockCreate,
    BlockLift,
    BlockOut,
    BlockPage,
    CertificateRevoke,
    ClientCertificateIn,
    ClientCertificateList,
    ClientCertificateOut,
    LocalListOut,
    LocalListPublish,
)
from chargewatch.partner_api.sla_models import OBJECT_ID_PATTERN
from chargewatch.v1 import authz_pb2, common_pb2

router = APIRouter(tags=["blocks and certificates"])

BlockerDep = Annotated[Principal, require_role(OPERATOR, SECURITY_ANALYST)]
ReaderDep = Annotated[Principal, require_role(OPERATOR, SECURITY_ANALYST, SRE)]
BlockId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="The block's id")]
StationId = Annotated[str, Path(pattern=STATION_ID_PATTERN, description="The station's OCPP identity")]
SiteId = Annotated[str, Path(pattern=SITE_PATTERN, description="The site's id")]
Fingerprint = Annotated[str, Path(pattern=FINGERPRINT_PATTERN, description="Lower-case hex SHA-256 of the DER")]


@router.get(
    "/v1/blocks",
    response_model=BlockPage,
    responses=errors(),
    summary="Blocked tokens and quarantined stations (operator, security-analyst, sre)",
)
async def list_blocks(
    request: Request,
    principal: ReaderDep,
    services: ServicesDep,
    subject_kind: Annotated[str | None, Query(pattern=r"^(token|station)$", description="token or station")] = None,
    include_lifted: Annotated[bool, Query(description="Also blocks lifted or expired")] = False,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")] = 50,
) -> Response:
    reply = await services.clients.authz.ListBlocks(
        authz_pb2.ListBlocksRequest(
            subject_kind=subject_kind or "",
            include_lifted=include_lifted,
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
        ),
        metadata=caller_metadata(request),
    )
    page = BlockPage(
        items=[block_out(b) for b in reply.blocks],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.post(
    "/v1/blocks",
    response_model=BlockOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(404),
    summary="Block a driver token or quarantine a station, effective at once (operator, security-analyst)",
)
async def create_block(
    request: Request, body: BlockCreate, principal: BlockerDep, services: ServicesDep, response: Response
) -> BlockOut:
    """A blocked token is answered Blocked at every station; a quarantined station is refused at its next
    handshake and disconnected (`refuse_connections`), or kept connected but made unavailable
    (`set_unavailable`). Security responses (GET /v1/security/response-actions) use the same blocks."""
    clients = services.clients
    caller = to_proto(principal)
    if body.subject_kind == "token":
        if body.mode is not None:
            raise ApiError(422, "invalid-request", "Invalid Request", "`mode` applies to stations only")
        token_block = authz_pb2.BlockTokenRequest(id_token=body.subject_id, reason=body.reason, requested_by=caller)
        if body.expires_at is not None:
            token_block.expires_at.FromDatetime(body.expires_at.astimezone(UTC))
        block = await clients.authz.BlockToken(token_block, metadata=caller_metadata(request))
    else:
        quarantine = authz_pb2.QuarantineStationRequest(
            station_id=body.subject_id, reason=body.reason, requested_by=caller, mode=body.mode or ""
        )
        if body.expires_at is not None:
            quarantine.expires_at.FromDatetime(body.expires_at.astimezone(UTC))
        block = await clients.authz.QuarantineStation(
            quarantine, metadata=caller_metadata(request), timeout=services.settings.command_deadline_seconds
        )
    response.headers["Location"] = f"/v1/blocks?subject_kind={block.subject_kind}"
    return block_out(block)


@router.post(
    "/v1/blocks/{block_id}/lift",
    response_model=BlockOut,
    responses=errors(404, 409),
    summary="Lift a block or quarantine (operator, security-analyst)",
)
async def lift_block(
    request: Request, principal: BlockerDep, services: ServicesDep, block_id: BlockId, body: BlockLift | None = None
) -> BlockOut:
    block = await services.clients.authz.LiftBlock(
        authz_pb2.LiftBlockRequest(
            block_id=block_id, requested_by=to_proto(principal), reason=body.reason if body else ""
        ),
        metadata=caller_metadata(request),
        timeout=services.settings.command_deadline_seconds,
    )
    return block_out(block)


@router.post(
    "/v1/sites/{site_id}/local-list",
    response_model=LocalListOut,
    responses=errors(404),
    summary="Build the site's local authorization list and send it to its connected stations (operator)",
)
async def publish_local_list(
    request: Request,
    principal: OperatorDep,
    services: ServicesDep,
    site_id: SiteId,
    body: LocalListPublish | None = None,
) -> LocalListOut:
    """Stations authorize the listed tokens themselves while offline. A new version is built when the
    tokens changed; stations get a differential update where their version allows (`full` forces the
    whole list). `pushes` holds each station's answer."""
    reply = await services.clients.authz.PublishLocalList(
        authz_pb2.PublishLocalListRequest(
            site_id=site_id, full=body.full if body else False, requested_by=to_proto(principal)
        ),
        metadata=caller_metadata(request),
        timeout=services.settings.command_deadline_seconds,
    )
    return local_list_out(reply)


@router.get(
    "/v1/stations/{station_id}/certificates",
    response_model=ClientCertificateList,
    responses=errors(),
    summary="The station's client certificates (security profile 3) (operator, security-analyst, sre)",
)
async def list_client_certificates(
    request: Request, principal: ReaderDep, services: ServicesDep, station_id: StationId
) -> Response:
    reply = await services.clients.authz.ListClientCertificates(
        authz_pb2.ListClientCertificatesRequest(station_id=station_id), metadata=caller_metadata(request)
    )
    return model_response(request, ClientCertificateList(items=[client_certificate_out(c) for c in reply.certificates]))


@router.post(
    "/v1/stations/{station_id}/certificates",
    response_model=ClientCertificateOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(404),
    summary="Register a client certificate the station authenticates with at profile 3 (operator)",
)
async def register_client_certificate(
    request: Request, body: ClientCertificateIn, principal: OperatorDep, services: ServicesDep, station_id: StationId
) -> ClientCertificateOut:
    certificate = await services.clients.authz.RegisterClientCertificate(
        authz_pb2.RegisterClientCertificateRequest(
            station_id=station_id, certificate_pem=body.certificate_pem, requested_by=to_proto(principal)
        ),
        metadata=caller_metadata(request),
    )
    return client_certificate_out(certificate)


@router.post(
    "/v1/certificates/{fingerprint}/revoke",
    response_model=ClientCertificateOut,
    responses=errors(404),
    summary="Revoke a station client certificate: refused at the next handshake (operator, security-analyst)",
)
async def revoke_client_certificate(
    request: Request,
    principal: BlockerDep,
    services: ServicesDep,
    fingerprint: Fingerprint,
    body: CertificateRevoke | None = None,
) -> ClientCertificateOut:
    certificate = await services.clients.authz.RevokeClientCertificate(
        authz_pb2.RevokeClientCertificateRequest(
            sha256_fingerprint=fingerprint, reason=body.reason if body else "", requested_by=to_proto(principal)
        ),
        metadata=caller_metadata(request),
    )
    return client_certificate_out(certificate)
