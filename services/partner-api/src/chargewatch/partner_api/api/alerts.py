"""Security alerts and what the security monitor knows around them: incidents, risk scores, response
actions (with undo) and policies, the rule catalogue, station profiles and certificates.

For the operator and security-analyst roles only: the route answers 403 to anyone else before the
monitor is asked. The monitor checks the same roles itself (and scopes by tenant) from the forwarded
principal.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import AwareDatetime

from chargewatch.auth import OPERATOR, SECURITY_ANALYST, Principal
from chargewatch.partner_api.api.common import Cursor, errors, model_response, next_link
from chargewatch.partner_api.convert import SEVERITY_VALUES, time_range, when
from chargewatch.partner_api.deps import ServicesDep, require_role, to_proto
from chargewatch.partner_api.errors import ApiError
from chargewatch.partner_api.models import STATION_ID_PATTERN
from chargewatch.partner_api.security_convert import (
    ACTION_KIND_VALUES,
    ACTION_STATE_VALUES,
    ALERT_STATE_VALUES,
    CERTIFICATE_KIND_VALUES,
    action_out,
    alert_detail_out,
    alert_out,
    certificate_out,
    policy_out,
    policy_wire,
    profile_out,
    risk_out,
    rule_out,
    security_incident_out,
)
from chargewatch.partner_api.security_models import (
    AlertAction,
    AlertDetailOut,
    AlertOut,
    AlertPage,
    AlertResponseRequest,
    AlertStateName,
    CertificateKindName,
    CertificateList,
    ResponseActionList,
    ResponseActionOut,
    ResponseActionPage,
    ResponseActionStateName,
    ResponsePolicyIn,
    ResponsePolicyList,
    ResponsePolicyOut,
    RiskScoreList,
    RiskScoreOut,
    RuleList,
    SecurityIncidentOut,
    SecurityIncidentPage,
    SecurityIncidentResolve,
    StationSecurityProfileOut,
    SubjectKindName,
    UndoRequest,
)
from chargewatch.partner_api.services import Services
from chargewatch.partner_api.sla_models import OBJECT_ID_PATTERN, SeverityName
from chargewatch.v1 import common_pb2, security_pb2

router = APIRouter(tags=["security"])

AnalystDep = Annotated[Principal, require_role(OPERATOR, SECURITY_ANALYST)]
AlertId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="The alert's id")]
IncidentId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="The security incident's id")]
ActionId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="The response action's id")]
PolicyId = Annotated[str, Path(pattern=OBJECT_ID_PATTERN, description="The response policy's id")]
StationId = Annotated[str, Path(pattern=STATION_ID_PATTERN, description="The station's OCPP identity")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size, 1 to 500")]
_ONLY = " (operator, security-analyst)"


def _range(start: AwareDatetime | None, end: AwareDatetime | None) -> common_pb2.TimeRange:
    if start is not None and end is not None and start >= end:
        raise ApiError(422, "invalid-request", "Invalid Request", "`from` must be before `to`")
    return time_range(start, end)


# -- alerts ---------------------------------------------------------------------------------------
@router.get("/v1/alerts", response_model=AlertPage, responses=errors(), summary="List security alerts" + _ONLY)
async def list_alerts(
    request: Request,
    principal: AnalystDep,
    services: ServicesDep,
    state: Annotated[AlertStateName | None, Query()] = None,
    min_severity: Annotated[SeverityName | None, Query(description="This severity and above")] = None,
    station_id: Annotated[str | None, Query(pattern=STATION_ID_PATTERN, description="Alerts naming it")] = None,
    rule: Annotated[str | None, Query(pattern=OBJECT_ID_PATTERN, description="One detection rule")] = None,
    subject_kind: Annotated[SubjectKindName | None, Query()] = None,
    subject_id: Annotated[str | None, Query(pattern=OBJECT_ID_PATTERN)] = None,
    incident_id: Annotated[str | None, Query(pattern=OBJECT_ID_PATTERN, description="One security incident")] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Raised at or after")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Raised before")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    """Newest first. Each alert explains itself (`explanation`) and names the rule, its MITRE ATT&CK for
    ICS technique and the events that made it fire (detail: GET /v1/alerts/{id})."""
    reply = await services.clients.security.ListAlerts(
        security_pb2.ListAlertsRequest(
            principal=to_proto(principal),
            station_id=station_id or "",
            state=ALERT_STATE_VALUES[state] if state else 0,  # type: ignore[arg-type]
            min_severity=SEVERITY_VALUES[min_severity] if min_severity else 0,  # type: ignore[arg-type]
            range=_range(start, end),
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
            rule=rule or "",
            subject_kind=subject_kind or "",
            subject_id=subject_id or "",
            incident_id=incident_id or "",
        )
    )
    page = AlertPage(
        items=[alert_out(a) for a in reply.alerts],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.get(
    "/v1/alerts/{alert_id}",
    response_model=AlertDetailOut,
    responses=errors(404),
    summary="One alert with its evidence, history and response actions" + _ONLY,
)
async def get_alert(request: Request, principal: AnalystDep, services: ServicesDep, alert_id: AlertId) -> Response:
    detail = await services.clients.security.GetAlertDetail(
        security_pb2.GetAlertRequest(principal=to_proto(principal), alert_id=alert_id)
    )
    return model_response(request, alert_detail_out(detail))


async def _transition(
    services: Services, principal: Principal, alert_id: str, note: str, *, resolve: bool, false_positive: bool = False
) -> AlertOut:
    request = security_pb2.AlertActionRequest(
        principal=to_proto(principal),
        alert_id=alert_id,
        note=note,
        false_positive=false_positive,
    )
    client = services.clients.security
    alert = await (client.ResolveAlert(request) if resolve else client.AcknowledgeAlert(request))
    return alert_out(alert)


@router.post(
    "/v1/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    responses=errors(404, 409),
    summary="Acknowledge an alert" + _ONLY,
)
async def acknowledge_alert(
    principal: AnalystDep, services: ServicesDep, alert_id: AlertId, body: AlertAction | None = None
) -> AlertOut:
    return await _transition(services, principal, alert_id, body.note if body else "", resolve=False)


@router.post(
    "/v1/alerts/{alert_id}/resolve",
    response_model=AlertOut,
    responses=errors(404, 409),
    summary="Resolve an alert" + _ONLY,
)
async def resolve_alert(
    principal: AnalystDep, services: ServicesDep, alert_id: AlertId, body: AlertAction | None = None
) -> AlertOut:
    return await _transition(services, principal, alert_id, body.note if body else "", resolve=True)


@router.post(
    "/v1/alerts/{alert_id}/false-positive",
    response_model=AlertOut,
    responses=errors(404, 409),
    summary="Mark an alert a false positive, undoing the responses it caused" + _ONLY,
)
async def false_positive_alert(
    principal: AnalystDep, services: ServicesDep, alert_id: AlertId, body: AlertAction | None = None
) -> AlertOut:
    return await _transition(
        services, principal, alert_id, body.note if body else "", resolve=True, false_positive=True
    )


@router.post(
    "/v1/alerts/{alert_id}/responses",
    response_model=ResponseActionList,
    responses=errors(404, 409),
    summary="Respond to an alert now: quarantine its station, block its token, disconnect" + _ONLY,
)
async def respond_to_alert(
    principal: AnalystDep, services: ServicesDep, alert_id: AlertId, body: AlertResponseRequest
) -> ResponseActionList:
    """Carried out through authz and the gateway, recorded and audited like automatic responses; `dry_run`
    only says what would be done. An action that does not fit the alert's subject is skipped."""
    reply = await services.clients.security.RespondToAlert(
        security_pb2.RespondToAlertRequest(
            principal=to_proto(principal),
            alert_id=alert_id,
            actions=[ACTION_KIND_VALUES[a] for a in body.actions],  # type: ignore[misc]
            dry_run=body.dry_run,
            reason=body.reason,
            duration_seconds=body.duration_seconds,
            quarantine_mode=body.quarantine_mode,
        )
    )
    return ResponseActionList(items=[action_out(a) for a in reply.actions])


