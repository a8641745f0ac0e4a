"""gRPC `Security`: alerts, incidents, risk, rules, profiles, certificates and responses.

The caller is the Principal the partner API forwards (as for telemetry): operator-wide roles see every
tenant; a partner only its tenant's objects, and another tenant's object is answered exactly like a
missing one (NOT_FOUND, or left out of a list). Changes need the operator or security-analyst role.
Input is checked here; domain errors become status codes in one place (`_guard`).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final, NoReturn, TypeVar

import grpc

from chargewatch.mongo import Document
from chargewatch.rpc import ServicerContext
from chargewatch.security_monitor import risk
from chargewatch.security_monitor.alerts import AlertBook, AlertNotFound, InvalidTransition
from chargewatch.security_monitor.anomaly import FeatureModel
from chargewatch.security_monitor.catalogue import RULES, Parameters
from chargewatch.security_monitor.certificates import certificate_message
from chargewatch.security_monitor.engine import DetectionEngine
from chargewatch.security_monitor.model import SUBJECT_KINDS
from chargewatch.security_monitor.profiles import StationProfile
from chargewatch.security_monitor.responses import (
    ActionNotFound,
    CannotUndo,
    PolicyNotFound,
    PolicyStore,
    ResponseEngine,
    ResponseFailed,
)
from chargewatch.security_monitor.store import (
    OPEN_STATES,
    Collections,
    action_message,
    alert_detail,
    alert_message,
    incident_message,
)
from chargewatch.v1 import common_pb2, events_pb2, security_pb2, security_pb2_grpc

T = TypeVar("T")

OPERATOR_WIDE: Final = frozenset({"operator", "sre", "security-analyst"})
CHANGERS: Final = frozenset({"operator", "security-analyst"})
DEFAULT_PAGE: Final = 50
MAX_PAGE: Final = 500
MAX_ID: Final = 128
MAX_NOTE: Final = 500


class Denied(Exception):
    """The principal may not do this; the message is safe to return."""


class NotFound(Exception):
    """Missing, or outside the caller's tenant (the same answer, on purpose)."""


def scope(principal: common_pb2.Principal) -> str | None:
    """The tenant a principal is confined to; None for operator-wide roles."""
    if OPERATOR_WIDE.intersection(principal.roles):
        return None
    if principal.tenant_id:
        return principal.tenant_id
    raise Denied("the caller has neither a tenant nor an operator-wide role")


def require_changer(principal: common_pb2.Principal) -> str:
    """Changes need the operator or security-analyst role; returns how the audit names the caller."""
    if not CHANGERS.intersection(principal.roles):
        raise Denied("this needs the operator or security-analyst role")
    return principal.subject or principal.client_id or "unknown"


def check_id(value: str, name: str, *, required: bool = True) -> str:
    if required and not value:
        raise ValueError(f"{name} is required")
    if len(value) > MAX_ID or any(ord(ch) < 32 for ch in value):
        raise ValueError(f"{name} must be at most {MAX_ID} printable characters")
    return value


def check_note(value: str) -> str:
    if len(value) > MAX_NOTE:
        raise ValueError(f"note is at most {MAX_NOTE} characters")
    return value


def page_size(page: common_pb2.PageRequest) -> int:
    size = page.page_size or DEFAULT_PAGE
    if size > MAX_PAGE:
        raise ValueError(f"page_size must be at most {MAX_PAGE}")
    return size


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> str:
    if not token:
        return ""
    try:
        value = base64.b64decode((token + "=" * (-len(token) % 4)).encode(), altchars=b"-_", validate=True).decode()
        if not value:
            raise ValueError("empty cursor")
        return value
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("page_token is not a cursor this service issued") from exc


def time_filter(time_range: common_pb2.TimeRange, field: str) -> Document:
    condition: Document = {}
    if time_range.HasField("start"):
        condition["$gte"] = time_range.start.ToDatetime(UTC)
    if time_range.HasField("end"):
        condition["$lt"] = time_range.end.ToDatetime(UTC)
    if "$gte" in condition and "$lt" in condition and condition["$gte"] >= condition["$lt"]:
        raise ValueError("range.start must be before range.end")
    return {field: condition} if condition else {}


def _visible(doc: Document | None, tenant: str | None) -> Document:
    if doc is None or (tenant is not None and doc.get("tenant_id") != tenant):
        raise NotFound()
    return doc


