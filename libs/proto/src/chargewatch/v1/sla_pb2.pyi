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
UPTIME_SCOPE_UNSPECIFIED: UptimeScope
UPTIME_SCOPE_PORT: UptimeScope
UPTIME_SCOPE_STATION: UptimeScope
UPTIME_SCOPE_SITE: UptimeScope
UPTIME_SCOPE_TENANT: UptimeScope
UPTIME_SCOPE_OPERATOR: UptimeScope
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

class GetUptimeRequest(_message.Message):
    __slots__ = ("principal", "scope", "subject_id", "port", "window")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    scope: UptimeScope
    subject_id: str
    port: _common_pb2.ConnectorRef
    window: _common_pb2.TimeRange
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., scope: _Optional[_Union[UptimeScope, str]] = ..., subject_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., window: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class PortUptime(_message.Message):
    __slots__ = ("port", "uptime_percent", "window_minutes", "outage_minutes", "excluded_minutes")
    PORT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_PERCENT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MINUTES_FIELD_NUMBER: _ClassVar[int]
    OUTAGE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_MINUTES_FIELD_NUMBER: _ClassVar[int]
    port: _common_pb2.ConnectorRef
    uptime_percent: float
    window_minutes: int
    outage_minutes: int
    excluded_minutes: int
    def __init__(self, port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., uptime_percent: _Optional[float] = ..., window_minutes: _Optional[int] = ..., outage_minutes: _Optional[int] = ..., excluded_minutes: _Optional[int] = ...) -> None: ...

class UptimeReport(_message.Message):
    __slots__ = ("scope", "subject_id", "window", "uptime_percent", "target_percent", "ports")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    UPTIME_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_PERCENT_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    scope: UptimeScope
    subject_id: str
    window: _common_pb2.TimeRange
    uptime_percent: float
    target_percent: float
    ports: _containers.RepeatedCompositeFieldContainer[PortUptime]
    def __init__(self, scope: _Optional[_Union[UptimeScope, str]] = ..., subject_id: _Optional[str] = ..., window: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., uptime_percent: _Optional[float] = ..., target_percent: _Optional[float] = ..., ports: _Optional[_Iterable[_Union[PortUptime, _Mapping]]] = ...) -> None: ...

class Incident(_message.Message):
    __slots__ = ("incident_id", "port", "tenant_id", "cause", "severity", "state", "opened_at", "acknowledged_at", "resolved_at", "acknowledged_by", "resolved_by")
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
    def __init__(self, incident_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., tenant_id: _Optional[str] = ..., cause: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., state: _Optional[_Union[IncidentState, str]] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledged_by: _Optional[str] = ..., resolved_by: _Optional[str] = ...) -> None: ...

class ListIncidentsRequest(_message.Message):
    __slots__ = ("principal", "station_id", "state", "range", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    state: IncidentState
    range: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., state: _Optional[_Union[IncidentState, str]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

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

class Exclusion(_message.Message):
    __slots__ = ("exclusion_id", "port", "category", "period", "evidence", "state", "declared_by", "reviewed_by")
    EXCLUSION_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DECLARED_BY_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_BY_FIELD_NUMBER: _ClassVar[int]
    exclusion_id: str
    port: _common_pb2.ConnectorRef
    category: ExclusionCategory
    period: _common_pb2.TimeRange
    evidence: str
    state: ExclusionState
    declared_by: str
    reviewed_by: str
    def __init__(self, exclusion_id: _Optional[str] = ..., port: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., category: _Optional[_Union[ExclusionCategory, str]] = ..., period: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., evidence: _Optional[str] = ..., state: _Optional[_Union[ExclusionState, str]] = ..., declared_by: _Optional[str] = ..., reviewed_by: _Optional[str] = ...) -> None: ...

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
