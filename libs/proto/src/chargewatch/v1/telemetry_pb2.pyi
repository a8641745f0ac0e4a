import datetime

from chargewatch.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Connector(_message.Message):
    __slots__ = ("evse_id", "connector_id", "status", "error_code", "status_since", "connector_type", "max_power_w", "current_transaction_id", "last_energy_wh", "last_reading_at")
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_SINCE_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    MAX_POWER_W_FIELD_NUMBER: _ClassVar[int]
    CURRENT_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    LAST_READING_AT_FIELD_NUMBER: _ClassVar[int]
    evse_id: int
    connector_id: int
    status: _common_pb2.ConnectorStatus
    error_code: str
    status_since: _timestamp_pb2.Timestamp
    connector_type: str
    max_power_w: float
    current_transaction_id: str
    last_energy_wh: float
    last_reading_at: _timestamp_pb2.Timestamp
    def __init__(self, evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.ConnectorStatus, str]] = ..., error_code: _Optional[str] = ..., status_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., connector_type: _Optional[str] = ..., max_power_w: _Optional[float] = ..., current_transaction_id: _Optional[str] = ..., last_energy_wh: _Optional[float] = ..., last_reading_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Station(_message.Message):
    __slots__ = ("station_id", "tenant_id", "site_id", "security_profile", "vendor", "model", "serial_number", "firmware_version", "ocpp_version", "location", "online", "last_seen", "last_heartbeat", "last_boot", "registration_status", "connectors", "registered_at", "name")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    OCPP_VERSION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    LAST_BOOT_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    tenant_id: str
    site_id: str
    security_profile: _common_pb2.SecurityProfile
    vendor: str
    model: str
    serial_number: str
    firmware_version: str
    ocpp_version: _common_pb2.OcppVersion
    location: _common_pb2.GeoPoint
    online: bool
    last_seen: _timestamp_pb2.Timestamp
    last_heartbeat: _timestamp_pb2.Timestamp
    last_boot: _timestamp_pb2.Timestamp
    registration_status: _common_pb2.RegistrationStatus
    connectors: _containers.RepeatedCompositeFieldContainer[Connector]
    registered_at: _timestamp_pb2.Timestamp
    name: str
    def __init__(self, station_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., site_id: _Optional[str] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., vendor: _Optional[str] = ..., model: _Optional[str] = ..., serial_number: _Optional[str] = ..., firmware_version: _Optional[str] = ..., ocpp_version: _Optional[_Union[_common_pb2.OcppVersion, str]] = ..., location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ..., online: _Optional[bool] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_boot: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., registration_status: _Optional[_Union[_common_pb2.RegistrationStatus, str]] = ..., connectors: _Optional[_Iterable[_Union[Connector, _Mapping]]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class UpsertStationRequest(_message.Message):
    __slots__ = ("principal", "station_id", "tenant_id", "site_id", "security_profile", "name", "location")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    tenant_id: str
    site_id: str
    security_profile: _common_pb2.SecurityProfile
    name: str
    location: _common_pb2.GeoPoint
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., site_id: _Optional[str] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., name: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ...) -> None: ...

class StationFilter(_message.Message):
    __slots__ = ("tenant_id", "site_id", "status", "within", "online")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WITHIN_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    site_id: str
    status: _common_pb2.ConnectorStatus
    within: _common_pb2.GeoBox
    online: bool
    def __init__(self, tenant_id: _Optional[str] = ..., site_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.ConnectorStatus, str]] = ..., within: _Optional[_Union[_common_pb2.GeoBox, _Mapping]] = ..., online: _Optional[bool] = ...) -> None: ...

class ListStationsRequest(_message.Message):
    __slots__ = ("principal", "filter", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    filter: StationFilter
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., filter: _Optional[_Union[StationFilter, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListStationsResponse(_message.Message):
    __slots__ = ("stations", "page")
    STATIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    stations: _containers.RepeatedCompositeFieldContainer[Station]
    page: _common_pb2.PageResponse
    def __init__(self, stations: _Optional[_Iterable[_Union[Station, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetStationRequest(_message.Message):
    __slots__ = ("principal", "station_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ...) -> None: ...

class MeterPoint(_message.Message):
    __slots__ = ("timestamp", "energy_wh", "power_w", "current_a", "voltage_v", "soc_percent")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    POWER_W_FIELD_NUMBER: _ClassVar[int]
    CURRENT_A_FIELD_NUMBER: _ClassVar[int]
    VOLTAGE_V_FIELD_NUMBER: _ClassVar[int]
    SOC_PERCENT_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    energy_wh: float
    power_w: float
    current_a: float
    voltage_v: float
    soc_percent: float
    def __init__(self, timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., energy_wh: _Optional[float] = ..., power_w: _Optional[float] = ..., current_a: _Optional[float] = ..., voltage_v: _Optional[float] = ..., soc_percent: _Optional[float] = ...) -> None: ...

class GetMeterSeriesRequest(_message.Message):
    __slots__ = ("principal", "connector", "transaction_id", "range", "step_seconds")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    STEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    connector: _common_pb2.ConnectorRef
    transaction_id: str
    range: _common_pb2.TimeRange
    step_seconds: int
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., connector: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., transaction_id: _Optional[str] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., step_seconds: _Optional[int] = ...) -> None: ...

class MeterSeries(_message.Message):
    __slots__ = ("connector", "points")
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    connector: _common_pb2.ConnectorRef
    points: _containers.RepeatedCompositeFieldContainer[MeterPoint]
    def __init__(self, connector: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., points: _Optional[_Iterable[_Union[MeterPoint, _Mapping]]] = ...) -> None: ...

class ChargingSession(_message.Message):
    __slots__ = ("transaction_id", "connector", "tenant_id", "id_token", "started_at", "stopped_at", "energy_wh", "stop_reason", "idle_seconds", "peak_power_w")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_FIELD_NUMBER: _ClassVar[int]
    ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    IDLE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PEAK_POWER_W_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    connector: _common_pb2.ConnectorRef
    tenant_id: str
    id_token: str
    started_at: _timestamp_pb2.Timestamp
    stopped_at: _timestamp_pb2.Timestamp
    energy_wh: float
    stop_reason: str
    idle_seconds: int
    peak_power_w: float
    def __init__(self, transaction_id: _Optional[str] = ..., connector: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., tenant_id: _Optional[str] = ..., id_token: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., energy_wh: _Optional[float] = ..., stop_reason: _Optional[str] = ..., idle_seconds: _Optional[int] = ..., peak_power_w: _Optional[float] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("principal", "station_id", "site_id", "range", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    site_id: str
    range: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., site_id: _Optional[str] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "page")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[ChargingSession]
    page: _common_pb2.PageResponse
    def __init__(self, sessions: _Optional[_Iterable[_Union[ChargingSession, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...
