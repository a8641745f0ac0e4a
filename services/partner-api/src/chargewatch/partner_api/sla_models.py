"""Request and response models of the SLA routes: uptime, forecasts, port states, reports, incidents,
exclusions, site profiles and contracts (the SLA engine's facts, as partners and operators see them).

Durations are minutes (floats, exact to the millisecond: the engine counts milliseconds); times are
RFC 3339 UTC. Request bodies forbid unknown fields, as everywhere in this API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chargewatch.partner_api.models import STATION_ID_PATTERN, TENANT_PATTERN, Strict

# Ids the SLA engine and the security monitor give their objects (incidents, exclusions, contracts,
# alerts, actions, policies): letters, digits and a few separators.
OBJECT_ID_PATTERN = r"^[A-Za-z0-9._:@|\-]{1,128}$"

PeriodName = Literal["month", "quarter", "year", "trailing-12-months"]
UptimeScopeName = Literal["port", "station", "site", "tenant", "operator"]
SeverityName = Literal["info", "low", "medium", "high", "critical"]
IncidentStateName = Literal["open", "acknowledged", "resolved"]
ExclusionCategoryName = Literal[
    "utility_interruption",
    "vehicle_fault",
    "scheduled_maintenance",
    "vandalism",
    "natural_disaster",
    "outside_hours_of_operation",
]
ExclusionStateName = Literal["pending", "approved", "rejected"]
PortAvailabilityName = Literal[
    "unknown", "available", "occupied", "reserved", "faulted", "unavailable", "offline", "degraded"
]
ReportKindName = Literal["uptime", "nevi-quarterly", "kpi", "incidents"]
ReportSectionName = Literal["ports", "outages", "sessions", "months", "kpis", "incidents"]
ContractKindName = Literal["service_provider", "site_host"]
UptimeLevelName = Literal["port", "site"]


class Window(BaseModel):
    start: datetime = Field(description="Inclusive")
    end: datetime = Field(description="Exclusive")


# -- uptime ---------------------------------------------------------------------------------------
class PortUptimeOut(BaseModel):
    station_id: str
    evse_id: int = Field(description="The port: OCPP 2.0.1 EVSE id (1.6 connector id)")
    site_id: str
    tenant_id: str
    uptime_percent: float = Field(examples=[99.82])
    meets_target: bool
    window_minutes: float
    outage_minutes: float = Field(description="T_outage: the port's down minutes in the window")
    excluded_minutes: float = Field(description="T_excluded: down minutes excluded (approved exclusions, hours)")
    first_seen: datetime | None = Field(default=None, description="Measured from its first reported status")


class UptimeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scope": "site",
                    "subject_id": "ams-centraal",
                    "window": {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
                    "uptime_percent": 99.31,
                    "target_percent": 97.0,
                    "meets_target": True,
                    "port_count": 6,
                    "ports_below_target": 0,
                    "min_port_uptime_percent": 98.2,
                    "window_minutes": 8640.0,
                    "outage_minutes": 59.6,
                    "excluded_minutes": 0.0,
                    "ports": [],
                }
            ]
        }
    )
    scope: UptimeScopeName
    subject_id: str = Field(description="The port (STATION/EVSE), station, site or tenant; 'operator' for all")
    window: Window
    uptime_percent: float = Field(
        description="23 CFR 680.116(b) over the window, pooled over the ports (all their port-minutes together)"
    )
    target_percent: float = Field(description="The SLA target (the site profile's, else NEVI's 97%)")
    meets_target: bool
    port_count: int
    ports_below_target: int
    min_port_uptime_percent: float
    window_minutes: float
    outage_minutes: float
    excluded_minutes: float
    ports: list[PortUptimeOut] = Field(description="Per port (empty with ports=false)")


class PortForecastOut(BaseModel):
    station_id: str
    evse_id: int
    site_id: str
    target_percent: float
    period_minutes: float = Field(description="Counted minutes of the whole period")
    allowed_down_minutes: float = Field(description="Down time the target allows over the period")
    used_minutes: float = Field(description="Counted down time so far (T_outage - T_excluded)")
    remaining_minutes: float = Field(description="allowed - used; negative once below target")
    uptime_so_far_percent: float
    projected_uptime_percent: float = Field(description="If the port stays as it is now until the period ends")
    down_now: bool
    at_risk: bool
    message: str = Field(examples=["port CW-A-0001/1 can be down at most 2 h 40 min more this month"])
    breach_at: datetime | None = Field(default=None, description="While down: when the budget runs out")


class ForecastOut(BaseModel):
    period: Window
    at_risk: int = Field(description="Ports with less than the warning share of their budget left")
    ports: list[PortForecastOut]


class PortStateOut(BaseModel):
    station_id: str
    evse_id: int
    tenant_id: str
    site_id: str
    availability: PortAvailabilityName
    up: bool = Field(description="Available, occupied or reserved")
    cause: str | None = Field(default=None, description="The outage cause while down", examples=["offline"])
    since: datetime | None = None
    open_incident_id: str | None = None
    first_seen: datetime | None = None
    updated_at: datetime | None = None


class PortStatePage(BaseModel):
    items: list[PortStateOut]
    total: int
    next_cursor: str | None = None


# -- incidents ----------------------------------------------------------------------------------
class IncidentNoteOut(BaseModel):
    author: str
    action: str = Field(examples=["acknowledge"])
    text: str
    at: datetime | None = None


class IncidentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "inc-3f9c0d1e2b4a5c6d7e8f",
                    "station_id": "CW-A-0001",
                    "evse_id": 1,
                    "site_id": "ams-centraal",
                    "tenant_id": "partner-a",
                    "cause": "faulted:GroundFailure",
                    "causes": ["faulted:GroundFailure"],
                    "severity": "high",
                    "state": "open",
                    "opened_at": "2026-12-01T08:00:00Z",
                    "flaps": 0,
                    "down_minutes": 12.5,
                    "notes": [],
                }
            ]
        }
    )
    id: str
    station_id: str
    evse_id: int
    site_id: str
    tenant_id: str
    cause: str = Field(description="The cause seen first: faulted:<code>, offline, heartbeat_missed, unavailable, ...")
    causes: list[str] = Field(description="Every cause seen during the incident, in order")
    severity: SeverityName
    state: IncidentStateName
    opened_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    restored_at: datetime | None = Field(default=None, description="When the port recovered (unset while down)")
    last_down_at: datetime | None = None
    flaps: int = Field(description="Further outages folded in (began soon after the previous one ended)")
    down_minutes: float
    time_to_acknowledge_minutes: float
    time_to_restore_minutes: float
    notes: list[IncidentNoteOut]


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None = None


class IncidentAction(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "crew dispatched"}]})
    note: str = Field(default="", max_length=2000)


# -- exclusions ---------------------------------------------------------------------------------
class ExclusionCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "station_id": "CW-A-0001",
                    "evse_id": 1,
                    "category": "utility_interruption",
                    "from": "2026-12-01T08:00:00Z",
                    "to": "2026-12-01T09:30:00Z",
                    "evidence": "Grid operator notice 2026-4411: feeder outage 08:00-09:30",
                }
            ]
        },
    )
    station_id: str = Field(pattern=STATION_ID_PATTERN)
    evse_id: int = Field(default=0, ge=0, le=100, description="The port; 0 covers every port of the station")
    category: ExclusionCategoryName
    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")
    evidence: str = Field(
        min_length=1, max_length=4000, description="What documents the cause: a ticket, a utility notice, a report"
    )


class ExclusionOut(BaseModel):
    id: str
    station_id: str
    evse_id: int
    tenant_id: str
    category: ExclusionCategoryName | str
    period: Window
    evidence: str
    state: ExclusionStateName
    declared_by: str | None = None
    declared_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None
    covered_outage_minutes: float = Field(description="Outage minutes of the covered ports inside the period")


class ExclusionPage(BaseModel):
    items: list[ExclusionOut]
    total: int
    next_cursor: str | None = None


class ExclusionReview(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "approve", "note": "notice verified"}]}
    )
    decision: Literal["approve", "reject"]
    note: str = Field(default="", max_length=2000)


# -- site profiles ------------------------------------------------------------------------------
class WeeklyWindowIn(Strict):
    day_of_week: int = Field(ge=0, le=6, description="Monday = 0")
    start_minute: int = Field(ge=0, le=1440)
    end_minute: int = Field(ge=0, le=1440, description="At or before the start: runs past midnight")


class PortPowerIn(Strict):
    station_id: str = Field(pattern=STATION_ID_PATTERN)
    evse_id: int = Field(ge=1, le=100)
    min_power_w: float = Field(ge=0, le=2_000_000)


class SiteProfileIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "partner-a",
                    "name": "Amsterdam Centraal",
                    "timezone": "Europe/Amsterdam",
                    "uptime_target_percent": 98.5,
                    "min_power_w": 50000,
                }
            ]
        },
    )
    tenant_id: str = Field(pattern=TENANT_PATTERN)
    name: str = Field(default="", max_length=120)
    timezone: str = Field(default="UTC", min_length=1, max_length=64)
    hours: list[WeeklyWindowIn] = Field(default_factory=list, max_length=50, description="Empty: open 24/7")
    min_power_w: float = Field(default=0, ge=0, le=2_000_000, description="0: not checked")
    port_min_power: list[PortPowerIn] = Field(default_factory=list, max_length=500)
    uptime_target_percent: float = Field(default=0, ge=0, le=100, description="0: the default (NEVI's 97%)")


class SiteProfileOut(BaseModel):
    site_id: str
    tenant_id: str
    name: str
    timezone: str
    hours: list[WeeklyWindowIn]
    min_power_w: float
    port_min_power: list[PortPowerIn]
    uptime_target_percent: float
    updated_at: datetime | None = None
    updated_by: str | None = None


class SiteProfilePage(BaseModel):
    items: list[SiteProfileOut]
    next_cursor: str | None = None


# -- contracts ----------------------------------------------------------------------------------
class ResponseTargetIn(Strict):
    severity: SeverityName
    acknowledge_minutes: int = Field(default=0, ge=0, le=525_600, description="0: no target")
    restore_minutes: int = Field(default=0, ge=0, le=525_600, description="0: no target")


class CreditTermsIn(Strict):
    monthly_fee: float = Field(default=0, ge=0, le=1e9)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    uptime_credit_percent_per_point: float = Field(default=0, ge=0, le=100)
    uptime_credit_cap_percent: float = Field(default=0, ge=0, le=100)
    acknowledge_breach_amount: float = Field(default=0, ge=0, le=1e9)
    restore_breach_amount: float = Field(default=0, ge=0, le=1e9)
    max_credit_amount: float = Field(default=0, ge=0, le=1e9, description="0: no cap")


class ContractIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Amsterdam maintenance 2027",
                    "tenant_id": "partner-a",
                    "counterparty": "FixIt B.V.",
                    "kind": "service_provider",
                    "site_ids": ["ams-centraal"],
                    "uptime_target_percent": 98,
                    "response_targets": [{"severity": "high", "acknowledge_minutes": 30, "restore_minutes": 240}],
                    "credit": {"monthly_fee": 1000, "currency": "EUR", "uptime_credit_percent_per_point": 10},
                }
            ]
        },
    )
    name: str = Field(min_length=1, max_length=120)
    tenant_id: str = Field(pattern=TENANT_PATTERN, description="The counterparty's tenant: it may read the contract")
    counterparty: str = Field(default="", max_length=120)
    kind: ContractKindName = "service_provider"
    site_ids: list[str] = Field(default_factory=list, max_length=500)
    station_ids: list[str] = Field(default_factory=list, max_length=5000)
    uptime_target_percent: float = Field(default=97, gt=0, le=100)
    uptime_level: UptimeLevelName = Field(default="port", description="port: every port; site: each site pooled")
    response_targets: list[ResponseTargetIn] = Field(default_factory=list, max_length=5)
    maintenance_windows: list[WeeklyWindowIn] = Field(default_factory=list, max_length=50)
    business_hours: list[WeeklyWindowIn] = Field(default_factory=list, max_length=50)
    timezone: str = Field(default="UTC", min_length=1, max_length=64)
    restore_in_business_hours: bool = False
    credit: CreditTermsIn = Field(default_factory=CreditTermsIn)
    effective_from: AwareDatetime | None = None
    effective_to: AwareDatetime | None = None


class ContractOut(BaseModel):
    id: str
    name: str
    tenant_id: str
    counterparty: str
    kind: ContractKindName | str
    site_ids: list[str]
    station_ids: list[str]
    uptime_target_percent: float
    uptime_level: UptimeLevelName | str
    response_targets: list[ResponseTargetIn]
    maintenance_windows: list[WeeklyWindowIn]
    business_hours: list[WeeklyWindowIn]
    timezone: str
    restore_in_business_hours: bool
    credit: CreditTermsIn
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


class ContractPage(BaseModel):
    items: list[ContractOut]
    next_cursor: str | None = None


class ContractBreachOut(BaseModel):
    kind: str = Field(examples=["uptime"], description="uptime, acknowledge or restore")
    subject: str = Field(description="A port (STATION/EVSE), a site or an incident id")
    measured: float
    limit: float
    unit: str = Field(examples=["percent"])
    amount: float
    severity: SeverityName | None = None
    detail: str


class ContractSubjectOut(BaseModel):
    subject: str
    uptime_percent: float
    window_minutes: float
    outage_minutes: float
    excluded_minutes: float
    meets_target: bool


class ContractEvaluationOut(BaseModel):
    contract: ContractOut
    window: Window
    breaches: list[ContractBreachOut]
    subjects: list[ContractSubjectOut]
    total_credit: float
    currency: str
    capped: bool
    incidents_evaluated: int


ReportDocument = dict[str, Any]
