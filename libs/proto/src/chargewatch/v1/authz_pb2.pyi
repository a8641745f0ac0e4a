import datetime

from chargewatch.v1 import common_pb2 as _common_pb2
from chargewatch.v1 import events_pb2 as _events_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterStationRequest(_message.Message):
    __slots__ = ("station_id", "tenant_id", "site_id", "security_profile", "requested_by")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    tenant_id: str
    site_id: str
    security_profile: _common_pb2.SecurityProfile
    requested_by: _common_pb2.Principal
    def __init__(self, station_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., site_id: _Optional[str] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class RegisterStationResponse(_message.Message):
    __slots__ = ("station_id", "security_profile", "password")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    security_profile: _common_pb2.SecurityProfile
    password: str
    def __init__(self, station_id: _Optional[str] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., password: _Optional[str] = ...) -> None: ...

class AuthenticateStationRequest(_message.Message):
    __slots__ = ("station_id", "password", "connection_profile", "client_certificate_sha256", "remote_address")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_PROFILE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERTIFICATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    password: str
    connection_profile: _common_pb2.SecurityProfile
    client_certificate_sha256: str
    remote_address: str
    def __init__(self, station_id: _Optional[str] = ..., password: _Optional[str] = ..., connection_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., client_certificate_sha256: _Optional[str] = ..., remote_address: _Optional[str] = ...) -> None: ...

class AuthenticateStationResponse(_message.Message):
    __slots__ = ("outcome", "tenant_id", "site_id", "security_profile", "registration_status")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[AuthenticateStationResponse.Outcome]
        OUTCOME_ACCEPTED: _ClassVar[AuthenticateStationResponse.Outcome]
        OUTCOME_UNKNOWN_STATION: _ClassVar[AuthenticateStationResponse.Outcome]
        OUTCOME_BAD_CREDENTIALS: _ClassVar[AuthenticateStationResponse.Outcome]
        OUTCOME_PROFILE_TOO_LOW: _ClassVar[AuthenticateStationResponse.Outcome]
        OUTCOME_QUARANTINED: _ClassVar[AuthenticateStationResponse.Outcome]
    OUTCOME_UNSPECIFIED: AuthenticateStationResponse.Outcome
    OUTCOME_ACCEPTED: AuthenticateStationResponse.Outcome
    OUTCOME_UNKNOWN_STATION: AuthenticateStationResponse.Outcome
    OUTCOME_BAD_CREDENTIALS: AuthenticateStationResponse.Outcome
    OUTCOME_PROFILE_TOO_LOW: AuthenticateStationResponse.Outcome
    OUTCOME_QUARANTINED: AuthenticateStationResponse.Outcome
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    outcome: AuthenticateStationResponse.Outcome
    tenant_id: str
    site_id: str
    security_profile: _common_pb2.SecurityProfile
    registration_status: _common_pb2.RegistrationStatus
    def __init__(self, outcome: _Optional[_Union[AuthenticateStationResponse.Outcome, str]] = ..., tenant_id: _Optional[str] = ..., site_id: _Optional[str] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., registration_status: _Optional[_Union[_common_pb2.RegistrationStatus, str]] = ...) -> None: ...

class SetStationRegistrationRequest(_message.Message):
    __slots__ = ("station_id", "registration_status", "requested_by", "reason")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    registration_status: _common_pb2.RegistrationStatus
    requested_by: _common_pb2.Principal
    reason: str
    def __init__(self, station_id: _Optional[str] = ..., registration_status: _Optional[_Union[_common_pb2.RegistrationStatus, str]] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class SetStationRegistrationResponse(_message.Message):
    __slots__ = ("registration_status",)
    REGISTRATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    registration_status: _common_pb2.RegistrationStatus
    def __init__(self, registration_status: _Optional[_Union[_common_pb2.RegistrationStatus, str]] = ...) -> None: ...

class RotateStationPasswordRequest(_message.Message):
    __slots__ = ("station_id", "requested_by")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    requested_by: _common_pb2.Principal
    def __init__(self, station_id: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class RotateStationPasswordResponse(_message.Message):
    __slots__ = ("password",)
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    password: str
    def __init__(self, password: _Optional[str] = ...) -> None: ...

class ConfirmStationPasswordRequest(_message.Message):
    __slots__ = ("station_id",)
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    def __init__(self, station_id: _Optional[str] = ...) -> None: ...

class ConfirmStationPasswordResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuthorizeRequest(_message.Message):
    __slots__ = ("station_id", "id_token", "id_token_type", "evse_id", "transaction_id")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    id_token: str
    id_token_type: str
    evse_id: int
    transaction_id: str
    def __init__(self, station_id: _Optional[str] = ..., id_token: _Optional[str] = ..., id_token_type: _Optional[str] = ..., evse_id: _Optional[int] = ..., transaction_id: _Optional[str] = ...) -> None: ...

class AuthorizeResponse(_message.Message):
    __slots__ = ("status", "expiry", "group_id", "reason", "max_session_seconds")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    status: _events_pb2.AuthorizationStatus
    expiry: _timestamp_pb2.Timestamp
    group_id: str
    reason: str
    max_session_seconds: int
    def __init__(self, status: _Optional[_Union[_events_pb2.AuthorizationStatus, str]] = ..., expiry: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_id: _Optional[str] = ..., reason: _Optional[str] = ..., max_session_seconds: _Optional[int] = ...) -> None: ...

class ValidateAccessTokenRequest(_message.Message):
    __slots__ = ("access_token",)
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    def __init__(self, access_token: _Optional[str] = ...) -> None: ...

class ValidateAccessTokenResponse(_message.Message):
    __slots__ = ("principal", "expires_at")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Block(_message.Message):
    __slots__ = ("block_id", "subject_kind", "subject_id", "reason", "requested_by", "created_at", "expires_at", "lifted_at", "mode")
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    LIFTED_AT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    block_id: str
    subject_kind: str
    subject_id: str
    reason: str
    requested_by: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    lifted_at: _timestamp_pb2.Timestamp
    mode: str
    def __init__(self, block_id: _Optional[str] = ..., subject_kind: _Optional[str] = ..., subject_id: _Optional[str] = ..., reason: _Optional[str] = ..., requested_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lifted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mode: _Optional[str] = ...) -> None: ...

class BlockTokenRequest(_message.Message):
    __slots__ = ("id_token", "reason", "requested_by", "expires_at")
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id_token: str
    reason: str
    requested_by: _common_pb2.Principal
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, id_token: _Optional[str] = ..., reason: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QuarantineStationRequest(_message.Message):
    __slots__ = ("station_id", "reason", "requested_by", "expires_at", "mode")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    reason: str
    requested_by: _common_pb2.Principal
    expires_at: _timestamp_pb2.Timestamp
    mode: str
    def __init__(self, station_id: _Optional[str] = ..., reason: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mode: _Optional[str] = ...) -> None: ...

class LiftBlockRequest(_message.Message):
    __slots__ = ("block_id", "requested_by", "reason")
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    block_id: str
    requested_by: _common_pb2.Principal
    reason: str
    def __init__(self, block_id: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...
