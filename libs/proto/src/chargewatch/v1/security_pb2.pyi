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

class CertificateKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CERTIFICATE_KIND_UNSPECIFIED: _ClassVar[CertificateKind]
    CERTIFICATE_KIND_STATION_CLIENT: _ClassVar[CertificateKind]
    CERTIFICATE_KIND_CSMS_SERVER: _ClassVar[CertificateKind]
    CERTIFICATE_KIND_CA: _ClassVar[CertificateKind]

class CertificateStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CERTIFICATE_STATUS_UNSPECIFIED: _ClassVar[CertificateStatus]
    CERTIFICATE_STATUS_VALID: _ClassVar[CertificateStatus]
    CERTIFICATE_STATUS_EXPIRING: _ClassVar[CertificateStatus]
    CERTIFICATE_STATUS_EXPIRED: _ClassVar[CertificateStatus]
    CERTIFICATE_STATUS_REVOKED: _ClassVar[CertificateStatus]
    CERTIFICATE_STATUS_NOT_YET_VALID: _ClassVar[CertificateStatus]

class ResponseActionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESPONSE_ACTION_KIND_UNSPECIFIED: _ClassVar[ResponseActionKind]
    RESPONSE_ACTION_KIND_QUARANTINE_STATION: _ClassVar[ResponseActionKind]
    RESPONSE_ACTION_KIND_BLOCK_TOKEN: _ClassVar[ResponseActionKind]
    RESPONSE_ACTION_KIND_DISCONNECT_STATION: _ClassVar[ResponseActionKind]

class ResponseActionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESPONSE_ACTION_STATE_UNSPECIFIED: _ClassVar[ResponseActionState]
    RESPONSE_ACTION_STATE_PENDING: _ClassVar[ResponseActionState]
    RESPONSE_ACTION_STATE_APPLIED: _ClassVar[ResponseActionState]
    RESPONSE_ACTION_STATE_DRY_RUN: _ClassVar[ResponseActionState]
    RESPONSE_ACTION_STATE_FAILED: _ClassVar[ResponseActionState]
    RESPONSE_ACTION_STATE_UNDONE: _ClassVar[ResponseActionState]
    RESPONSE_ACTION_STATE_SKIPPED: _ClassVar[ResponseActionState]
CERTIFICATE_KIND_UNSPECIFIED: CertificateKind
CERTIFICATE_KIND_STATION_CLIENT: CertificateKind
CERTIFICATE_KIND_CSMS_SERVER: CertificateKind
CERTIFICATE_KIND_CA: CertificateKind
CERTIFICATE_STATUS_UNSPECIFIED: CertificateStatus
CERTIFICATE_STATUS_VALID: CertificateStatus
CERTIFICATE_STATUS_EXPIRING: CertificateStatus
CERTIFICATE_STATUS_EXPIRED: CertificateStatus
CERTIFICATE_STATUS_REVOKED: CertificateStatus
CERTIFICATE_STATUS_NOT_YET_VALID: CertificateStatus
RESPONSE_ACTION_KIND_UNSPECIFIED: ResponseActionKind
RESPONSE_ACTION_KIND_QUARANTINE_STATION: ResponseActionKind
RESPONSE_ACTION_KIND_BLOCK_TOKEN: ResponseActionKind
RESPONSE_ACTION_KIND_DISCONNECT_STATION: ResponseActionKind
RESPONSE_ACTION_STATE_UNSPECIFIED: ResponseActionState
RESPONSE_ACTION_STATE_PENDING: ResponseActionState
RESPONSE_ACTION_STATE_APPLIED: ResponseActionState
RESPONSE_ACTION_STATE_DRY_RUN: ResponseActionState
RESPONSE_ACTION_STATE_FAILED: ResponseActionState
RESPONSE_ACTION_STATE_UNDONE: ResponseActionState
RESPONSE_ACTION_STATE_SKIPPED: ResponseActionState

