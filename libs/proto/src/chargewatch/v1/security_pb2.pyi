from chargewatch.v1 import common_pb2 as _common_pb2
from chargewatch.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListAlertsRequest(_message.Message):
    __slots__ = ("principal", "station_id", "state", "min_severity", "range", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    state: _events_pb2.AlertState
    min_severity: _common_pb2.Severity
    range: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., state: _Optional[_Union[_events_pb2.AlertState, str]] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts", "page")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[_events_pb2.Alert]
    page: _common_pb2.PageResponse
    def __init__(self, alerts: _Optional[_Iterable[_Union[_events_pb2.Alert, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetAlertRequest(_message.Message):
    __slots__ = ("principal", "alert_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    alert_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., alert_id: _Optional[str] = ...) -> None: ...

class AlertActionRequest(_message.Message):
    __slots__ = ("principal", "alert_id", "note", "false_positive")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    FALSE_POSITIVE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    alert_id: str
    note: str
    false_positive: bool
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., alert_id: _Optional[str] = ..., note: _Optional[str] = ..., false_positive: _Optional[bool] = ...) -> None: ...

class GetRiskScoreRequest(_message.Message):
    __slots__ = ("principal", "station_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ...) -> None: ...

class RiskScore(_message.Message):
    __slots__ = ("station_id", "score", "contributing_alert_ids")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTING_ALERT_IDS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    score: float
    contributing_alert_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, station_id: _Optional[str] = ..., score: _Optional[float] = ..., contributing_alert_ids: _Optional[_Iterable[str]] = ...) -> None: ...
