import datetime

from chargewatch.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UptimeScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPTIME_SCOPE_UNSPECIFIED: _ClassVar[UptimeScope]
    UPTIME_SCOPE_PORT: _ClassVar[UptimeScope]
    UPTIME_SCOPE_STATION: _ClassVar[UptimeScope]
    UPTIME_SCOPE_SITE: _ClassVar[UptimeScope]
    UPTIME_SCOPE_TENANT: _ClassVar[UptimeScope]
    UPTIME_SCOPE_OPERATOR: _ClassVar[UptimeScope]

class PeriodKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERIOD_KIND_UNSPECIFIED: _ClassVar[PeriodKind]
    PERIOD_KIND_MONTH: _ClassVar[PeriodKind]
    PERIOD_KIND_QUARTER: _ClassVar[PeriodKind]
    PERIOD_KIND_YEAR: _ClassVar[PeriodKind]
    PERIOD_KIND_TRAILING_12_MONTHS: _ClassVar[PeriodKind]

class IncidentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INCIDENT_STATE_UNSPECIFIED: _ClassVar[IncidentState]
    INCIDENT_STATE_OPEN: _ClassVar[IncidentState]
    INCIDENT_STATE_ACKNOWLEDGED: _ClassVar[IncidentState]
    INCIDENT_STATE_RESOLVED: _ClassVar[IncidentState]

class ExclusionCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCLUSION_CATEGORY_UNSPECIFIED: _ClassVar[ExclusionCategory]
    EXCLUSION_CATEGORY_UTILITY_INTERRUPTION: _ClassVar[ExclusionCategory]
    EXCLUSION_CATEGORY_VEHICLE_FAULT: _ClassVar[ExclusionCategory]
    EXCLUSION_CATEGORY_SCHEDULED_MAINTENANCE: _ClassVar[ExclusionCategory]
    EXCLUSION_CATEGORY_VANDALISM: _ClassVar[ExclusionCategory]
    EXCLUSION_CATEGORY_NATURAL_DISASTER: _ClassVar[ExclusionCategory]
    EXCLUSION_CATEGORY_OUTSIDE_HOURS_OF_OPERATION: _ClassVar[ExclusionCategory]

class ExclusionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCLUSION_STATE_UNSPECIFIED: _ClassVar[ExclusionState]
    EXCLUSION_STATE_PENDING: _ClassVar[ExclusionState]
    EXCLUSION_STATE_APPROVED: _ClassVar[ExclusionState]
    EXCLUSION_STATE_REJECTED: _ClassVar[ExclusionState]

class PortAvailability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PORT_AVAILABILITY_UNKNOWN: _ClassVar[PortAvailability]
    PORT_AVAILABILITY_AVAILABLE: _ClassVar[PortAvailability]
    PORT_AVAILABILITY_OCCUPIED: _ClassVar[PortAvailability]
    PORT_AVAILABILITY_RESERVED: _ClassVar[PortAvailability]
    PORT_AVAILABILITY_FAULTED: _ClassVar[PortAvailability]
    PORT_AVAILABILITY_UNAVAILABLE: _ClassVar[PortAvailability]
    PORT_AVAILABILITY_OFFLINE: _ClassVar[PortAvailability]
    PORT_AVAILABILITY_DEGRADED: _ClassVar[PortAvailability]

class ReportKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_KIND_UNSPECIFIED: _ClassVar[ReportKind]
    REPORT_KIND_UPTIME: _ClassVar[ReportKind]
    REPORT_KIND_NEVI_QUARTERLY: _ClassVar[ReportKind]
    REPORT_KIND_KPI: _ClassVar[ReportKind]
    REPORT_KIND_INCIDENTS: _ClassVar[ReportKind]

class ReportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_FORMAT_UNSPECIFIED: _ClassVar[ReportFormat]
    REPORT_FORMAT_JSON: _ClassVar[ReportFormat]
    REPORT_FORMAT_CSV: _ClassVar[ReportFormat]

class ContractKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTRACT_KIND_UNSPECIFIED: _ClassVar[ContractKind]
    CONTRACT_KIND_SERVICE_PROVIDER: _ClassVar[ContractKind]
    CONTRACT_KIND_SITE_HOST: _ClassVar[ContractKind]

class UptimeLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPTIME_LEVEL_UNSPECIFIED: _ClassVar[UptimeLevel]
    UPTIME_LEVEL_PORT: _ClassVar[UptimeLevel]
    UPTIME_LEVEL_SITE: _ClassVar[UptimeLevel]
UPTIME_SCOPE_UNSPECIFIED: UptimeScope
UPTIME_SCOPE_PORT: UptimeScope
UPTIME_SCOPE_STATION: UptimeScope
UPTIME_SCOPE_SITE: UptimeScope
UPTIME_SCOPE_TENANT: UptimeScope
UPTIME_SCOPE_OPERATOR: UptimeScope
PERIOD_KIND_UNSPECIFIED: PeriodKind
PERIOD_KIND_MONTH: PeriodKind
PERIOD_KIND_QUARTER: PeriodKind
PERIOD_KIND_YEAR: PeriodKind
PERIOD_KIND_TRAILING_12_MONTHS: PeriodKind
INCIDENT_STATE_UNSPECIFIED: IncidentState
INCIDENT_STATE_OPEN: IncidentState
INCIDENT_STATE_ACKNOWLEDGED: IncidentState
INCIDENT_STATE_RESOLVED: IncidentState
EXCLUSION_CATEGORY_UNSPECIFIED: ExclusionCategory
EXCLUSION_CATEGORY_UTILITY_INTERRUPTION: ExclusionCategory
EXCLUSION_CATEGORY_VEHICLE_FAULT: ExclusionCategory
EXCLUSION_CATEGORY_SCHEDULED_MAINTENANCE: ExclusionCategory
EXCLUSION_CATEGORY_VANDALISM: ExclusionCategory
EXCLUSION_CATEGORY_NATURAL_DISASTER: ExclusionCategory
EXCLUSION_CATEGORY_OUTSIDE_HOURS_OF_OPERATION: ExclusionCategory
EXCLUSION_STATE_UNSPECIFIED: ExclusionState
EXCLUSION_STATE_PENDING: ExclusionState
EXCLUSION_STATE_APPROVED: ExclusionState
EXCLUSION_STATE_REJECTED: ExclusionState
PORT_AVAILABILITY_UNKNOWN: PortAvailability
PORT_AVAILABILITY_AVAILABLE: PortAvailability
PORT_AVAILABILITY_OCCUPIED: PortAvailability
PORT_AVAILABILITY_RESERVED: PortAvailability
PORT_AVAILABILITY_FAULTED: PortAvailability
PORT_AVAILABILITY_UNAVAILABLE: PortAvailability
PORT_AVAILABILITY_OFFLINE: PortAvailability
PORT_AVAILABILITY_DEGRADED: PortAvailability
REPORT_KIND_UNSPECIFIED: ReportKind
REPORT_KIND_UPTIME: ReportKind
REPORT_KIND_NEVI_QUARTERLY: ReportKind
REPORT_KIND_KPI: ReportKind
REPORT_KIND_INCIDENTS: ReportKind
REPORT_FORMAT_UNSPECIFIED: ReportFormat
REPORT_FORMAT_JSON: ReportFormat
REPORT_FORMAT_CSV: ReportFormat
CONTRACT_KIND_UNSPECIFIED: ContractKind
CONTRACT_KIND_SERVICE_PROVIDER: ContractKind
CONTRACT_KIND_SITE_HOST: ContractKind
UPTIME_LEVEL_UNSPECIFIED: UptimeLevel
UPTIME_LEVEL_PORT: UptimeLevel
UPTIME_LEVEL_SITE: UptimeLevel

