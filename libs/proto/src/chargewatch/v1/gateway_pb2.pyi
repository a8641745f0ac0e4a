import datetime

from chargewatch.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CommandKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMAND_KIND_UNSPECIFIED: _ClassVar[CommandKind]
    COMMAND_KIND_REMOTE_START: _ClassVar[CommandKind]
    COMMAND_KIND_REMOTE_STOP: _ClassVar[CommandKind]
    COMMAND_KIND_RESET: _ClassVar[CommandKind]
    COMMAND_KIND_CHANGE_AVAILABILITY: _ClassVar[CommandKind]
    COMMAND_KIND_UNLOCK_CONNECTOR: _ClassVar[CommandKind]
    COMMAND_KIND_TRIGGER_MESSAGE: _ClassVar[CommandKind]
    COMMAND_KIND_GET_CONFIGURATION: _ClassVar[CommandKind]
    COMMAND_KIND_CHANGE_CONFIGURATION: _ClassVar[CommandKind]
    COMMAND_KIND_GET_VARIABLES: _ClassVar[CommandKind]
    COMMAND_KIND_SET_VARIABLES: _ClassVar[CommandKind]
    COMMAND_KIND_SEND_LOCAL_LIST: _ClassVar[CommandKind]
    COMMAND_KIND_GET_LOCAL_LIST_VERSION: _ClassVar[CommandKind]
    COMMAND_KIND_CLEAR_CACHE: _ClassVar[CommandKind]
    COMMAND_KIND_UPDATE_FIRMWARE: _ClassVar[CommandKind]
    COMMAND_KIND_GET_DIAGNOSTICS: _ClassVar[CommandKind]
    COMMAND_KIND_GET_LOG: _ClassVar[CommandKind]
    COMMAND_KIND_DATA_TRANSFER: _ClassVar[CommandKind]
    COMMAND_KIND_CERTIFICATE_SIGNED: _ClassVar[CommandKind]
    COMMAND_KIND_INSTALL_CERTIFICATE: _ClassVar[CommandKind]
    COMMAND_KIND_SET_PASSWORD: _ClassVar[CommandKind]
COMMAND_KIND_UNSPECIFIED: CommandKind
COMMAND_KIND_REMOTE_START: CommandKind
COMMAND_KIND_REMOTE_STOP: CommandKind
COMMAND_KIND_RESET: CommandKind
COMMAND_KIND_CHANGE_AVAILABILITY: CommandKind
COMMAND_KIND_UNLOCK_CONNECTOR: CommandKind
COMMAND_KIND_TRIGGER_MESSAGE: CommandKind
COMMAND_KIND_GET_CONFIGURATION: CommandKind
COMMAND_KIND_CHANGE_CONFIGURATION: CommandKind
COMMAND_KIND_GET_VARIABLES: CommandKind
COMMAND_KIND_SET_VARIABLES: CommandKind
COMMAND_KIND_SEND_LOCAL_LIST: CommandKind
COMMAND_KIND_GET_LOCAL_LIST_VERSION: CommandKind
COMMAND_KIND_CLEAR_CACHE: CommandKind
COMMAND_KIND_UPDATE_FIRMWARE: CommandKind
COMMAND_KIND_GET_DIAGNOSTICS: CommandKind
COMMAND_KIND_GET_LOG: CommandKind
COMMAND_KIND_DATA_TRANSFER: CommandKind
COMMAND_KIND_CERTIFICATE_SIGNED: CommandKind
COMMAND_KIND_INSTALL_CERTIFICATE: CommandKind
COMMAND_KIND_SET_PASSWORD: CommandKind

class GetConnectionRequest(_message.Message):
    __slots__ = ("station_id",)
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    def __init__(self, station_id: _Optional[str] = ...) -> None: ...

class StationConnectionInfo(_message.Message):
    __slots__ = ("station_id", "gateway_instance", "ocpp_version", "security_profile", "connected_at", "remote_address")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    OCPP_VERSION_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_AT_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    gateway_instance: str
    ocpp_version: _common_pb2.OcppVersion
    security_profile: _common_pb2.SecurityProfile
    connected_at: _timestamp_pb2.Timestamp
    remote_address: str
    def __init__(self, station_id: _Optional[str] = ..., gateway_instance: _Optional[str] = ..., ocpp_version: _Optional[_Union[_common_pb2.OcppVersion, str]] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., connected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., remote_address: _Optional[str] = ...) -> None: ...

class CommandRequest(_message.Message):
    __slots__ = ("station_id", "kind", "arguments_json", "requested_by", "idempotency_key")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    kind: CommandKind
    arguments_json: str
    requested_by: _common_pb2.Principal
    idempotency_key: str
    def __init__(self, station_id: _Optional[str] = ..., kind: _Optional[_Union[CommandKind, str]] = ..., arguments_json: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CommandReply(_message.Message):
    __slots__ = ("station_id", "status", "response_json", "ocpp_action", "message_id")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_JSON_FIELD_NUMBER: _ClassVar[int]
    OCPP_ACTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    status: str
    response_json: str
    ocpp_action: str
    message_id: str
    def __init__(self, station_id: _Optional[str] = ..., status: _Optional[str] = ..., response_json: _Optional[str] = ..., ocpp_action: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class DisconnectRequest(_message.Message):
    __slots__ = ("station_id", "reason", "requested_by")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    reason: str
    requested_by: _common_pb2.Principal
    def __init__(self, station_id: _Optional[str] = ..., reason: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class DisconnectReply(_message.Message):
    __slots__ = ("was_connected",)
    WAS_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    was_connected: bool
    def __init__(self, was_connected: _Optional[bool] = ...) -> None: ...
