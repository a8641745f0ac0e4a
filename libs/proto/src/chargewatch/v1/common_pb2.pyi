import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OcppVersion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OCPP_VERSION_UNSPECIFIED: _ClassVar[OcppVersion]
    OCPP_VERSION_1_6: _ClassVar[OcppVersion]
    OCPP_VERSION_2_0_1: _ClassVar[OcppVersion]
    OCPP_VERSION_2_1: _ClassVar[OcppVersion]

class SecurityProfile(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SECURITY_PROFILE_UNSPECIFIED: _ClassVar[SecurityProfile]
    SECURITY_PROFILE_1_BASIC: _ClassVar[SecurityProfile]
    SECURITY_PROFILE_2_TLS_BASIC: _ClassVar[SecurityProfile]
    SECURITY_PROFILE_3_MUTUAL_TLS: _ClassVar[SecurityProfile]

class ConnectorStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTOR_STATUS_UNSPECIFIED: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_AVAILABLE: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_PREPARING: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_CHARGING: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_SUSPENDED_EVSE: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_SUSPENDED_EV: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_FINISHING: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_RESERVED: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_UNAVAILABLE: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_FAULTED: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_OCCUPIED: _ClassVar[ConnectorStatus]

class RegistrationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REGISTRATION_STATUS_UNSPECIFIED: _ClassVar[RegistrationStatus]
    REGISTRATION_STATUS_ACCEPTED: _ClassVar[RegistrationStatus]
    REGISTRATION_STATUS_PENDING: _ClassVar[RegistrationStatus]
    REGISTRATION_STATUS_REJECTED: _ClassVar[RegistrationStatus]

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_INFO: _ClassVar[Severity]
    SEVERITY_LOW: _ClassVar[Severity]
    SEVERITY_MEDIUM: _ClassVar[Severity]
    SEVERITY_HIGH: _ClassVar[Severity]
    SEVERITY_CRITICAL: _ClassVar[Severity]

class Unit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNIT_UNSPECIFIED: _ClassVar[Unit]
    UNIT_WH: _ClassVar[Unit]
    UNIT_KWH: _ClassVar[Unit]
    UNIT_W: _ClassVar[Unit]
    UNIT_KW: _ClassVar[Unit]
    UNIT_A: _ClassVar[Unit]
    UNIT_V: _ClassVar[Unit]
    UNIT_CELSIUS: _ClassVar[Unit]
    UNIT_PERCENT: _ClassVar[Unit]
    UNIT_VARH: _ClassVar[Unit]
    UNIT_VAR: _ClassVar[Unit]
    UNIT_HZ: _ClassVar[Unit]
OCPP_VERSION_UNSPECIFIED: OcppVersion
OCPP_VERSION_1_6: OcppVersion
OCPP_VERSION_2_0_1: OcppVersion
OCPP_VERSION_2_1: OcppVersion
SECURITY_PROFILE_UNSPECIFIED: SecurityProfile
SECURITY_PROFILE_1_BASIC: SecurityProfile
SECURITY_PROFILE_2_TLS_BASIC: SecurityProfile
SECURITY_PROFILE_3_MUTUAL_TLS: SecurityProfile
CONNECTOR_STATUS_UNSPECIFIED: ConnectorStatus
CONNECTOR_STATUS_AVAILABLE: ConnectorStatus
CONNECTOR_STATUS_PREPARING: ConnectorStatus
CONNECTOR_STATUS_CHARGING: ConnectorStatus
CONNECTOR_STATUS_SUSPENDED_EVSE: ConnectorStatus
CONNECTOR_STATUS_SUSPENDED_EV: ConnectorStatus
CONNECTOR_STATUS_FINISHING: ConnectorStatus
CONNECTOR_STATUS_RESERVED: ConnectorStatus
CONNECTOR_STATUS_UNAVAILABLE: ConnectorStatus
CONNECTOR_STATUS_FAULTED: ConnectorStatus
CONNECTOR_STATUS_OCCUPIED: ConnectorStatus
REGISTRATION_STATUS_UNSPECIFIED: RegistrationStatus
REGISTRATION_STATUS_ACCEPTED: RegistrationStatus
REGISTRATION_STATUS_PENDING: RegistrationStatus
REGISTRATION_STATUS_REJECTED: RegistrationStatus
SEVERITY_UNSPECIFIED: Severity
SEVERITY_INFO: Severity
SEVERITY_LOW: Severity
SEVERITY_MEDIUM: Severity
SEVERITY_HIGH: Severity
SEVERITY_CRITICAL: Severity
UNIT_UNSPECIFIED: Unit
UNIT_WH: Unit
UNIT_KWH: Unit
UNIT_W: Unit
UNIT_KW: Unit
UNIT_A: Unit
UNIT_V: Unit
UNIT_CELSIUS: Unit
UNIT_PERCENT: Unit
UNIT_VARH: Unit
UNIT_VAR: Unit
UNIT_HZ: Unit

class ConnectorRef(_message.Message):
    __slots__ = ("station_id", "evse_id", "connector_id")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    evse_id: int
    connector_id: int
    def __init__(self, station_id: _Optional[str] = ..., evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ...) -> None: ...

class GeoPoint(_message.Message):
    __slots__ = ("latitude", "longitude")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    latitude: float
    longitude: float
    def __init__(self, latitude: _Optional[float] = ..., longitude: _Optional[float] = ...) -> None: ...

class GeoBox(_message.Message):
    __slots__ = ("south_west", "north_east")
    SOUTH_WEST_FIELD_NUMBER: _ClassVar[int]
    NORTH_EAST_FIELD_NUMBER: _ClassVar[int]
    south_west: GeoPoint
    north_east: GeoPoint
    def __init__(self, south_west: _Optional[_Union[GeoPoint, _Mapping]] = ..., north_east: _Optional[_Union[GeoPoint, _Mapping]] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PageRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class PageResponse(_message.Message):
    __slots__ = ("next_page_token", "total_size")
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    total_size: int
    def __init__(self, next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class Principal(_message.Message):
    __slots__ = ("subject", "client_id", "roles", "tenant_id")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    subject: str
    client_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    tenant_id: str
    def __init__(self, subject: _Optional[str] = ..., client_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., tenant_id: _Optional[str] = ...) -> None: ...