class Period(_message.Message):
    __slots__ = ("kind", "at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    kind: PeriodKind
    at: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[PeriodKind, str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetUptimeRequest(_message.Message):
    __slots__ = ("principal", "scope", "subject_id", "port", "window", "period", "omit_ports")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    OMIT_PORTS_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    scope: UptimeScope
    subject_id: str
    port: _common_pb2.ConnectorRef
    window: _common_pb2.TimeRange
    period: Period
    omit_ports: bool
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., scope: _Optional[_Union[UptimeScope, str]] = ..., subject_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., window: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., period: _Optional[_Union[Period, _Mapping]] = ..., omit_ports: _Optional[bool] = ...) -> None: ...

class PortUptime(_message.Message):
    __slots__ = ("port", "uptime_percent", "window_minutes", "outage_minutes", "excluded_minutes", "window_ms", "outage_ms", "excluded_ms", "site_id", "tenant_id", "meets_target", "first_seen")
    PORT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_PERCENT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MINUTES_FIELD_NUMBER: _ClassVar[int]
    OUTAGE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_MINUTES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    OUTAGE_MS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_MS_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MEETS_TARGET_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    port: _common_pb2.ConnectorRef
    uptime_percent: float
    window_minutes: int
    outage_minutes: int
    excluded_minutes: int
    window_ms: int
    outage_ms: int
    excluded_ms: int
    site_id: str
    tenant_id: str
    meets_target: bool
    first_seen: _timestamp_pb2.Timestamp
    def __init__(self, port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., uptime_percent: _Optional[float] = ..., window_minutes: _Optional[int] = ..., outage_minutes: _Optional[int] = ..., excluded_minutes: _Optional[int] = ..., window_ms: _Optional[int] = ..., outage_ms: _Optional[int] = ..., excluded_ms: _Optional[int] = ..., site_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., meets_target: _Optional[bool] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UptimeReport(_message.Message):
    __slots__ = ("scope", "subject_id", "window", "uptime_percent", "target_percent", "ports", "window_ms", "outage_ms", "excluded_ms", "port_count", "ports_below_target", "min_port_uptime_percent")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    UPTIME_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    OUTAGE_MS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_MS_FIELD_NUMBER: _ClassVar[int]
    PORT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PORTS_BELOW_TARGET_FIELD_NUMBER: _ClassVar[int]
    MIN_PORT_UPTIME_PERCENT_FIELD_NUMBER: _ClassVar[int]
    scope: UptimeScope
    subject_id: str
    window: _common_pb2.TimeRange
    uptime_percent: float
    target_percent: float
    ports: _containers.RepeatedCompositeFieldContainer[PortUptime]
    window_ms: int
    outage_ms: int
    excluded_ms: int
    port_count: int
    ports_below_target: int
    min_port_uptime_percent: float
    def __init__(self, scope: _Optional[_Union[UptimeScope, str]] = ..., subject_id: _Optional[str] = ..., window: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., uptime_percent: _Optional[float] = ..., target_percent: _Optional[float] = ..., ports: _Optional[_Iterable[_Union[PortUptime, _Mapping]]] = ..., window_ms: _Optional[int] = ..., outage_ms: _Optional[int] = ..., excluded_ms: _Optional[int] = ..., port_count: _Optional[int] = ..., ports_below_target: _Optional[int] = ..., min_port_uptime_percent: _Optional[float] = ...) -> None: ...

class Incident(_message.Message):
    __slots__ = ("incident_id", "port", "tenant_id", "cause", "severity", "state", "opened_at", "acknowledged_at", "resolved_at", "acknowledged_by", "resolved_by", "restored_at", "flaps", "site_id", "causes", "down_ms", "time_to_acknowledge_ms", "time_to_restore_ms", "notes", "last_down_at")
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    RESTORED_AT_FIELD_NUMBER: _ClassVar[int]
    FLAPS_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSES_FIELD_NUMBER: _ClassVar[int]
    DOWN_MS_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_ACKNOWLEDGE_MS_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_RESTORE_MS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    LAST_DOWN_AT_FIELD_NUMBER: _ClassVar[int]
    incident_id: str
    port: _common_pb2.ConnectorRef
    tenant_id: str
    cause: str
    severity: _common_pb2.Severity
    state: IncidentState
    opened_at: _timestamp_pb2.Timestamp
    acknowledged_at: _timestamp_pb2.Timestamp
    resolved_at: _timestamp_pb2.Timestamp
    acknowledged_by: str
    resolved_by: str
    restored_at: _timestamp_pb2.Timestamp
    flaps: int
    site_id: str
    causes: _containers.RepeatedScalarFieldContainer[str]
    down_ms: int
    time_to_acknowledge_ms: int
    time_to_restore_ms: int
    notes: _containers.RepeatedCompositeFieldContainer[IncidentNote]
    last_down_at: _timestamp_pb2.Timestamp
    def __init__(self, incident_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., tenant_id: _Optional[str] = ..., cause: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., state: _Optional[_Union[IncidentState, str]] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_by: _Optional[str] = ..., resolved_by: _Optional[str] = ..., restored_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., flaps: _Optional[int] = ..., site_id: _Optional[str] = ..., causes: _Optional[_Iterable[str]] = ..., down_ms: _Optional[int] = ..., time_to_acknowledge_ms: _Optional[int] = ..., time_to_restore_ms: _Optional[int] = ..., notes: _Optional[_Iterable[_Union[IncidentNote, _Mapping]]] = ..., last_down_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IncidentNote(_message.Message):
    __slots__ = ("author", "action", "text", "at")
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    author: str
    action: str
    text: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, author: _Optional[str] = ..., action: _Optional[str] = ..., text: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListIncidentsRequest(_message.Message):
    __slots__ = ("principal", "station_id", "state", "range", "page", "site_id", "tenant_id", "port")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    state: IncidentState
    range: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    site_id: str
    tenant_id: str
    port: _common_pb2.ConnectorRef
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., state: _Optional[_Union[IncidentState, str]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., site_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ...) -> None: ...

class ListIncidentsResponse(_message.Message):
    __slots__ = ("incidents", "page")
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    incidents: _containers.RepeatedCompositeFieldContainer[Incident]
    page: _common_pb2.PageResponse
    def __init__(self, incidents: _Optional[_Iterable[_Union[Incident, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class IncidentActionRequest(_message.Message):
    __slots__ = ("principal", "incident_id", "note")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    incident_id: str
    note: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., incident_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class GetIncidentRequest(_message.Message):
    __slots__ = ("principal", "incident_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    incident_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., incident_id: _Optional[str] = ...) -> None: ...

class Exclusion(_message.Message):
    __slots__ = ("exclusion_id", "port", "category", "period", "evidence", "state", "declared_by", "reviewed_by", "tenant_id", "declared_at", "reviewed_at", "review_note", "covered_outage_ms")
    EXCLUSION_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DECLARED_BY_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_BY_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DECLARED_AT_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_AT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_NOTE_FIELD_NUMBER: _ClassVar[int]
    COVERED_OUTAGE_MS_FIELD_NUMBER: _ClassVar[int]
    exclusion_id: str
    port: _common_pb2.ConnectorRef
    category: ExclusionCategory
    period: _common_pb2.TimeRange
    evidence: str
    state: ExclusionState
    declared_by: str
    reviewed_by: str
    tenant_id: str
    declared_at: _timestamp_pb2.Timestamp
    reviewed_at: _timestamp_pb2.Timestamp
    review_note: str
    covered_outage_ms: int
    def __init__(self, exclusion_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., category: _Optional[_Union[ExclusionCategory, str]] = ..., period: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., evidence: _Optional[str] = ..., state: _Optional[_Union[ExclusionState, str]] = ..., declared_by: _Optional[str] = ..., reviewed_by: _Optional[str] = ..., tenant_id: _Optional[str] = ..., declared_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reviewed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., review_note: _Optional[str] = ..., covered_outage_ms: _Optional[int] = ...) -> None: ...

class DeclareExclusionRequest(_message.Message):
    __slots__ = ("principal", "port", "category", "period", "evidence")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    port: _common_pb2.ConnectorRef
    category: ExclusionCategory
    period: _common_pb2.TimeRange
    evidence: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., category: _Optional[_Union[ExclusionCategory, str]] = ..., period: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., evidence: _Optional[str] = ...) -> None: ...

class ReviewExclusionRequest(_message.Message):
    __slots__ = ("principal", "exclusion_id", "approve", "note")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    EXCLUSION_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    exclusion_id: str
    approve: bool
    note: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., exclusion_id: _Optional[str] = ..., approve: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class ListExclusionsRequest(_message.Message):
    __slots__ = ("principal", "station_id", "state", "range", "page", "tenant_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    state: ExclusionState
    range: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    tenant_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., state: _Optional[_Union[ExclusionState, str]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class ListExclusionsResponse(_message.Message):
    __slots__ = ("exclusions", "page")
    EXCLUSIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    exclusions: _containers.RepeatedCompositeFieldContainer[Exclusion]
    page: _common_pb2.PageResponse
    def __init__(self, exclusions: _Optional[_Iterable[_Union[Exclusion, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class PortState(_message.Message):
    __slots__ = ("port", "tenant_id", "site_id", "availability", "up", "cause", "since", "open_incident_id", "first_seen", "updated_at")
    PORT_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    UP_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    OPEN_INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    port: _common_pb2.ConnectorRef
    tenant_id: str
    site_id: str
    availability: PortAvailability
    up: bool
    cause: str
    since: _timestamp_pb2.Timestamp
    open_incident_id: str
    first_seen: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., tenant_id: _Optional[str] = ..., site_id: _Optional[str] = ..., availability: _Optional[_Union[PortAvailability, str]] = ..., up: _Optional[bool] = ..., cause: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., open_incident_id: _Optional[str] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListPortStatesRequest(_message.Message):
    __slots__ = ("principal", "station_id", "site_id", "tenant_id", "availability", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    site_id: str
    tenant_id: str
    availability: PortAvailability
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., site_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., availability: _Optional[_Union[PortAvailability, str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListPortStatesResponse(_message.Message):
    __slots__ = ("ports", "page")
    PORTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    ports: _containers.RepeatedCompositeFieldContainer[PortState]
    page: _common_pb2.PageResponse
    def __init__(self, ports: _Optional[_Iterable[_Union[PortState, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetForecastRequest(_message.Message):
    __slots__ = ("principal", "scope", "subject_id", "port", "period", "target_percent", "at_risk_only")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TARGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
    AT_RISK_ONLY_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    scope: UptimeScope
    subject_id: str
    port: _common_pb2.ConnectorRef
    period: Period
    target_percent: float
    at_risk_only: bool
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., scope: _Optional[_Union[UptimeScope, str]] = ..., subject_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., period: _Optional[_Union[Period, _Mapping]] = ..., target_percent: _Optional[float] = ..., at_risk_only: _Optional[bool] = ...) -> None: ...

class PortForecast(_message.Message):
    __slots__ = ("port", "site_id", "target_percent", "period_ms", "allowed_down_ms", "used_ms", "remaining_ms", "uptime_so_far_percent", "projected_uptime_percent", "down_now", "at_risk", "message", "breach_at")
    PORT_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_DOWN_MS_FIELD_NUMBER: _ClassVar[int]
    USED_MS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_MS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SO_FAR_PERCENT_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_UPTIME_PERCENT_FIELD_NUMBER: _ClassVar[int]
    DOWN_NOW_FIELD_NUMBER: _ClassVar[int]
    AT_RISK_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    BREACH_AT_FIELD_NUMBER: _ClassVar[int]
    port: _common_pb2.ConnectorRef
    site_id: str
    target_percent: float
    period_ms: int
    allowed_down_ms: int
    used_ms: int
    remaining_ms: int
    uptime_so_far_percent: float
    projected_uptime_percent: float
    down_now: bool
    at_risk: bool
    message: str
    breach_at: _timestamp_pb2.Timestamp
    def __init__(self, port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., site_id: _Optional[str] = ..., target_percent: _Optional[float] = ..., period_ms: _Optional[int] = ..., allowed_down_ms: _Optional[int] = ..., used_ms: _Optional[int] = ..., remaining_ms: _Optional[int] = ..., uptime_so_far_percent: _Optional[float] = ..., projected_uptime_percent: _Optional[float] = ..., down_now: _Optional[bool] = ..., at_risk: _Optional[bool] = ..., message: _Optional[str] = ..., breach_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ForecastReport(_message.Message):
    __slots__ = ("period", "ports", "at_risk")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    AT_RISK_FIELD_NUMBER: _ClassVar[int]
    period: _common_pb2.TimeRange
    ports: _containers.RepeatedCompositeFieldContainer[PortForecast]
    at_risk: int
    def __init__(self, period: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., ports: _Optional[_Iterable[_Union[PortForecast, _Mapping]]] = ..., at_risk: _Optional[int] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("principal", "kind", "format", "scope", "subject_id", "port", "window", "period", "section")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    kind: ReportKind
    format: ReportFormat
    scope: UptimeScope
    subject_id: str
    port: _common_pb2.ConnectorRef
    window: _common_pb2.TimeRange
    period: Period
    section: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., kind: _Optional[_Union[ReportKind, str]] = ..., format: _Optional[_Union[ReportFormat, str]] = ..., scope: _Optional[_Union[UptimeScope, str]] = ..., subject_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., window: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., period: _Optional[_Union[Period, _Mapping]] = ..., section: _Optional[str] = ...) -> None: ...

class ReportFile(_message.Message):
    __slots__ = ("content_type", "filename", "body", "generated_at")
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    content_type: str
    filename: str
    body: bytes
    generated_at: _timestamp_pb2.Timestamp
    def __init__(self, content_type: _Optional[str] = ..., filename: _Optional[str] = ..., body: _Optional[bytes] = ..., generated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WeeklyWindow(_message.Message):
    __slots__ = ("day_of_week", "start_minute", "end_minute")
    DAY_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    day_of_week: int
    start_minute: int
    end_minute: int
    def __init__(self, day_of_week: _Optional[int] = ..., start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ...) -> None: ...

class PortPower(_message.Message):
    __slots__ = ("port", "min_power_w")
    PORT_FIELD_NUMBER: _ClassVar[int]
    MIN_POWER_W_FIELD_NUMBER: _ClassVar[int]
    port: _common_pb2.ConnectorRef
    min_power_w: float
    def __init__(self, port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., min_power_w: _Optional[float] = ...) -> None: ...

class SiteProfile(_message.Message):
    __slots__ = ("site_id", "tenant_id", "name", "timezone", "hours", "min_power_w", "port_min_power", "uptime_target_percent", "updated_at", "updated_by")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    MIN_POWER_W_FIELD_NUMBER: _ClassVar[int]
    PORT_MIN_POWER_FIELD_NUMBER: _ClassVar[int]
    UPTIME_TARGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    tenant_id: str
    name: str
    timezone: str
    hours: _containers.RepeatedCompositeFieldContainer[WeeklyWindow]
    min_power_w: float
    port_min_power: _containers.RepeatedCompositeFieldContainer[PortPower]
    uptime_target_percent: float
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, site_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., timezone: _Optional[str] = ..., hours: _Optional[_Iterable[_Union[WeeklyWindow, _Mapping]]] = ..., min_power_w: _Optional[float] = ..., port_min_power: _Optional[_Iterable[_Union[PortPower, _Mapping]]] = ..., uptime_target_percent: _Optional[float] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class UpsertSiteProfileRequest(_message.Message):
    __slots__ = ("principal", "profile")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    profile: SiteProfile
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., profile: _Optional[_Union[SiteProfile, _Mapping]] = ...) -> None: ...

class GetSiteProfileRequest(_message.Message):
    __slots__ = ("principal", "site_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    site_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., site_id: _Optional[str] = ...) -> None: ...

class ListSiteProfilesRequest(_message.Message):
    __slots__ = ("principal", "tenant_id", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    tenant_id: str
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., tenant_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListSiteProfilesResponse(_message.Message):
    __slots__ = ("profiles", "page")
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[SiteProfile]
    page: _common_pb2.PageResponse
    def __init__(self, profiles: _Optional[_Iterable[_Union[SiteProfile, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ResponseTarget(_message.Message):
    __slots__ = ("severity", "acknowledge_minutes", "restore_minutes")
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    RESTORE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    severity: _common_pb2.Severity
    acknowledge_minutes: int
    restore_minutes: int
    def __init__(self, severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., acknowledge_minutes: _Optional[int] = ..., restore_minutes: _Optional[int] = ...) -> None: ...

class CreditTerms(_message.Message):
    __slots__ = ("monthly_fee", "currency", "uptime_credit_percent_per_point", "uptime_credit_cap_percent", "acknowledge_breach_amount", "restore_breach_amount", "max_credit_amount")
    MONTHLY_FEE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    UPTIME_CREDIT_PERCENT_PER_POINT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_CREDIT_CAP_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_BREACH_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RESTORE_BREACH_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_CREDIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    monthly_fee: float
    currency: str
    uptime_credit_percent_per_point: float
    uptime_credit_cap_percent: float
    acknowledge_breach_amount: float
    restore_breach_amount: float
    max_credit_amount: float
    def __init__(self, monthly_fee: _Optional[float] = ..., currency: _Optional[str] = ..., uptime_credit_percent_per_point: _Optional[float] = ..., uptime_credit_cap_percent: _Optional[float] = ..., acknowledge_breach_amount: _Optional[float] = ..., restore_breach_amount: _Optional[float] = ..., max_credit_amount: _Optional[float] = ...) -> None: ...

class Contract(_message.Message):
    __slots__ = ("contract_id", "name", "tenant_id", "counterparty", "kind", "site_ids", "station_ids", "uptime_target_percent", "uptime_level", "response_targets", "maintenance_windows", "business_hours", "timezone", "restore_in_business_hours", "credit", "effective_from", "effective_to", "updated_at", "updated_by")
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SITE_IDS_FIELD_NUMBER: _ClassVar[int]
    STATION_IDS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_TARGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_LEVEL_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_TARGETS_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_HOURS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    RESTORE_IN_BUSINESS_HOURS_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TO_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    contract_id: str
    name: str
    tenant_id: str
    counterparty: str
    kind: ContractKind
    site_ids: _containers.RepeatedScalarFieldContainer[str]
    station_ids: _containers.RepeatedScalarFieldContainer[str]
    uptime_target_percent: float
    uptime_level: UptimeLevel
    response_targets: _containers.RepeatedCompositeFieldContainer[ResponseTarget]
    maintenance_windows: _containers.RepeatedCompositeFieldContainer[WeeklyWindow]
    business_hours: _containers.RepeatedCompositeFieldContainer[WeeklyWindow]
    timezone: str
    restore_in_business_hours: bool
    credit: CreditTerms
    effective_from: _timestamp_pb2.Timestamp
    effective_to: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, contract_id: _Optional[str] = ..., name: _Optional[str] = ..., tenant_id: _Optional[str] = ..., counterparty: _Optional[str] = ..., kind: _Optional[_Union[ContractKind, str]] = ..., site_ids: _Optional[_Iterable[str]] = ..., station_ids: _Optional[_Iterable[str]] = ..., uptime_target_percent: _Optional[float] = ..., uptime_level: _Optional[_Union[UptimeLevel, str]] = ..., response_targets: _Optional[_Iterable[_Union[ResponseTarget, _Mapping]]] = ..., maintenance_windows: _Optional[_Iterable[_Union[WeeklyWindow, _Mapping]]] = ..., business_hours: _Optional[_Iterable[_Union[WeeklyWindow, _Mapping]]] = ..., timezone: _Optional[str] = ..., restore_in_business_hours: _Optional[bool] = ..., credit: _Optional[_Union[CreditTerms, _Mapping]] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., effective_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class UpsertContractRequest(_message.Message):
    __slots__ = ("principal", "contract")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    contract: Contract
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., contract: _Optional[_Union[Contract, _Mapping]] = ...) -> None: ...

class GetContractRequest(_message.Message):
    __slots__ = ("principal", "contract_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    contract_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., contract_id: _Optional[str] = ...) -> None: ...

class ListContractsRequest(_message.Message):
    __slots__ = ("principal", "tenant_id", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    tenant_id: str
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., tenant_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListContractsResponse(_message.Message):
    __slots__ = ("contracts", "page")
    CONTRACTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    contracts: _containers.RepeatedCompositeFieldContainer[Contract]
    page: _common_pb2.PageResponse
    def __init__(self, contracts: _Optional[_Iterable[_Union[Contract, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class EvaluateContractRequest(_message.Message):
    __slots__ = ("principal", "contract_id", "window", "period")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    contract_id: str
    window: _common_pb2.TimeRange
    period: Period
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., contract_id: _Optional[str] = ..., window: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., period: _Optional[_Union[Period, _Mapping]] = ...) -> None: ...

class ContractBreach(_message.Message):
    __slots__ = ("kind", "subject", "measured", "limit", "unit", "amount", "severity", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    MEASURED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    subject: str
    measured: float
    limit: float
    unit: str
    amount: float
    severity: _common_pb2.Severity
    detail: str
    def __init__(self, kind: _Optional[str] = ..., subject: _Optional[str] = ..., measured: _Optional[float] = ..., limit: _Optional[float] = ..., unit: _Optional[str] = ..., amount: _Optional[float] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class ContractSubject(_message.Message):
    __slots__ = ("subject", "uptime_percent", "window_ms", "outage_ms", "excluded_ms", "meets_target")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_PERCENT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    OUTAGE_MS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_MS_FIELD_NUMBER: _ClassVar[int]
    MEETS_TARGET_FIELD_NUMBER: _ClassVar[int]
    subject: str
    uptime_percent: float
    window_ms: int
    outage_ms: int
    excluded_ms: int
    meets_target: bool
    def __init__(self, subject: _Optional[str] = ..., uptime_percent: _Optional[float] = ..., window_ms: _Optional[int] = ..., outage_ms: _Optional[int] = ..., excluded_ms: _Optional[int] = ..., meets_target: _Optional[bool] = ...) -> None: ...

class ContractEvaluation(_message.Message):
    __slots__ = ("contract", "window", "breaches", "subjects", "total_credit", "currency", "capped", "incidents_evaluated")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    BREACHES_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CREDIT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CAPPED_FIELD_NUMBER: _ClassVar[int]
    INCIDENTS_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    contract: Contract
    window: _common_pb2.TimeRange
    breaches: _containers.RepeatedCompositeFieldContainer[ContractBreach]
    subjects: _containers.RepeatedCompositeFieldContainer[ContractSubject]
    total_credit: float
    currency: str
    capped: bool
    incidents_evaluated: int
    def __init__(self, contract: _Optional[_Union[Contract, _Mapping]] = ..., window: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., breaches: _Optional[_Iterable[_Union[ContractBreach, _Mapping]]] = ..., subjects: _Optional[_Iterable[_Union[ContractSubject, _Mapping]]] = ..., total_credit: _Optional[float] = ..., currency: _Optional[str] = ..., capped: _Optional[bool] = ..., incidents_evaluated: _Optional[int] = ...) -> None: ...