class SecurityServicer(security_pb2_grpc.SecurityServicer):
    def __init__(
        self,
        collections: Collections,
        alerts: AlertBook,
        policies: PolicyStore,
        responses: ResponseEngine,
        parameters: Parameters,
        *,
        disabled_rules: frozenset[str] = frozenset(),
        live_engine: Callable[[], DetectionEngine | None] = lambda: None,
    ) -> None:
        self.c = collections
        self.alerts = alerts
        self.policies = policies
        self.responses = responses
        self.parameters = parameters
        self.disabled_rules = disabled_rules
        self.live_engine = live_engine

    async def _guard(self, context: ServicerContext, body: Callable[[], Awaitable[T]]) -> T:
        try:
            return await body()
        except Denied as exc:
            await self._abort(context, grpc.StatusCode.PERMISSION_DENIED, str(exc))
        except (NotFound, AlertNotFound, ActionNotFound, PolicyNotFound):
            await self._abort(context, grpc.StatusCode.NOT_FOUND, "not found")
        except (InvalidTransition, CannotUndo) as exc:
            await self._abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except ResponseFailed as exc:
            await self._abort(context, grpc.StatusCode.UNAVAILABLE, str(exc))
        except ValueError as exc:
            await self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))

    @staticmethod
    async def _abort(context: ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
        await context.abort(code, message)
        raise AssertionError("unreachable: abort raises")

    # -- alerts -----------------------------------------------------------------------------------------
    async def _alert(self, principal: common_pb2.Principal, alert_id: str) -> Document:
        tenant = scope(principal)
        check_id(alert_id, "alert_id")
        return _visible(await self.c.alerts.find_one({"_id": alert_id}), tenant)

    async def ListAlerts(
        self, request: security_pb2.ListAlertsRequest, context: ServicerContext
    ) -> security_pb2.ListAlertsResponse:
        async def body() -> security_pb2.ListAlertsResponse:
            tenant = scope(request.principal)
            query: Document = {}
            if tenant is not None:
                query["tenant_id"] = tenant
            if request.station_id:
                query["station_ids"] = check_id(request.station_id, "station_id")
            if request.state:
                if request.state not in events_pb2.AlertState.values():
                    raise ValueError("state is not an alert state")
                query["state"] = int(request.state)
            if request.min_severity:
                query["severity"] = {"$gte": int(request.min_severity)}
            if request.rule:
                query["rule"] = check_id(request.rule, "rule")
            if request.subject_kind:
                if request.subject_kind not in SUBJECT_KINDS:
                    raise ValueError(f"subject_kind must be one of {', '.join(sorted(SUBJECT_KINDS))}")
                query["subject_kind"] = request.subject_kind
            if request.subject_id:
                query["subject_id"] = check_id(request.subject_id, "subject_id")
            if request.incident_id:
                query["incident_id"] = check_id(request.incident_id, "incident_id")
            query.update(time_filter(request.range, "raised_at"))
            docs, token, total = await _newest_first(self.c.alerts, query, request.page)
            return security_pb2.ListAlertsResponse(
                alerts=[alert_message(d) for d in docs],
                page=common_pb2.PageResponse(next_page_token=token, total_size=total),
            )

        return await self._guard(context, body)

    async def GetAlert(self, request: security_pb2.GetAlertRequest, context: ServicerContext) -> events_pb2.Alert:
        async def body() -> events_pb2.Alert:
            return alert_message(await self._alert(request.principal, request.alert_id))

        return await self._guard(context, body)

    async def GetAlertDetail(
        self, request: security_pb2.GetAlertRequest, context: ServicerContext
    ) -> security_pb2.AlertDetail:
        async def body() -> security_pb2.AlertDetail:
            doc = await self._alert(request.principal, request.alert_id)
            actions = [a async for a in self.c.actions.find({"alert_id": doc["_id"]}).sort("created_at", 1)]
            return alert_detail(doc, actions)

        return await self._guard(context, body)

    async def AcknowledgeAlert(
        self, request: security_pb2.AlertActionRequest, context: ServicerContext
    ) -> events_pb2.Alert:
        async def body() -> events_pb2.Alert:
            await self._alert(request.principal, request.alert_id)
            actor = require_changer(request.principal)
            doc = await self.alerts.transition(
                request.alert_id, events_pb2.ALERT_STATE_ACKNOWLEDGED, by=actor, note=check_note(request.note)
            )
            await self.c.record_audit("alert.acknowledged", request.alert_id, actor, note=request.note)
            return alert_message(doc)

        return await self._guard(context, body)

    async def ResolveAlert(
        self, request: security_pb2.AlertActionRequest, context: ServicerContext
    ) -> events_pb2.Alert:
        async def body() -> events_pb2.Alert:
            await self._alert(request.principal, request.alert_id)
            actor = require_changer(request.principal)
            return alert_message(
                await self._resolve(request.alert_id, actor, check_note(request.note), request.false_positive)
            )

        return await self._guard(context, body)

    async def _resolve(self, alert_id: str, actor: str, note: str, false_positive: bool) -> Document:
        state = events_pb2.ALERT_STATE_FALSE_POSITIVE if false_positive else events_pb2.ALERT_STATE_RESOLVED
        doc = await self.alerts.transition(alert_id, state, by=actor, note=note)
        await self.c.record_audit(
            "alert.false_positive" if false_positive else "alert.resolved", alert_id, actor, note=note
        )
        if false_positive:
            # The responses it caused were mistakes too.
            await self.responses.undo_for_alert(alert_id, actor=actor, reason=f"false positive: {note}"[:200])
        return doc

    # -- incidents --------------------------------------------------------------------------------------
    async def ListSecurityIncidents(
        self, request: security_pb2.ListSecurityIncidentsRequest, context: ServicerContext
    ) -> security_pb2.ListSecurityIncidentsResponse:
        async def body() -> security_pb2.ListSecurityIncidentsResponse:
            tenant = scope(request.principal)
            query: Document = {}
            if tenant is not None:
                query["tenant_id"] = tenant
            if request.subject_kind:
                if request.subject_kind not in SUBJECT_KINDS:
                    raise ValueError(f"subject_kind must be one of {', '.join(sorted(SUBJECT_KINDS))}")
                query["subject_kind"] = request.subject_kind
            if request.subject_id:
                query["subject_id"] = check_id(request.subject_id, "subject_id")
            if request.state:
                query["state"] = int(request.state)
            if request.min_severity:
                query["severity"] = {"$gte": int(request.min_severity)}
            query.update(time_filter(request.range, "opened_at"))
            docs, token, total = await _newest_first(self.c.incidents, query, request.page)
            return security_pb2.ListSecurityIncidentsResponse(
                incidents=[incident_message(d) for d in docs],
                page=common_pb2.PageResponse(next_page_token=token, total_size=total),
            )

        return await self._guard(context, body)

    async def GetSecurityIncident(
        self, request: security_pb2.GetSecurityIncidentRequest, context: ServicerContext
    ) -> security_pb2.SecurityIncident:
        async def body() -> security_pb2.SecurityIncident:
            tenant = scope(request.principal)
            check_id(request.incident_id, "incident_id")
            return incident_message(_visible(await self.c.incidents.find_one({"_id": request.incident_id}), tenant))

        return await self._guard(context, body)

    async def ResolveSecurityIncident(
        self, request: security_pb2.SecurityIncidentActionRequest, context: ServicerContext
    ) -> security_pb2.SecurityIncident:
        async def body() -> security_pb2.SecurityIncident:
            tenant = scope(request.principal)
            check_id(request.incident_id, "incident_id")
            _visible(await self.c.incidents.find_one({"_id": request.incident_id}), tenant)
            actor = require_changer(request.principal)
            note = check_note(request.note)
            async for doc in self.c.alerts.find(
                {"incident_id": request.incident_id, "state": {"$in": list(OPEN_STATES)}}
            ):
                await self._resolve(doc["_id"], actor, note, request.false_positive)
            incident = await self.alerts.refresh_incident(request.incident_id)
            if incident is None:
                raise NotFound()
            return incident_message(incident)

        return await self._guard(context, body)

    # -- risk -------------------------------------------------------------------------------------------
    async def _station_tenant(self, station_id: str) -> str:
        profile = await self.c.profiles.find_one({"_id": station_id}, {"tenant_id": 1})
        return str((profile or {}).get("tenant_id") or "")

    async def GetRiskScore(
        self, request: security_pb2.GetRiskScoreRequest, context: ServicerContext
    ) -> security_pb2.RiskScore:
        async def body() -> security_pb2.RiskScore:
            tenant = scope(request.principal)
            station_id = check_id(request.station_id, "station_id")
            station_tenant = await self._station_tenant(station_id)
            if tenant is not None and station_tenant != tenant:
                raise NotFound()
            alerts = [
                d async for d in self.c.alerts.find({"station_ids": station_id, "state": {"$in": list(OPEN_STATES)}})
            ]
            anomaly = await self._anomaly_scores({"_id": station_id})
            found = risk.station_risks(alerts, anomaly).get(station_id, risk.StationRisk(station_id))
            return self._risk_message(found, station_tenant)

        return await self._guard(context, body)

    async def _anomaly_scores(self, query: Document) -> dict[str, float]:
        engine = self.live_engine()
        out: dict[str, float] = {}
        async for doc in self.c.profiles.find({**query, "kind": "station"}, {"anomaly_score": 1}):
            if doc.get("anomaly_score"):
                out[doc["_id"]] = float(doc["anomaly_score"])
        if engine is not None:
            for station_id in list(out):
                profile = engine.stations.get(station_id)
                if profile is not None:
                    out[station_id] = profile.anomaly_score
        return out

    @staticmethod
    def _risk_message(found: risk.StationRisk, tenant: str) -> security_pb2.RiskScore:
        message = security_pb2.RiskScore(
            station_id=found.station_id,
            score=found.score,
            contributing_alert_ids=found.alert_ids,
            highest_severity=found.highest,  # type: ignore[arg-type]
            open_alerts=len(found.alert_ids),
            anomaly_score=found.anomaly_score,
            tenant_id=tenant or found.tenant_id,
        )
        message.computed_at.FromDatetime(datetime.now(UTC))
        return message

    async def ListRiskScores(
        self, request: security_pb2.ListRiskScoresRequest, context: ServicerContext
    ) -> security_pb2.ListRiskScoresResponse:
        async def body() -> security_pb2.ListRiskScoresResponse:
            tenant = scope(request.principal)
            limit = request.limit or DEFAULT_PAGE
            if limit > MAX_PAGE:
                raise ValueError(f"limit must be at most {MAX_PAGE}")
            if not math.isfinite(request.min_score) or request.min_score < 0:
                raise ValueError("min_score must be a number >= 0")
            query: Document = {"state": {"$in": list(OPEN_STATES)}}
            profile_query: Document = {}
            if tenant is not None:
                query["tenant_id"] = tenant
                profile_query["tenant_id"] = tenant
            alerts = [d async for d in self.c.alerts.find(query)]
            tenants = {
                d["_id"]: str(d.get("tenant_id") or "")
                async for d in self.c.profiles.find({**profile_query, "kind": "station"}, {"tenant_id": 1})
            }
            risks = risk.station_risks(alerts, await self._anomaly_scores(profile_query))
            ranked = sorted(
                (r for r in risks.values() if r.score >= request.min_score and r.score > 0),
                key=lambda r: -r.score,
            )
            if tenant is not None:
                ranked = [r for r in ranked if tenants.get(r.station_id) == tenant]
            return security_pb2.ListRiskScoresResponse(
                scores=[self._risk_message(r, tenants.get(r.station_id, "")) for r in ranked[:limit]]
            )

        return await self._guard(context, body)

    # -- rules and profiles -----------------------------------------------------------------------------
    async def ListRules(
        self, request: security_pb2.ListRulesRequest, context: ServicerContext
    ) -> security_pb2.ListRulesResponse:
        async def body() -> security_pb2.ListRulesResponse:
            scope(request.principal)
            out = security_pb2.ListRulesResponse()
            for rule in RULES:
                out.rules.append(
                    security_pb2.DetectionRule(
                        rule_id=rule.rule_id,
                        title=rule.title,
                        description=rule.description,
                        severity=rule.severity,  # type: ignore[arg-type]
                        mitre_technique=rule.mitre_technique,
                        mitre_name=rule.mitre_name,
                        category=rule.category,
                        inputs=list(rule.inputs),
                        enabled=rule.rule_id not in self.disabled_rules,
                        parameters=[
                            security_pb2.DetectionRuleParameter(
                                name=p.name, value=self.parameters[p.name], description=p.description
                            )
                            for p in rule.parameters
                        ],
                    )
                )
            return out

        return await self._guard(context, body)

    async def GetStationProfile(
        self, request: security_pb2.GetStationProfileRequest, context: ServicerContext
    ) -> security_pb2.StationSecurityProfile:
        async def body() -> security_pb2.StationSecurityProfile:
            tenant = scope(request.principal)
            station_id = check_id(request.station_id, "station_id")
            engine = self.live_engine()
            profile = engine.stations.get(station_id) if engine is not None else None
            if profile is None:
                doc = await self.c.profiles.find_one({"_id": station_id, "kind": "station"})
                if doc is None:
                    raise NotFound()
                profile = StationProfile.from_document(doc, self.parameters["anomaly_alpha"])
            if tenant is not None and profile.tenant_id != tenant:
                raise NotFound()
            return self._profile_message(profile)

        return await self._guard(context, body)

    def _profile_message(self, profile: StationProfile) -> security_pb2.StationSecurityProfile:
        warmup = self.parameters["anomaly_warmup_windows"]
        model: FeatureModel | None = profile.window
        message = security_pb2.StationSecurityProfile(
            station_id=profile.station_id,
            tenant_id=profile.tenant_id,
            known_addresses=sorted(profile.addresses),
            known_certificates=sorted(profile.certificates),
            firmware_version=profile.firmware_version,
            security_profile=profile.security_profile,  # type: ignore[arg-type]
            windows_learned=model.learned if model else 0,
            warmed_up=bool(model and model.learned >= warmup),
            anomaly_score=profile.anomaly_score,
            anomaly_window_seconds=int(self.parameters["anomaly_window_seconds"]),
        )
        for name, value in (("first_seen", profile.first_seen), ("last_seen", profile.last_seen)):
            if value:
                getattr(message, name).FromNanoseconds(int(value * 1e9))
        if model is not None:
            last = {f.name: f for f in model.last.features} if model.last else {}
            for name, mean, std in model.baselines():
                feature = last.get(name)
                message.features.append(
                    security_pb2.FeatureBaseline(
                        name=name,
                        mean=mean,
                        stddev=std,
                        last_value=feature.value if feature else 0.0,
                        last_score=feature.score if feature else 0.0,
                    )
                )
        return message

    # -- certificates -----------------------------------------------------------------------------------
    async def ListCertificates(
        self, request: security_pb2.ListCertificatesRequest, context: ServicerContext
    ) -> security_pb2.ListCertificatesResponse:
        async def body() -> security_pb2.ListCertificatesResponse:
            tenant = scope(request.principal)
            query: Document = {}
            if tenant is not None:
                # A partner sees its stations' own certificates; the CSMS chain is the operator's.
                query["tenant_id"] = tenant
                query["kind"] = security_pb2.CERTIFICATE_KIND_STATION_CLIENT
            if request.kind:
                if request.kind not in security_pb2.CertificateKind.values():
                    raise ValueError("kind is not a certificate kind")
                if "kind" in query and query["kind"] != request.kind:
                    return security_pb2.ListCertificatesResponse()
                query["kind"] = int(request.kind)
            if request.station_id:
                query["station_ids"] = check_id(request.station_id, "station_id")
            now = datetime.now(UTC)
            docs = [d async for d in self.c.certificates.find(query).sort("not_after", 1).limit(MAX_PAGE * 10)]
            out = security_pb2.ListCertificatesResponse()
            scanned: datetime | None = None
            for doc in docs:
                message = certificate_message(doc, now)
                if doc.get("scanned_at") is not None:
                    scanned = doc["scanned_at"] if scanned is None else max(scanned, doc["scanned_at"])
                if (
                    request.expiring_within_days
                    and message.status == security_pb2.CERTIFICATE_STATUS_VALID
                    and message.days_remaining > request.expiring_within_days
                ):
                    continue
                out.certificates.append(message)
            if scanned is not None:
                out.scanned_at.FromDatetime(scanned)
            return out

        return await self._guard(context, body)

    # -- responses --------------------------------------------------------------------------------------
    async def PutResponsePolicy(
        self, request: security_pb2.PutResponsePolicyRequest, context: ServicerContext
    ) -> security_pb2.ResponsePolicy:
        async def body() -> security_pb2.ResponsePolicy:
            actor = require_changer(request.principal)
            if request.policy.policy_id:
                check_id(request.policy.policy_id, "policy_id")
            return (await self.policies.put(request.policy, actor)).message()

        return await self._guard(context, body)

    async def ListResponsePolicies(
        self, request: security_pb2.ListResponsePoliciesRequest, context: ServicerContext
    ) -> security_pb2.ListResponsePoliciesResponse:
        async def body() -> security_pb2.ListResponsePoliciesResponse:
            if scope(request.principal) is not None:
                raise Denied("response policies are visible to operator-wide roles only")
            await self.policies.reload()
            return security_pb2.ListResponsePoliciesResponse(policies=[p.message() for p in self.policies.policies])

        return await self._guard(context, body)

    async def DeleteResponsePolicy(
        self, request: security_pb2.DeleteResponsePolicyRequest, context: ServicerContext
    ) -> security_pb2.DeleteResponsePolicyResponse:
        async def body() -> security_pb2.DeleteResponsePolicyResponse:
            actor = require_changer(request.principal)
            await self.policies.delete(check_id(request.policy_id, "policy_id"), actor)
            return security_pb2.DeleteResponsePolicyResponse()

        return await self._guard(context, body)

    async def RespondToAlert(
        self, request: security_pb2.RespondToAlertRequest, context: ServicerContext
    ) -> security_pb2.RespondToAlertResponse:
        async def body() -> security_pb2.RespondToAlertResponse:
            alert = await self._alert(request.principal, request.alert_id)
            actor = require_changer(request.principal)
            if alert.get("state") not in OPEN_STATES and not request.dry_run:
                raise InvalidTransition("the alert is closed; respond to an open alert (or dry run)")
            if request.duration_seconds > 366 * 86_400:
                raise ValueError("duration_seconds is at most a year")
            docs = await self.responses.respond(
                alert,
                list(request.actions),
                actor=actor,
                dry_run=request.dry_run,
                mode=request.quarantine_mode,
                duration_seconds=request.duration_seconds,
                reason=check_note(request.reason),
            )
            return security_pb2.RespondToAlertResponse(actions=[action_message(d) for d in docs])

        return await self._guard(context, body)

    async def ListResponseActions(
        self, request: security_pb2.ListResponseActionsRequest, context: ServicerContext
    ) -> security_pb2.ListResponseActionsResponse:
        async def body() -> security_pb2.ListResponseActionsResponse:
            tenant = scope(request.principal)
            query: Document = {}
            if tenant is not None:
                query["tenant_id"] = tenant
            if request.alert_id:
                query["alert_id"] = check_id(request.alert_id, "alert_id")
            if request.subject_id:
                query["subject_id"] = check_id(request.subject_id, "subject_id")
            if request.state:
                query["state"] = int(request.state)
            limit = page_size(request.page)
            offset_text = decode_cursor(request.page.page_token)
            try:
                offset = int(offset_text or 0)
            except ValueError as exc:
                raise ValueError("page_token is not a cursor this service issued") from exc
            total = await self.c.actions.count_documents(query)
            cursor = self.c.actions.find(query).sort([("created_at", -1), ("_id", 1)]).skip(offset).limit(limit)
            docs = [d async for d in cursor]
            token = encode_cursor(str(offset + limit)) if offset + limit < total else ""
            return security_pb2.ListResponseActionsResponse(
                actions=[action_message(d) for d in docs],
                page=common_pb2.PageResponse(next_page_token=token, total_size=total),
            )

        return await self._guard(context, body)

    async def UndoResponseAction(
        self, request: security_pb2.UndoResponseActionRequest, context: ServicerContext
    ) -> security_pb2.ResponseAction:
        async def body() -> security_pb2.ResponseAction:
            actor = require_changer(request.principal)
            check_id(request.action_id, "action_id")
            doc = await self.responses.undo(request.action_id, actor=actor, reason=check_note(request.reason))
            return action_message(doc)

        return await self._guard(context, body)


async def _newest_first(
    collection: Any, query: dict[str, Any], page: common_pb2.PageRequest
) -> tuple[list[Any], str, int]:
    """One page of `query`'s matches, newest `_id` first, after the page token; with the next token and the
    total count of matches."""
    limit = page_size(page)
    total = await collection.count_documents(query)
    after = decode_cursor(page.page_token)
    if after:
        query = {**query, "_id": {"$lt": after}}
    docs = [d async for d in collection.find(query).sort("_id", -1).limit(limit)]
    return docs, encode_cursor(docs[-1]["_id"]) if len(docs) == limit else "", total
