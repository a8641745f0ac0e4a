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

class AuthorizationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTHORIZATION_STATUS_UNSPECIFIED: _ClassVar[AuthorizationStatus]
    AUTHORIZATION_STATUS_ACCEPTED: _ClassVar[AuthorizationStatus]
    AUTHORIZATION_STATUS_BLOCKED: _ClassVar[AuthorizationStatus]
    AUTHORIZATION_STATUS_EXPIRED: _ClassVar[AuthorizationStatus]
    AUTHORIZATION_STATUS_INVALID: _ClassVar[AuthorizationStatus]
    AUTHORIZATION_STATUS_CONCURRENT_TX: _ClassVar[AuthorizationStatus]
    AUTHORIZATION_STATUS_UNKNOWN: _ClassVar[AuthorizationStatus]
    AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION: _ClassVar[AuthorizationStatus]
    AUTHORIZATION_STATUS_NOT_AT_THIS_TIME: _ClassVar[AuthorizationStatus]

class AlertState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_STATE_UNSPECIFIED: _ClassVar[AlertState]
    ALERT_STATE_OPEN: _ClassVar[AlertState]
    ALERT_STATE_ACKNOWLEDGED: _ClassVar[AlertState]
    ALERT_STATE_RESOLVED: _ClassVar[AlertState]
    ALERT_STATE_FALSE_POSITIVE: _ClassVar[AlertState]
AUTHORIZATION_STATUS_UNSPECIFIED: AuthorizationStatus
AUTHORIZATION_STATUS_ACCEPTED: AuthorizationStatus
AUTHORIZATION_STATUS_BLOCKED: AuthorizationStatus
AUTHORIZATION_STATUS_EXPIRED: AuthorizationStatus
AUTHORIZATION_STATUS_INVALID: AuthorizationStatus
AUTHORIZATION_STATUS_CONCURRENT_TX: AuthorizationStatus
AUTHORIZATION_STATUS_UNKNOWN: AuthorizationStatus
AUTHORIZATION_STATUS_NOT_AT_THIS_LOCATION: AuthorizationStatus
AUTHORIZATION_STATUS_NOT_AT_THIS_TIME: AuthorizationStatus
ALERT_STATE_UNSPECIFIED: AlertState
ALERT_STATE_OPEN: AlertState
ALERT_STATE_ACKNOWLEDGED: AlertState
ALERT_STATE_RESOLVED: AlertState
ALERT_STATE_FALSE_POSITIVE: AlertState

class EventEnvelope(_message.Message):
    __slots__ = ("event_id", "event_type", "schema_version", "station_id", "tenant_id", "station_time", "received_time", "traceparent", "tracestate", "producer", "late", "connection", "heartbeat", "boot", "status", "meter_values", "transaction", "security", "authorization", "alert", "notification", "command")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_TIME_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    BOOT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    METER_VALUES_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    SECURITY_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    event_type: str
    schema_version: int
    station_id: str
    tenant_id: str
    station_time: _timestamp_pb2.Timestamp
    received_time: _timestamp_pb2.Timestamp
    traceparent: str
    tracestate: str
    producer: str
    late: bool
    connection: StationConnection
    heartbeat: StationHeartbeat
    boot: StationBoot
    status: ConnectorStatusChange
    meter_values: MeterValues
    transaction: TransactionEvent
    security: SecurityEvent
    authorization: AuthorizationDecision
    alert: Alert
    notification: StationNotification
    command: CommandAudit
    def __init__(self, event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., schema_version: _Optional[int] = ..., station_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., station_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., received_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ..., producer: _Optional[str] = ..., late: _Optional[bool] = ..., connection: _Optional[_Union[StationConnection, _Mapping]] = ..., heartbeat: _Optional[_Union[StationHeartbeat, _Mapping]] = ..., boot: _Optional[_Union[StationBoot, _Mapping]] = ..., status: _Optional[_Union[ConnectorStatusChange, _Mapping]] = ..., meter_values: _Optional[_Union[MeterValues, _Mapping]] = ..., transaction: _Optional[_Union[TransactionEvent, _Mapping]] = ..., security: _Optional[_Union[SecurityEvent, _Mapping]] = ..., authorization: _Optional[_Union[AuthorizationDecision, _Mapping]] = ..., alert: _Optional[_Union[Alert, _Mapping]] = ..., notification: _Optional[_Union[StationNotification, _Mapping]] = ..., command: _Optional[_Union[CommandAudit, _Mapping]] = ...) -> None: ...