class ListAlertsRequest(_message.Message):
    __slots__ = ("principal", "station_id", "state", "min_severity", "range", "page", "rule", "subject_kind", "subject_id", "incident_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    state: _events_pb2.AlertState
    min_severity: _common_pb2.Severity
    range: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    rule: str
    subject_kind: str
    subject_id: str
    incident_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ..., state: _Optional[_Union[_events_pb2.AlertState, str]] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., rule: _Optional[str] = ..., subject_kind: _Optional[str] = ..., subject_id: _Optional[str] = ..., incident_id: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("station_id", "score", "contributing_alert_ids", "computed_at", "highest_severity", "open_alerts", "anomaly_score", "tenant_id")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTING_ALERT_IDS_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    OPEN_ALERTS_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_SCORE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    score: float
    contributing_alert_ids: _containers.RepeatedScalarFieldContainer[str]
    computed_at: _timestamp_pb2.Timestamp
    highest_severity: _common_pb2.Severity
    open_alerts: int
    anomaly_score: float
    tenant_id: str
    def __init__(self, station_id: _Optional[str] = ..., score: _Optional[float] = ..., contributing_alert_ids: _Optional[_Iterable[str]] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., highest_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., open_alerts: _Optional[int] = ..., anomaly_score: _Optional[float] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class AlertEvidence(_message.Message):
    __slots__ = ("event_id", "event_type", "station_id", "at", "summary")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    event_type: str
    station_id: str
    at: _timestamp_pb2.Timestamp
    summary: str
    def __init__(self, event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., station_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., summary: _Optional[str] = ...) -> None: ...

class AlertStateChange(_message.Message):
    __slots__ = ("state", "by", "note", "at")
    STATE_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    state: _events_pb2.AlertState
    by: str
    note: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, state: _Optional[_Union[_events_pb2.AlertState, str]] = ..., by: _Optional[str] = ..., note: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AlertDetail(_message.Message):
    __slots__ = ("alert", "tenant_id", "incident_id", "occurrences", "last_seen_at", "updated_at", "evidence", "attributes", "history", "actions", "anomaly_score", "station_ids")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ALERT_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_SCORE_FIELD_NUMBER: _ClassVar[int]
    STATION_IDS_FIELD_NUMBER: _ClassVar[int]
    alert: _events_pb2.Alert
    tenant_id: str
    incident_id: str
    occurrences: int
    last_seen_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    evidence: _containers.RepeatedCompositeFieldContainer[AlertEvidence]
    attributes: _containers.ScalarMap[str, str]
    history: _containers.RepeatedCompositeFieldContainer[AlertStateChange]
    actions: _containers.RepeatedCompositeFieldContainer[ResponseAction]
    anomaly_score: float
    station_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, alert: _Optional[_Union[_events_pb2.Alert, _Mapping]] = ..., tenant_id: _Optional[str] = ..., incident_id: _Optional[str] = ..., occurrences: _Optional[int] = ..., last_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evidence: _Optional[_Iterable[_Union[AlertEvidence, _Mapping]]] = ..., attributes: _Optional[_Mapping[str, str]] = ..., history: _Optional[_Iterable[_Union[AlertStateChange, _Mapping]]] = ..., actions: _Optional[_Iterable[_Union[ResponseAction, _Mapping]]] = ..., anomaly_score: _Optional[float] = ..., station_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SecurityIncident(_message.Message):
    __slots__ = ("incident_id", "subject_kind", "subject_id", "tenant_id", "state", "severity", "risk_score", "alert_ids", "rules", "opened_at", "updated_at", "closed_at", "title", "station_ids")
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    RISK_SCORE_FIELD_NUMBER: _ClassVar[int]
    ALERT_IDS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    STATION_IDS_FIELD_NUMBER: _ClassVar[int]
    incident_id: str
    subject_kind: str
    subject_id: str
    tenant_id: str
    state: _events_pb2.AlertState
    severity: _common_pb2.Severity
    risk_score: float
    alert_ids: _containers.RepeatedScalarFieldContainer[str]
    rules: _containers.RepeatedScalarFieldContainer[str]
    opened_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    closed_at: _timestamp_pb2.Timestamp
    title: str
    station_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, incident_id: _Optional[str] = ..., subject_kind: _Optional[str] = ..., subject_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., state: _Optional[_Union[_events_pb2.AlertState, str]] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., risk_score: _Optional[float] = ..., alert_ids: _Optional[_Iterable[str]] = ..., rules: _Optional[_Iterable[str]] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., title: _Optional[str] = ..., station_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListSecurityIncidentsRequest(_message.Message):
    __slots__ = ("principal", "subject_kind", "subject_id", "state", "min_severity", "range", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    subject_kind: str
    subject_id: str
    state: _events_pb2.AlertState
    min_severity: _common_pb2.Severity
    range: _common_pb2.TimeRange
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., subject_kind: _Optional[str] = ..., subject_id: _Optional[str] = ..., state: _Optional[_Union[_events_pb2.AlertState, str]] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListSecurityIncidentsResponse(_message.Message):
    __slots__ = ("incidents", "page")
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    incidents: _containers.RepeatedCompositeFieldContainer[SecurityIncident]
    page: _common_pb2.PageResponse
    def __init__(self, incidents: _Optional[_Iterable[_Union[SecurityIncident, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetSecurityIncidentRequest(_message.Message):
    __slots__ = ("principal", "incident_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    incident_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., incident_id: _Optional[str] = ...) -> None: ...

class SecurityIncidentActionRequest(_message.Message):
    __slots__ = ("principal", "incident_id", "note", "false_positive")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    FALSE_POSITIVE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    incident_id: str
    note: str
    false_positive: bool
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., incident_id: _Optional[str] = ..., note: _Optional[str] = ..., false_positive: _Optional[bool] = ...) -> None: ...

class ListRiskScoresRequest(_message.Message):
    __slots__ = ("principal", "limit", "min_score")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    limit: int
    min_score: float
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., limit: _Optional[int] = ..., min_score: _Optional[float] = ...) -> None: ...

class ListRiskScoresResponse(_message.Message):
    __slots__ = ("scores",)
    SCORES_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.RepeatedCompositeFieldContainer[RiskScore]
    def __init__(self, scores: _Optional[_Iterable[_Union[RiskScore, _Mapping]]] = ...) -> None: ...

class DetectionRuleParameter(_message.Message):
    __slots__ = ("name", "value", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    description: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., description: _Optional[str] = ...) -> None: ...

class DetectionRule(_message.Message):
    __slots__ = ("rule_id", "title", "description", "severity", "mitre_technique", "mitre_name", "category", "inputs", "enabled", "parameters")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MITRE_TECHNIQUE_FIELD_NUMBER: _ClassVar[int]
    MITRE_NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    title: str
    description: str
    severity: _common_pb2.Severity
    mitre_technique: str
    mitre_name: str
    category: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    enabled: bool
    parameters: _containers.RepeatedCompositeFieldContainer[DetectionRuleParameter]
    def __init__(self, rule_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., mitre_technique: _Optional[str] = ..., mitre_name: _Optional[str] = ..., category: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., enabled: _Optional[bool] = ..., parameters: _Optional[_Iterable[_Union[DetectionRuleParameter, _Mapping]]] = ...) -> None: ...

class ListRulesRequest(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[DetectionRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[DetectionRule, _Mapping]]] = ...) -> None: ...

class GetStationProfileRequest(_message.Message):
    __slots__ = ("principal", "station_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    station_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., station_id: _Optional[str] = ...) -> None: ...

class FeatureBaseline(_message.Message):
    __slots__ = ("name", "mean", "stddev", "last_value", "last_score")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STDDEV_FIELD_NUMBER: _ClassVar[int]
    LAST_VALUE_FIELD_NUMBER: _ClassVar[int]
    LAST_SCORE_FIELD_NUMBER: _ClassVar[int]
    name: str
    mean: float
    stddev: float
    last_value: float
    last_score: float
    def __init__(self, name: _Optional[str] = ..., mean: _Optional[float] = ..., stddev: _Optional[float] = ..., last_value: _Optional[float] = ..., last_score: _Optional[float] = ...) -> None: ...

class StationSecurityProfile(_message.Message):
    __slots__ = ("station_id", "tenant_id", "first_seen", "last_seen", "known_addresses", "known_certificates", "firmware_version", "security_profile", "windows_learned", "warmed_up", "anomaly_score", "features", "anomaly_window_seconds")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    KNOWN_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    KNOWN_CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SECURITY_PROFILE_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_LEARNED_FIELD_NUMBER: _ClassVar[int]
    WARMED_UP_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_SCORE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    tenant_id: str
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    known_addresses: _containers.RepeatedScalarFieldContainer[str]
    known_certificates: _containers.RepeatedScalarFieldContainer[str]
    firmware_version: str
    security_profile: _common_pb2.SecurityProfile
    windows_learned: int
    warmed_up: bool
    anomaly_score: float
    features: _containers.RepeatedCompositeFieldContainer[FeatureBaseline]
    anomaly_window_seconds: int
    def __init__(self, station_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., known_addresses: _Optional[_Iterable[str]] = ..., known_certificates: _Optional[_Iterable[str]] = ..., firmware_version: _Optional[str] = ..., security_profile: _Optional[_Union[_common_pb2.SecurityProfile, str]] = ..., windows_learned: _Optional[int] = ..., warmed_up: _Optional[bool] = ..., anomaly_score: _Optional[float] = ..., features: _Optional[_Iterable[_Union[FeatureBaseline, _Mapping]]] = ..., anomaly_window_seconds: _Optional[int] = ...) -> None: ...

class InventoryCertificate(_message.Message):
    __slots__ = ("sha256_fingerprint", "kind", "status", "subject", "issuer", "serial_number", "not_before", "not_after", "days_remaining", "revoked_at", "revocation_reason", "station_ids", "affected_stations", "source")
    SHA256_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    DAYS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_REASON_FIELD_NUMBER: _ClassVar[int]
    STATION_IDS_FIELD_NUMBER: _ClassVar[int]
    AFFECTED_STATIONS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    sha256_fingerprint: str
    kind: CertificateKind
    status: CertificateStatus
    subject: str
    issuer: str
    serial_number: str
    not_before: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    days_remaining: int
    revoked_at: _timestamp_pb2.Timestamp
    revocation_reason: str
    station_ids: _containers.RepeatedScalarFieldContainer[str]
    affected_stations: int
    source: str
    def __init__(self, sha256_fingerprint: _Optional[str] = ..., kind: _Optional[_Union[CertificateKind, str]] = ..., status: _Optional[_Union[CertificateStatus, str]] = ..., subject: _Optional[str] = ..., issuer: _Optional[str] = ..., serial_number: _Optional[str] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., days_remaining: _Optional[int] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revocation_reason: _Optional[str] = ..., station_ids: _Optional[_Iterable[str]] = ..., affected_stations: _Optional[int] = ..., source: _Optional[str] = ...) -> None: ...

class ListCertificatesRequest(_message.Message):
    __slots__ = ("principal", "kind", "station_id", "expiring_within_days")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRING_WITHIN_DAYS_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    kind: CertificateKind
    station_id: str
    expiring_within_days: int
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., kind: _Optional[_Union[CertificateKind, str]] = ..., station_id: _Optional[str] = ..., expiring_within_days: _Optional[int] = ...) -> None: ...

class ListCertificatesResponse(_message.Message):
    __slots__ = ("certificates", "scanned_at")
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    SCANNED_AT_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedCompositeFieldContainer[InventoryCertificate]
    scanned_at: _timestamp_pb2.Timestamp
    def __init__(self, certificates: _Optional[_Iterable[_Union[InventoryCertificate, _Mapping]]] = ..., scanned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ResponsePolicy(_message.Message):
    __slots__ = ("policy_id", "name", "enabled", "rules", "min_severity", "actions", "quarantine_mode", "duration_seconds", "dry_run", "version", "updated_at", "updated_by")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    QUARANTINE_MODE_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    name: str
    enabled: bool
    rules: _containers.RepeatedScalarFieldContainer[str]
    min_severity: _common_pb2.Severity
    actions: _containers.RepeatedScalarFieldContainer[ResponseActionKind]
    quarantine_mode: str
    duration_seconds: int
    dry_run: bool
    version: int
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, policy_id: _Optional[str] = ..., name: _Optional[str] = ..., enabled: _Optional[bool] = ..., rules: _Optional[_Iterable[str]] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., actions: _Optional[_Iterable[_Union[ResponseActionKind, str]]] = ..., quarantine_mode: _Optional[str] = ..., duration_seconds: _Optional[int] = ..., dry_run: _Optional[bool] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class PutResponsePolicyRequest(_message.Message):
    __slots__ = ("principal", "policy")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    policy: ResponsePolicy
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., policy: _Optional[_Union[ResponsePolicy, _Mapping]] = ...) -> None: ...

class ListResponsePoliciesRequest(_message.Message):
    __slots__ = ("principal",)
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ...) -> None: ...

class ListResponsePoliciesResponse(_message.Message):
    __slots__ = ("policies",)
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[ResponsePolicy]
    def __init__(self, policies: _Optional[_Iterable[_Union[ResponsePolicy, _Mapping]]] = ...) -> None: ...

class DeleteResponsePolicyRequest(_message.Message):
    __slots__ = ("principal", "policy_id")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    policy_id: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., policy_id: _Optional[str] = ...) -> None: ...

class DeleteResponsePolicyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResponseAction(_message.Message):
    __slots__ = ("action_id", "alert_id", "incident_id", "policy_id", "kind", "subject_kind", "subject_id", "state", "dry_run", "description", "detail", "block_id", "requested_by", "created_at", "completed_at", "undone_at", "undone_by", "undo_reason", "reversible", "tenant_id", "expires_at")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    BLOCK_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    UNDONE_AT_FIELD_NUMBER: _ClassVar[int]
    UNDONE_BY_FIELD_NUMBER: _ClassVar[int]
    UNDO_REASON_FIELD_NUMBER: _ClassVar[int]
    REVERSIBLE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    alert_id: str
    incident_id: str
    policy_id: str
    kind: ResponseActionKind
    subject_kind: str
    subject_id: str
    state: ResponseActionState
    dry_run: bool
    description: str
    detail: str
    block_id: str
    requested_by: str
    created_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    undone_at: _timestamp_pb2.Timestamp
    undone_by: str
    undo_reason: str
    reversible: bool
    tenant_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, action_id: _Optional[str] = ..., alert_id: _Optional[str] = ..., incident_id: _Optional[str] = ..., policy_id: _Optional[str] = ..., kind: _Optional[_Union[ResponseActionKind, str]] = ..., subject_kind: _Optional[str] = ..., subject_id: _Optional[str] = ..., state: _Optional[_Union[ResponseActionState, str]] = ..., dry_run: _Optional[bool] = ..., description: _Optional[str] = ..., detail: _Optional[str] = ..., block_id: _Optional[str] = ..., requested_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., undone_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., undone_by: _Optional[str] = ..., undo_reason: _Optional[str] = ..., reversible: _Optional[bool] = ..., tenant_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RespondToAlertRequest(_message.Message):
    __slots__ = ("principal", "alert_id", "actions", "dry_run", "reason", "duration_seconds", "quarantine_mode")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    QUARANTINE_MODE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    alert_id: str
    actions: _containers.RepeatedScalarFieldContainer[ResponseActionKind]
    dry_run: bool
    reason: str
    duration_seconds: int
    quarantine_mode: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., alert_id: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[ResponseActionKind, str]]] = ..., dry_run: _Optional[bool] = ..., reason: _Optional[str] = ..., duration_seconds: _Optional[int] = ..., quarantine_mode: _Optional[str] = ...) -> None: ...

class RespondToAlertResponse(_message.Message):
    __slots__ = ("actions",)
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[ResponseAction]
    def __init__(self, actions: _Optional[_Iterable[_Union[ResponseAction, _Mapping]]] = ...) -> None: ...

class ListResponseActionsRequest(_message.Message):
    __slots__ = ("principal", "alert_id", "subject_id", "state", "page")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    alert_id: str
    subject_id: str
    state: ResponseActionState
    page: _common_pb2.PageRequest
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., alert_id: _Optional[str] = ..., subject_id: _Optional[str] = ..., state: _Optional[_Union[ResponseActionState, str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListResponseActionsResponse(_message.Message):
    __slots__ = ("actions", "page")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[ResponseAction]
    page: _common_pb2.PageResponse
    def __init__(self, actions: _Optional[_Iterable[_Union[ResponseAction, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class UndoResponseActionRequest(_message.Message):
    __slots__ = ("principal", "action_id", "reason")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    principal: _common_pb2.Principal
    action_id: str
    reason: str
    def __init__(self, principal: _Optional[_Union[_common_pb2.Principal, _Mapping]] = ..., action_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