# -- security incidents -----------------------------------------------------------------------------
@router.get(
    "/v1/security/incidents",
    response_model=SecurityIncidentPage,
    responses=errors(),
    summary="Security incidents: the open alerts of one subject, correlated" + _ONLY,
)
async def list_security_incidents(
    request: Request,
    principal: AnalystDep,
    services: ServicesDep,
    state: Annotated[AlertStateName | None, Query()] = None,
    min_severity: Annotated[SeverityName | None, Query()] = None,
    subject_kind: Annotated[SubjectKindName | None, Query()] = None,
    subject_id: Annotated[str | None, Query(pattern=OBJECT_ID_PATTERN)] = None,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Opened at or after")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Opened before")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    reply = await services.clients.security.ListSecurityIncidents(
        security_pb2.ListSecurityIncidentsRequest(
            principal=to_proto(principal),
            subject_kind=subject_kind or "",
            subject_id=subject_id or "",
            state=ALERT_STATE_VALUES[state] if state else 0,  # type: ignore[arg-type]
            min_severity=SEVERITY_VALUES[min_severity] if min_severity else 0,  # type: ignore[arg-type]
            range=_range(start, end),
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
        )
    )
    page = SecurityIncidentPage(
        items=[security_incident_out(i) for i in reply.incidents],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.get(
    "/v1/security/incidents/{incident_id}",
    response_model=SecurityIncidentOut,
    responses=errors(404),
    summary="One security incident" + _ONLY,
)
async def get_security_incident(
    request: Request, principal: AnalystDep, services: ServicesDep, incident_id: IncidentId
) -> Response:
    incident = await services.clients.security.GetSecurityIncident(
        security_pb2.GetSecurityIncidentRequest(principal=to_proto(principal), incident_id=incident_id)
    )
    return model_response(request, security_incident_out(incident))


@router.post(
    "/v1/security/incidents/{incident_id}/resolve",
    response_model=SecurityIncidentOut,
    responses=errors(404, 409),
    summary="Resolve (or mark false positive) every open alert of a security incident" + _ONLY,
)
async def resolve_security_incident(
    principal: AnalystDep,
    services: ServicesDep,
    incident_id: IncidentId,
    body: SecurityIncidentResolve | None = None,
) -> SecurityIncidentOut:
    incident = await services.clients.security.ResolveSecurityIncident(
        security_pb2.SecurityIncidentActionRequest(
            principal=to_proto(principal),
            incident_id=incident_id,
            note=body.note if body else "",
            false_positive=body.false_positive if body else False,
        )
    )
    return security_incident_out(incident)


# -- risk -----------------------------------------------------------------------------------------
@router.get(
    "/v1/security/risk-scores",
    response_model=RiskScoreList,
    responses=errors(),
    summary="Stations ranked by risk score, highest first" + _ONLY,
)
async def list_risk_scores(
    request: Request,
    principal: AnalystDep,
    services: ServicesDep,
    min_score: Annotated[float, Query(ge=0, le=100, description="Only stations at or above")] = 0.0,
    limit: Limit = 50,
) -> Response:
    reply = await services.clients.security.ListRiskScores(
        security_pb2.ListRiskScoresRequest(principal=to_proto(principal), limit=limit, min_score=min_score)
    )
    return model_response(request, RiskScoreList(items=[risk_out(r) for r in reply.scores]))


@router.get(
    "/v1/security/risk-scores/{station_id}",
    response_model=RiskScoreOut,
    responses=errors(404),
    summary="One station's risk score (0-100) and the alerts behind it" + _ONLY,
)
async def get_risk_score(
    request: Request, principal: AnalystDep, services: ServicesDep, station_id: StationId
) -> Response:
    score = await services.clients.security.GetRiskScore(
        security_pb2.GetRiskScoreRequest(principal=to_proto(principal), station_id=station_id)
    )
    return model_response(request, risk_out(score))


@router.get(
    "/v1/security/stations/{station_id}/profile",
    response_model=StationSecurityProfileOut,
    responses=errors(404),
    summary="What the monitor learned about a station: addresses, certificates, firmware, baselines" + _ONLY,
)
async def get_station_profile(
    request: Request, principal: AnalystDep, services: ServicesDep, station_id: StationId
) -> Response:
    profile = await services.clients.security.GetStationProfile(
        security_pb2.GetStationProfileRequest(principal=to_proto(principal), station_id=station_id)
    )
    return model_response(request, profile_out(profile))


# -- responses ----------------------------------------------------------------------------------
@router.get(
    "/v1/security/response-actions",
    response_model=ResponseActionPage,
    responses=errors(),
    summary="The audit of every response action, automatic or manual" + _ONLY,
)
async def list_response_actions(
    request: Request,
    principal: AnalystDep,
    services: ServicesDep,
    alert_id: Annotated[str | None, Query(pattern=OBJECT_ID_PATTERN)] = None,
    subject_id: Annotated[str | None, Query(pattern=OBJECT_ID_PATTERN, description="A station or token")] = None,
    state: Annotated[ResponseActionStateName | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    reply = await services.clients.security.ListResponseActions(
        security_pb2.ListResponseActionsRequest(
            principal=to_proto(principal),
            alert_id=alert_id or "",
            subject_id=subject_id or "",
            state=ACTION_STATE_VALUES[state] if state else 0,  # type: ignore[arg-type]
            page=common_pb2.PageRequest(page_size=limit, page_token=cursor or ""),
        )
    )
    page = ResponseActionPage(
        items=[action_out(a) for a in reply.actions],
        total=reply.page.total_size,
        next_cursor=reply.page.next_page_token or None,
    )
    return model_response(request, page, next_link(request, page.next_cursor))


@router.post(
    "/v1/security/response-actions/{action_id}/undo",
    response_model=ResponseActionOut,
    responses=errors(404, 409),
    summary="Undo a response action: lift the block or quarantine" + _ONLY,
)
async def undo_response_action(
    principal: AnalystDep, services: ServicesDep, action_id: ActionId, body: UndoRequest | None = None
) -> ResponseActionOut:
    action = await services.clients.security.UndoResponseAction(
        security_pb2.UndoResponseActionRequest(
            principal=to_proto(principal),
            action_id=action_id,
            reason=body.reason if body else "",
        )
    )
    return action_out(action)


@router.get(
    "/v1/security/response-policies",
    response_model=ResponsePolicyList,
    responses=errors(),
    summary="Response policies: which alerts are answered, and how" + _ONLY,
)
async def list_response_policies(request: Request, principal: AnalystDep, services: ServicesDep) -> Response:
    reply = await services.clients.security.ListResponsePolicies(
        security_pb2.ListResponsePoliciesRequest(principal=to_proto(principal))
    )
    return model_response(request, ResponsePolicyList(items=[policy_out(p) for p in reply.policies]))


@router.post(
    "/v1/security/response-policies",
    response_model=ResponsePolicyOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(),
    summary="Create a response policy" + _ONLY,
)
async def create_response_policy(
    body: ResponsePolicyIn, principal: AnalystDep, services: ServicesDep, response: Response
) -> ResponsePolicyOut:
    """Try a new policy with `dry_run` first: its actions are recorded, not carried out."""
    policy = await services.clients.security.PutResponsePolicy(
        security_pb2.PutResponsePolicyRequest(principal=to_proto(principal), policy=policy_wire("", body))
    )
    response.headers["Location"] = f"/v1/security/response-policies/{policy.policy_id}"
    return policy_out(policy)


@router.put(
    "/v1/security/response-policies/{policy_id}",
    response_model=ResponsePolicyOut,
    responses=errors(404),
    summary="Replace a response policy" + _ONLY,
)
async def put_response_policy(
    body: ResponsePolicyIn, principal: AnalystDep, services: ServicesDep, policy_id: PolicyId
) -> ResponsePolicyOut:
    existing = await services.clients.security.ListResponsePolicies(
        security_pb2.ListResponsePoliciesRequest(principal=to_proto(principal))
    )
    if policy_id not in {p.policy_id for p in existing.policies}:
        raise ApiError(404, "not-found", "Not Found", f"response policy {policy_id!r} not found")
    policy = await services.clients.security.PutResponsePolicy(
        security_pb2.PutResponsePolicyRequest(principal=to_proto(principal), policy=policy_wire(policy_id, body))
    )
    return policy_out(policy)


@router.delete(
    "/v1/security/response-policies/{policy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(404),
    summary="Delete a response policy (actions already taken stay until undone)" + _ONLY,
)
async def delete_response_policy(principal: AnalystDep, services: ServicesDep, policy_id: PolicyId) -> Response:
    await services.clients.security.DeleteResponsePolicy(
        security_pb2.DeleteResponsePolicyRequest(principal=to_proto(principal), policy_id=policy_id)
    )
    return Response(status_code=204)


# -- catalogue and inventory ----------------------------------------------------------------------
@router.get(
    "/v1/security/rules",
    response_model=RuleList,
    responses=errors(),
    summary="The detection rules: what each detects, severity, MITRE technique, parameters" + _ONLY,
)
async def list_rules(request: Request, principal: AnalystDep, services: ServicesDep) -> Response:
    reply = await services.clients.security.ListRules(security_pb2.ListRulesRequest(principal=to_proto(principal)))
    return model_response(request, RuleList(items=[rule_out(r) for r in reply.rules]))


@router.get(
    "/v1/security/certificates",
    response_model=CertificateList,
    responses=errors(),
    summary="The certificate inventory: station, CSMS and CA certificates with expiry and revocation" + _ONLY,
)
async def list_certificates(
    request: Request,
    principal: AnalystDep,
    services: ServicesDep,
    kind: Annotated[CertificateKindName | None, Query()] = None,
    station_id: Annotated[str | None, Query(pattern=STATION_ID_PATTERN)] = None,
    expiring_within_days: Annotated[
        int, Query(ge=0, le=3650, description="Only those expiring within (and expired or revoked); 0: all")
    ] = 0,
) -> Response:
    reply = await services.clients.security.ListCertificates(
        security_pb2.ListCertificatesRequest(
            principal=to_proto(principal),
            kind=CERTIFICATE_KIND_VALUES[kind] if kind else 0,  # type: ignore[arg-type]
            station_id=station_id or "",
            expiring_within_days=expiring_within_days,
        )
    )
    out = CertificateList(
        items=[certificate_out(c) for c in reply.certificates],
        scanned_at=when(reply, "scanned_at"),
    )
    return model_response(request, out)