class StationConnection(_message.Message):
    __slots__ = ("kind", "ocpp_version", "security_profile", "remote_address", "gateway_instance", "reason", "close_code", "client_certificate_sha256")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[StationConnection.Kind]
        KIND_CONNECTED: _ClassVar[StationConnection.Kind]
        KIND_DISCONNECTED: _ClassVar[StationConnection.Kind]
        KIND_REFUSED: _ClassVar[StationConnection.Kind]
    KIND_UNSPECIFIED: StationConnection.Kind
    KIND_CONNECTED: StationConnection.Kind
    KIND_DISCONNECTED: StationConnection.Kind
    KIND_REFUSED: StationConnection.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCPP_VERSION_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CLOSE_CODE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERTIFICATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    kind: StationConnection.Kind
    ocpp_version: _common_pb2.OcppVersion
    security_profile: _common_pb2.SecurityProfile
    remote_address: str
    gateway_instance: str
    reason: str
    close_code: int
    client_certificate_sha256: str
    def __init__(self, kind: _Optional[_Union[StationConnection.Kind, str]] = ..., ocpp_version: _Optional[_Union[_common_pb2.OcppVersion, str]] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., remote_address: _Optional[str] = ..., gateway_instance: _Optional[str] = ..., reason: _Optional[str] = ..., close_code: _Optional[int] = ..., client_certificate_sha256: _Optional[str] = ...) -> None: ...

class StationHeartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StationBoot(_message.Message):
    __slots__ = ("vendor", "model", "serial_number", "firmware_version", "boot_reason", "registration_status", "interval_seconds", "iccid", "imsi", "meter_type", "meter_serial_number", "ocpp_version")
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    BOOT_REASON_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ICCID_FIELD_NUMBER: _ClassVar[int]
    IMSI_FIELD_NUMBER: _ClassVar[int]
    METER_TYPE_FIELD_NUMBER: _ClassVar[int]
    METER_SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    OCPP_VERSION_FIELD_NUMBER: _ClassVar[int]
    vendor: str
    model: str
    serial_number: str
    firmware_version: str
    boot_reason: str
    registration_status: _common_pb2.RegistrationStatus
    interval_seconds: int
    iccid: str
    imsi: str
    meter_type: str
    meter_serial_number: str
    ocpp_version: _common_pb2.OcppVersion
    def __init__(self, vendor: _Optional[str] = ..., model: _Optional[str] = ..., serial_number: _Optional[str] = ..., firmware_version: _Optional[str] = ..., boot_reason: _Optional[str] = ..., registration_status: _Optional[_Union[_common_pb2.RegistrationStatus, str]] = ..., interval_seconds: _Optional[int] = ..., iccid: _Optional[str] = ..., imsi: _Optional[str] = ..., meter_type: _Optional[str] = ..., meter_serial_number: _Optional[str] = ..., ocpp_version: _Optional[_Union[_common_pb2.OcppVersion, str]] = ...) -> None: ...

class ConnectorStatusChange(_message.Message):
    __slots__ = ("evse_id", "connector_id", "status", "error_code", "info", "vendor_id", "vendor_error_code")
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    VENDOR_ID_FIELD_NUMBER: _ClassVar[int]
    VENDOR_ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    evse_id: int
    connector_id: int
    status: _common_pb2.ConnectorStatus
    error_code: str
    info: str
    vendor_id: str
    vendor_error_code: str
    def __init__(self, evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.ConnectorStatus, str]] = ..., error_code: _Optional[str] = ..., info: _Optional[str] = ..., vendor_id: _Optional[str] = ..., vendor_error_code: _Optional[str] = ...) -> None: ...

class SampledValue(_message.Message):
    __slots__ = ("timestamp", "measurand", "phase", "location", "context", "value", "unit", "unit_as_reported")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    MEASURAND_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    UNIT_AS_REPORTED_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    measurand: str
    phase: str
    location: str
    context: str
    value: float
    unit: _common_pb2.Unit
    unit_as_reported: str
    def __init__(self, timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., measurand: _Optional[str] = ..., phase: _Optional[str] = ..., location: _Optional[str] = ..., context: _Optional[str] = ..., value: _Optional[float] = ..., unit: _Optional[_Union[_common_pb2.Unit, str]] = ..., unit_as_reported: _Optional[str] = ...) -> None: ...

class MeterValues(_message.Message):
    __slots__ = ("evse_id", "connector_id", "transaction_id", "samples", "quality_flags")
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FLAGS_FIELD_NUMBER: _ClassVar[int]
    evse_id: int
    connector_id: int
    transaction_id: str
    samples: _containers.RepeatedCompositeFieldContainer[SampledValue]
    quality_flags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., transaction_id: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[SampledValue, _Mapping]]] = ..., quality_flags: _Optional[_Iterable[str]] = ...) -> None: ...

