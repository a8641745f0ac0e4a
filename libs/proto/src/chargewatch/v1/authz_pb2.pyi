import datetime

from chargewatch.v1 import common_pb2 as _common_pb2
from chargewatch.v1 import events_pb2 as _events_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
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

class AuthorizeCall(_message.Message):
    __slots__ = ("call_id", "request", "traceparent", "timeout_ms")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    call_id: int
    request: AuthorizeRequest
    traceparent: str
    timeout_ms: int
    def __init__(self, call_id: _Optional[int] = ..., request: _Optional[_Union[AuthorizeRequest, _Mapping]] = ..., traceparent: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class AuthorizeCalls(_message.Message):
    __slots__ = ("calls",)
    CALLS_FIELD_NUMBER: _ClassVar[int]
    calls: _containers.RepeatedCompositeFieldContainer[AuthorizeCall]
    def __init__(self, calls: _Optional[_Iterable[_Union[AuthorizeCall, _Mapping]]] = ...) -> None: ...

class AuthorizeAnswer(_message.Message):
    __slots__ = ("call_id", "response", "status_code", "status_message")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    call_id: int
    response: AuthorizeResponse
    status_code: int
    status_message: str
    def __init__(self, call_id: _Optional[int] = ..., response: _Optional[_Union[AuthorizeResponse, _Mapping]] = ..., status_code: _Optional[int] = ..., status_message: _Optional[str] = ...) -> None: ...

class AuthorizeAnswers(_message.Message):
    __slots__ = ("answers",)
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[AuthorizeAnswer]
    def __init__(self, answers: _Optional[_Iterable[_Union[AuthorizeAnswer, _Mapping]]] = ...) -> None: ...

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

class ListBlocksRequest(_message.Message):
    __slots__ = ("subject_kind", "include_lifted", "page")
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_LIFTED_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    subject_kind: str
    include_lifted: bool
    page: _common_pb2.PageRequest
    def __init__(self, subject_kind: _Optional[str] = ..., include_lifted: _Optional[bool] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListBlocksResponse(_message.Message):
    __slots__ = ("blocks", "page")
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    blocks: _containers.RepeatedCompositeFieldContainer[Block]
    page: _common_pb2.PageResponse
    def __init__(self, blocks: _Optional[_Iterable[_Union[Block, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class DriverToken(_message.Message):
    __slots__ = ("id_token", "id_token_type", "tenant_id", "status", "expires_at", "group_id", "user_id", "fleet", "reason", "created_at", "updated_at")
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FLEET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id_token: str
    id_token_type: str
    tenant_id: str
    status: str
    expires_at: _timestamp_pb2.Timestamp
    group_id: str
    user_id: str
    fleet: str
    reason: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id_token: _Optional[str] = ..., id_token_type: _Optional[str] = ..., tenant_id: _Optional[str] = ..., status: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_id: _Optional[str] = ..., user_id: _Optional[str] = ..., fleet: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ("token", "requested_by")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    token: DriverToken
    requested_by: _common_pb2.Principal
    def __init__(self, token: _Optional[_Union[DriverToken, _Mapping]] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class GetTokenRequest(_message.Message):
    __slots__ = ("id_token", "id_token_type", "requested_by")
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    id_token: str
    id_token_type: str
    requested_by: _common_pb2.Principal
    def __init__(self, id_token: _Optional[str] = ..., id_token_type: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ("tenant_id", "status", "fleet", "page", "requested_by")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FLEET_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    status: str
    fleet: str
    page: _common_pb2.PageRequest
    requested_by: _common_pb2.Principal
    def __init__(self, tenant_id: _Optional[str] = ..., status: _Optional[str] = ..., fleet: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens", "page")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[DriverToken]
    page: _common_pb2.PageResponse
    def __init__(self, tokens: _Optional[_Iterable[_Union[DriverToken, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class SetTokenStatusRequest(_message.Message):
    __slots__ = ("id_token", "id_token_type", "status", "reason", "expires_at", "requested_by")
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    id_token: str
    id_token_type: str
    status: str
    reason: str
    expires_at: _timestamp_pb2.Timestamp
    requested_by: _common_pb2.Principal
    def __init__(self, id_token: _Optional[str] = ..., id_token_type: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class LinkTokenRequest(_message.Message):
    __slots__ = ("id_token", "id_token_type", "user_id", "fleet", "requested_by")
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FLEET_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    id_token: str
    id_token_type: str
    user_id: str
    fleet: str
    requested_by: _common_pb2.Principal
    def __init__(self, id_token: _Optional[str] = ..., id_token_type: _Optional[str] = ..., user_id: _Optional[str] = ..., fleet: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class TimeWindow(_message.Message):
    __slots__ = ("days_of_week", "start", "end")
    DAYS_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    days_of_week: _containers.RepeatedScalarFieldContainer[int]
    start: str
    end: str
    def __init__(self, days_of_week: _Optional[_Iterable[int]] = ..., start: _Optional[str] = ..., end: _Optional[str] = ...) -> None: ...

class AccessPolicy(_message.Message):
    __slots__ = ("policy_id", "tenant_id", "name", "site_ids", "station_ids", "allowed_groups", "time_windows", "timezone", "max_concurrent_sessions", "max_session_seconds", "blocked_id_tokens", "version", "updated_at")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SITE_IDS_FIELD_NUMBER: _ClassVar[int]
    STATION_IDS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_GROUPS_FIELD_NUMBER: _ClassVar[int]
    TIME_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_ID_TOKENS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    tenant_id: str
    name: str
    site_ids: _containers.RepeatedScalarFieldContainer[str]
    station_ids: _containers.RepeatedScalarFieldContainer[str]
    allowed_groups: _containers.RepeatedScalarFieldContainer[str]
    time_windows: _containers.RepeatedCompositeFieldContainer[TimeWindow]
    timezone: str
    max_concurrent_sessions: int
    max_session_seconds: int
    blocked_id_tokens: _containers.RepeatedScalarFieldContainer[str]
    version: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, policy_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., site_ids: _Optional[_Iterable[str]] = ..., station_ids: _Optional[_Iterable[str]] = ..., allowed_groups: _Optional[_Iterable[str]] = ..., time_windows: _Optional[_Iterable[_Union[TimeWindow, _Mapping]]] = ..., timezone: _Optional[str] = ..., max_concurrent_sessions: _Optional[int] = ..., max_session_seconds: _Optional[int] = ..., blocked_id_tokens: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PutAccessPolicyRequest(_message.Message):
    __slots__ = ("policy", "requested_by")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    policy: AccessPolicy
    requested_by: _common_pb2.Principal
    def __init__(self, policy: _Optional[_Union[AccessPolicy, _Mapping]] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class GetAccessPolicyRequest(_message.Message):
    __slots__ = ("policy_id", "requested_by")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    requested_by: _common_pb2.Principal
    def __init__(self, policy_id: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListAccessPoliciesRequest(_message.Message):
    __slots__ = ("tenant_id", "page", "requested_by")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    page: _common_pb2.PageRequest
    requested_by: _common_pb2.Principal
    def __init__(self, tenant_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListAccessPoliciesResponse(_message.Message):
    __slots__ = ("policies", "page")
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[AccessPolicy]
    page: _common_pb2.PageResponse
    def __init__(self, policies: _Optional[_Iterable[_Union[AccessPolicy, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class DeleteAccessPolicyRequest(_message.Message):
    __slots__ = ("policy_id", "requested_by")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    requested_by: _common_pb2.Principal
    def __init__(self, policy_id: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class DeleteAccessPolicyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PublishLocalListRequest(_message.Message):
    __slots__ = ("site_id", "full", "requested_by")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    full: bool
    requested_by: _common_pb2.Principal
    def __init__(self, site_id: _Optional[str] = ..., full: _Optional[bool] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class LocalListPush(_message.Message):
    __slots__ = ("station_id", "update_type", "status")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    update_type: str
    status: str
    def __init__(self, station_id: _Optional[str] = ..., update_type: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class PublishLocalListResponse(_message.Message):
    __slots__ = ("site_id", "version", "entries", "pushes")
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PUSHES_FIELD_NUMBER: _ClassVar[int]
    site_id: str
    version: int
    entries: int
    pushes: _containers.RepeatedCompositeFieldContainer[LocalListPush]
    def __init__(self, site_id: _Optional[str] = ..., version: _Optional[int] = ..., entries: _Optional[int] = ..., pushes: _Optional[_Iterable[_Union[LocalListPush, _Mapping]]] = ...) -> None: ...

class RotateStationCredentialsRequest(_message.Message):
    __slots__ = ("station_id", "requested_by")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    requested_by: _common_pb2.Principal
    def __init__(self, station_id: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class RotateStationCredentialsResponse(_message.Message):
    __slots__ = ("outcome", "detail")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    outcome: str
    detail: str
    def __init__(self, outcome: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ClientCertificate(_message.Message):
    __slots__ = ("sha256_fingerprint", "station_id", "subject", "not_before", "not_after", "revoked_at", "revocation_reason")
    SHA256_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_REASON_FIELD_NUMBER: _ClassVar[int]
    sha256_fingerprint: str
    station_id: str
    subject: str
    not_before: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    revocation_reason: str
    def __init__(self, sha256_fingerprint: _Optional[str] = ..., station_id: _Optional[str] = ..., subject: _Optional[str] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revocation_reason: _Optional[str] = ...) -> None: ...

class RegisterClientCertificateRequest(_message.Message):
    __slots__ = ("station_id", "certificate_pem", "requested_by")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    certificate_pem: str
    requested_by: _common_pb2.Principal
    def __init__(self, station_id: _Optional[str] = ..., certificate_pem: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class RevokeClientCertificateRequest(_message.Message):
    __slots__ = ("sha256_fingerprint", "reason", "requested_by")
    SHA256_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    sha256_fingerprint: str
    reason: str
    requested_by: _common_pb2.Principal
    def __init__(self, sha256_fingerprint: _Optional[str] = ..., reason: _Optional[str] = ..., requested_by: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListClientCertificatesRequest(_message.Message):
    __slots__ = ("station_id",)
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    def __init__(self, station_id: _Optional[str] = ...) -> None: ...

class ListClientCertificatesResponse(_message.Message):
    __slots__ = ("certificates",)
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedCompositeFieldContainer[ClientCertificate]
    def __init__(self, certificates: _Optional[_Iterable[_Union[ClientCertificate, _Mapping]]] = ...) -> None: ...
