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
    __slots__ = ("evse_id", "connector_id", "status", "error_code", "status_since", "connector_type", "max_power_w", "current_transaction_id", "last_energy_wh", "last_reading_at", "last_power_w")
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
    LAST_POWER_W_FIELD_NUMBER: _ClassVar[int]
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
    last_power_w: float
    def __init__(self, evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.ConnectorStatus, str]] = ..., error_code: _Optional[str] = ..., status_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., connector_type: _Optional[str] = ..., max_power_w: _Optional[float] = ..., current_transaction_id: _Optional[str] = ..., last_energy_wh: _Optional[float] = ..., last_reading_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_power_w: _Optional[float] = ...) -> None: ...

class ConnectorSpec(_message.Message):
    __slots__ = ("evse_id", "connector_id", "connector_type", "max_power_w")
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_TYPE_FIELD_NUMBER: _ClassVar[int]
    MAX_POWER_W_FIELD_NUMBER: _ClassVar[int]
    evse_id: int
    connector_id: int
    connector_type: str
    max_power_w: float
    def __init__(self, evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., connector_type: _Optional[str] = ..., max_power_w: _Optional[float] = ...) -> None: ...

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
    __slots__ = ("principal", "station_id", "tenant_id", "site_id", "security_profile", "name", "location", "connectors")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    tenant_id: str
    site_id: str
    security_profile: _common_pb2.SecurityProfile
    name: str
    location: _common_pb2.GeoPoint
    connectors: _containers.RepeatedCompositeFieldContainer[ConnectorSpec]
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., site_id: _Optional[str] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., name: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ..., connectors: _Optional[_Iterable[_Union[ConnectorSpec, _Mapping]]] = ...) -> None: ...

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
    __slots__ = ("timestamp", "energy_wh", "power_w", "current_a", "voltage_v", "soc_percent", "temperature_c", "phase_current_a", "phase_voltage_v", "quality_flags", "max_power_w", "samples")
    class PhaseCurrentAEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class PhaseVoltageVEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    POWER_W_FIELD_NUMBER: _ClassVar[int]
    CURRENT_A_FIELD_NUMBER: _ClassVar[int]
    VOLTAGE_V_FIELD_NUMBER: _ClassVar[int]
    SOC_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_C_FIELD_NUMBER: _ClassVar[int]
    PHASE_CURRENT_A_FIELD_NUMBER: _ClassVar[int]
    PHASE_VOLTAGE_V_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FLAGS_FIELD_NUMBER: _ClassVar[int]
    MAX_POWER_W_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    energy_wh: float
    power_w: float
    current_a: float
    voltage_v: float
    soc_percent: float
    temperature_c: float
    phase_current_a: _containers.ScalarMap[str, float]
    phase_voltage_v: _containers.ScalarMap[str, float]
    quality_flags: _containers.RepeatedScalarFieldContainer[str]
    max_power_w: float
    samples: int
    def __init__(self, timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., energy_wh: _Optional[float] = ..., power_w: _Optional[float] = ..., current_a: _Optional[float] = ..., voltage_v: _Optional[float] = ..., soc_percent: _Optional[float] = ..., temperature_c: _Optional[float] = ..., phase_current_a: _Optional[_Mapping[str, float]] = ..., phase_voltage_v: _Optional[_Mapping[str, float]] = ..., quality_flags: _Optional[_Iterable[str]] = ..., max_power_w: _Optional[float] = ..., samples: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("transaction_id", "connector", "tenant_id", "id_token", "started_at", "stopped_at", "energy_wh", "stop_reason", "idle_seconds", "peak_power_w", "duration_seconds", "charging_ended_at", "ended")
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
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CHARGING_ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
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
    duration_seconds: int
    charging_ended_at: _timestamp_pb2.Timestamp
    ended: bool
    def __init__(self, transaction_id: _Optional[str] = ..., connector: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., tenant_id: _Optional[str] = ..., id_token: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., energy_wh: _Optional[float] = ..., stop_reason: _Optional[str] = ..., idle_seconds: _Optional[int] = ..., peak_power_w: _Optional[float] = ..., duration_seconds: _Optional[int] = ..., charging_ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended: _Optional[bool] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("principal", "station_id", "site_id", "range", "page", "tenant_id", "id_token", "ended")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    site_id: str
    range: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    tenant_id: str
    id_token: str
    ended: bool
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., site_id: _Optional[str] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., tenant_id: _Optional[str] = ..., id_token: _Optional[str] = ..., ended: _Optional[bool] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "page")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[ChargingSession]
    page: _common_pb2.PageResponse
    def __init__(self, sessions: _Optional[_Iterable[_Union[ChargingSession, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class AnalyticsScope(_message.Message):
    __slots__ = ("site_id", "station_id", "tenant_id")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    station_id: str
    tenant_id: str
    def __init__(self, site_id: _Optional[str] = ..., station_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class UtilizationRequest(_message.Message):
    __slots__ = ("principal", "scope", "range")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    scope: AnalyticsScope
    range: _common_pb2.TimeRange
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., scope: _Optional[_Union[AnalyticsScope, _Mapping]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class HourOfWeekUtilization(_message.Message):
    __slots__ = ("hour_of_week", "observed_seconds", "occupied_ratio", "charging_ratio")
    HOUR_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OCCUPIED_RATIO_FIELD_NUMBER: _ClassVar[int]
    CHARGING_RATIO_FIELD_NUMBER: _ClassVar[int]
    hour_of_week: int
    observed_seconds: float
    occupied_ratio: float
    charging_ratio: float
    def __init__(self, hour_of_week: _Optional[int] = ..., observed_seconds: _Optional[float] = ..., occupied_ratio: _Optional[float] = ..., charging_ratio: _Optional[float] = ...) -> None: ...

class ConnectorUtilization(_message.Message):
    __slots__ = ("connector", "site_id", "occupied_ratio", "charging_ratio", "hours")
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUPIED_RATIO_FIELD_NUMBER: _ClassVar[int]
    CHARGING_RATIO_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    connector: _common_pb2.ConnectorRef
    site_id: str
    occupied_ratio: float
    charging_ratio: float
    hours: _containers.RepeatedCompositeFieldContainer[HourOfWeekUtilization]
    def __init__(self, connector: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., site_id: _Optional[str] = ..., occupied_ratio: _Optional[float] = ..., charging_ratio: _Optional[float] = ..., hours: _Optional[_Iterable[_Union[HourOfWeekUtilization, _Mapping]]] = ...) -> None: ...

class SiteUtilization(_message.Message):
    __slots__ = ("site_id", "occupied_ratio", "charging_ratio", "hours")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUPIED_RATIO_FIELD_NUMBER: _ClassVar[int]
    CHARGING_RATIO_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    occupied_ratio: float
    charging_ratio: float
    hours: _containers.RepeatedCompositeFieldContainer[HourOfWeekUtilization]
    def __init__(self, site_id: _Optional[str] = ..., occupied_ratio: _Optional[float] = ..., charging_ratio: _Optional[float] = ..., hours: _Optional[_Iterable[_Union[HourOfWeekUtilization, _Mapping]]] = ...) -> None: ...

class UtilizationReport(_message.Message):
    __slots__ = ("connectors", "sites")
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    SITES_FIELD_NUMBER: _ClassVar[int]
    connectors: _containers.RepeatedCompositeFieldContainer[ConnectorUtilization]
    sites: _containers.RepeatedCompositeFieldContainer[SiteUtilization]
    def __init__(self, connectors: _Optional[_Iterable[_Union[ConnectorUtilization, _Mapping]]] = ..., sites: _Optional[_Iterable[_Union[SiteUtilization, _Mapping]]] = ...) -> None: ...

class SiteEnergyRequest(_message.Message):
    __slots__ = ("principal", "scope", "range")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    scope: AnalyticsScope
    range: _common_pb2.TimeRange
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., scope: _Optional[_Union[AnalyticsScope, _Mapping]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class DailySiteEnergy(_message.Message):
    __slots__ = ("site_id", "day", "energy_wh", "peak_power_w")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    PEAK_POWER_W_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    day: str
    energy_wh: float
    peak_power_w: float
    def __init__(self, site_id: _Optional[str] = ..., day: _Optional[str] = ..., energy_wh: _Optional[float] = ..., peak_power_w: _Optional[float] = ...) -> None: ...

class SiteEnergyReport(_message.Message):
    __slots__ = ("days", "total_energy_wh", "peak_connector_power_w", "peak_connector", "peak_at")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    PEAK_CONNECTOR_POWER_W_FIELD_NUMBER: _ClassVar[int]
    PEAK_CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    PEAK_AT_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[DailySiteEnergy]
    total_energy_wh: float
    peak_connector_power_w: float
    peak_connector: _common_pb2.ConnectorRef
    peak_at: _timestamp_pb2.Timestamp
    def __init__(self, days: _Optional[_Iterable[_Union[DailySiteEnergy, _Mapping]]] = ..., total_energy_wh: _Optional[float] = ..., peak_connector_power_w: _Optional[float] = ..., peak_connector: _Optional[_Union[_common_pb2.ConnectorRef, _Mapping]] = ..., peak_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SessionStatsRequest(_message.Message):
    __slots__ = ("principal", "scope", "range")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    scope: AnalyticsScope
    range: _common_pb2.TimeRange
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., scope: _Optional[_Union[AnalyticsScope, _Mapping]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class SessionStats(_message.Message):
    __slots__ = ("sessions", "successful_sessions", "refused_authorizations", "success_rate", "energy_wh")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_AUTHORIZATIONS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_WH_FIELD_NUMBER: _ClassVar[int]
    sessions: int
    successful_sessions: int
    refused_authorizations: int
    success_rate: float
    energy_wh: float
    def __init__(self, sessions: _Optional[int] = ..., successful_sessions: _Optional[int] = ..., refused_authorizations: _Optional[int] = ..., success_rate: _Optional[float] = ..., energy_wh: _Optional[float] = ...) -> None: ...

class HighDemandRequest(_message.Message):
    __slots__ = ("principal", "range", "tenant_id", "min_occupied_ratio", "back_to_back_gap_seconds", "limit")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_OCCUPIED_RATIO_FIELD_NUMBER: _ClassVar[int]
    BACK_TO_BACK_GAP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    range: _common_pb2.TimeRange
    tenant_id: str
    min_occupied_ratio: float
    back_to_back_gap_seconds: int
    limit: int
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., tenant_id: _Optional[str] = ..., min_occupied_ratio: _Optional[float] = ..., back_to_back_gap_seconds: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class SiteDemand(_message.Message):
    __slots__ = ("site_id", "occupied_ratio", "charging_ratio", "sessions", "back_to_back_sessions", "median_gap_seconds", "connectors", "demand_score")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUPIED_RATIO_FIELD_NUMBER: _ClassVar[int]
    CHARGING_RATIO_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    BACK_TO_BACK_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_GAP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    DEMAND_SCORE_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    occupied_ratio: float
    charging_ratio: float
    sessions: int
    back_to_back_sessions: int
    median_gap_seconds: float
    connectors: int
    demand_score: float
    def __init__(self, site_id: _Optional[str] = ..., occupied_ratio: _Optional[float] = ..., charging_ratio: _Optional[float] = ..., sessions: _Optional[int] = ..., back_to_back_sessions: _Optional[int] = ..., median_gap_seconds: _Optional[float] = ..., connectors: _Optional[int] = ..., demand_score: _Optional[float] = ...) -> None: ...

class HighDemandResponse(_message.Message):
    __slots__ = ("sites",)
    SITES_FIELD_NUMBER: _ClassVar[int]
    sites: _containers.RepeatedCompositeFieldContainer[SiteDemand]
    def __init__(self, sites: _Optional[_Iterable[_Union[SiteDemand, _Mapping]]] = ...) -> None: ...