class TransactionEvent(_message.Message):
    __slots__ = ("kind", "transaction_id", "evse_id", "connector_id", "id_token", "id_token_type", "meter_wh", "stop_reason", "trigger_reason", "seq_no", "charging_state", "reservation_id", "group_id")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[TransactionEvent.Kind]
        KIND_STARTED: _ClassVar[TransactionEvent.Kind]
        KIND_UPDATED: _ClassVar[TransactionEvent.Kind]
        KIND_ENDED: _ClassVar[TransactionEvent.Kind]
    KIND_UNSPECIFIED: TransactionEvent.Kind
    KIND_STARTED: TransactionEvent.Kind
    KIND_UPDATED: TransactionEvent.Kind
    KIND_ENDED: TransactionEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    METER_WH_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_REASON_FIELD_NUMBER: _ClassVar[int]
    SEQ_NO_FIELD_NUMBER: _ClassVar[int]
    CHARGING_STATE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    kind: TransactionEvent.Kind
    transaction_id: str
    evse_id: int
    connector_id: int
    id_token: str
    id_token_type: str
    meter_wh: float
    stop_reason: str
    trigger_reason: str
    seq_no: int
    charging_state: str
    reservation_id: int
    group_id: str
    def __init__(self, kind: _Optional[_Union[TransactionEvent.Kind, str]] = ..., transaction_id: _Optional[str] = ..., evse_id: _Optional[int] = ..., connector_id: _Optional[int] = ..., id_token: _Optional[str] = ..., id_token_type: _Optional[str] = ..., meter_wh: _Optional[float] = ..., stop_reason: _Optional[str] = ..., trigger_reason: _Optional[str] = ..., seq_no: _Optional[int] = ..., charging_state: _Optional[str] = ..., reservation_id: _Optional[int] = ..., group_id: _Optional[str] = ...) -> None: ...

class SecurityEvent(_message.Message):
    __slots__ = ("type", "tech_info", "severity", "reported_by", "remote_address", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TECH_INFO_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    REPORTED_BY_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    type: str
    tech_info: str
    severity: _common_pb2.Severity
    reported_by: str
    remote_address: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, type: _Optional[str] = ..., tech_info: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., reported_by: _Optional[str] = ..., remote_address: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AuthorizationDecision(_message.Message):
    __slots__ = ("id_token", "id_token_type", "status", "reason", "group_id", "expiry", "decided_offline", "transaction_id", "evse_id", "policy_id")
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_OFFLINE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    EVSE_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    id_token: str
    id_token_type: str
    status: AuthorizationStatus
    reason: str
    group_id: str
    expiry: _timestamp_pb2.Timestamp
    decided_offline: bool
    transaction_id: str
    evse_id: int
    policy_id: str
    def __init__(self, id_token: _Optional[str] = ..., id_token_type: _Optional[str] = ..., status: _Optional[_Union[AuthorizationStatus, str]] = ..., reason: _Optional[str] = ..., group_id: _Optional[str] = ..., expiry: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decided_offline: _Optional[bool] = ..., transaction_id: _Optional[str] = ..., evse_id: _Optional[int] = ..., policy_id: _Optional[str] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "source_service", "rule", "severity", "title", "explanation", "subject_kind", "subject_id", "state", "evidence_event_ids", "mitre_technique", "risk_score", "raised_at")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SERVICE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    MITRE_TECHNIQUE_FIELD_NUMBER: _ClassVar[int]
    RISK_SCORE_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    source_service: str
    rule: str
    severity: _common_pb2.Severity
    title: str
    explanation: str
    subject_kind: str
    subject_id: str
    state: AlertState
    evidence_event_ids: _containers.RepeatedScalarFieldContainer[str]
    mitre_technique: str
    risk_score: float
    raised_at: _timestamp_pb2.Timestamp
    def __init__(self, alert_id: _Optional[str] = ..., source_service: _Optional[str] = ..., rule: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., title: _Optional[str] = ..., explanation: _Optional[str] = ..., subject_kind: _Optional[str] = ..., subject_id: _Optional[str] = ..., state: _Optional[_Union[AlertState, str]] = ..., evidence_event_ids: _Optional[_Iterable[str]] = ..., mitre_technique: _Optional[str] = ..., risk_score: _Optional[float] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StationNotification(_message.Message):
    __slots__ = ("action", "status", "request_id", "payload_json", "ocpp_version")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    OCPP_VERSION_FIELD_NUMBER: _ClassVar[int]
    action: str
    status: str
    request_id: int
    payload_json: str
    ocpp_version: _common_pb2.OcppVersion
    def __init__(self, action: _Optional[str] = ..., status: _Optional[str] = ..., request_id: _Optional[int] = ..., payload_json: _Optional[str] = ..., ocpp_version: _Optional[_Union[_common_pb2.OcppVersion, str]] = ...) -> None: ...

class CommandAudit(_message.Message):
    __slots__ = ("command_kind", "ocpp_action", "requested_by", "requested_by_client", "requested_by_roles", "tenant_id", "outcome", "message_id", "idempotency_key", "arguments_json", "duration_ms")
    COMMAND_KIND_FIELD_NUMBER: _ClassVar[int]
    OCPP_ACTION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_CLIENT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_ROLES_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    command_kind: str
    ocpp_action: str
    requested_by: str
    requested_by_client: str
    requested_by_roles: _containers.RepeatedScalarFieldContainer[str]
    tenant_id: str
    outcome: str
    message_id: str
    idempotency_key: str
    arguments_json: str
    duration_ms: float
    def __init__(self, command_kind: _Optional[str] = ..., ocpp_action: _Optional[str] = ..., requested_by: _Optional[str] = ..., requested_by_client: _Optional[str] = ..., requested_by_roles: _Optional[_Iterable[str]] = ..., tenant_id: _Optional[str] = ..., outcome: _Optional[str] = ..., message_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., arguments_json: _Optional[str] = ..., duration_ms: _Optional[float] = ...) -> None: ...
