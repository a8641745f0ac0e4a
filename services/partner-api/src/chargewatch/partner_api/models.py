"""Request and response models of the public API.

Request bodies forbid unknown fields (a misspelt field is an error, not silently ignored); every
string has a pattern or a length bound, every number a range.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

STATION_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,48}$"
TENANT_PATTERN = r"^[a-z0-9][a-z0-9\-]{0,62}$"
SITE_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
ID_TOKEN_PATTERN = r"^[A-Za-z0-9._:\-]{1,36}$"  # noqa: S105 - a pattern, not a secret
POLICY_ID_PATTERN = r"^[A-Za-z0-9._\-]{1,64}$"
GROUP_PATTERN = r"^[A-Za-z0-9._:\-]{1,36}$"
FLEET_PATTERN = r"^[A-Za-z0-9._\-]{1,64}$"
TRANSACTION_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
CURSOR_PATTERN = r"^[A-Za-z0-9_\-=.:|]{1,512}$"

ConnectorStatusName = Literal[
    "Unknown",
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEVSE",
    "SuspendedEV",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
    "Occupied",
]
RegistrationStatusName = Literal["Accepted", "Pending", "Rejected"]
IdTokenType = Literal["ISO14443", "ISO15693", "Central", "KeyCode", "eMAID", "MacAddress", "Local", "NoAuthorization"]
# The kinds authz keeps as driver tokens.
DriverTokenType = Literal["ISO14443", "ISO15693", "Central", "KeyCode", "eMAID"]
TokenStatusName = Literal["active", "blocked", "expired"]


class Strict(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# -- stations -----------------------------------------------------------------------------------
class Location(Strict):
    lat: float = Field(ge=-90, le=90, examples=[52.37])
    lon: float = Field(ge=-180, le=180, examples=[4.89])


class ConnectorOut(BaseModel):
    evse_id: int = Field(examples=[1])
    connector_id: int = Field(examples=[1])
    status: ConnectorStatusName = Field(examples=["Available"])
    error_code: str | None = Field(default=None, examples=["NoError"])
    status_since: datetime | None = None
    connector_type: str | None = Field(default=None, examples=["cCCS2"])
    max_power_w: float | None = Field(default=None, examples=[150000.0])
    current_transaction_id: str | None = None
    last_energy_wh: float | None = Field(default=None, description="Energy register at the last reading, Wh")
    last_power_w: float | None = Field(default=None, description="Power at the last reading, W")
    last_reading_at: datetime | None = None


class StationOut(BaseModel):
    id: str = Field(examples=["CP-AMS-001"])
    tenant_id: str = Field(examples=["partner-a"])
    site_id: str = Field(examples=["amsterdam-centraal"])
    name: str = Field(examples=["Amsterdam Centraal 1"])
    security_profile: int = Field(ge=0, le=3, examples=[2])
    online: bool
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None
    ocpp_version: Literal["1.6", "2.0.1", "2.1"] | None = None
    registration_status: RegistrationStatusName | None = None
    location: Location | None = None
    last_seen: datetime | None = None
    last_heartbeat: datetime | None = None
    last_boot: datetime | None = None
    registered_at: datetime | None = None
    connectors: list[ConnectorOut]


class StationPage(BaseModel):
    items: list[StationOut]
    total: int = Field(description="Stations matching the filters, across all pages")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page")


class StationCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "CP-AMS-001", "tenant_id": "partner-a", "site_id": "amsterdam-centraal", "security_profile": 2}
            ]
        },
    )
    id: str = Field(pattern=STATION_ID_PATTERN, description="The OCPP charge point identity")
    tenant_id: str = Field(pattern=TENANT_PATTERN)
    site_id: str = Field(pattern=SITE_PATTERN)
    security_profile: Literal[1, 2, 3] = Field(
        description="1: Basic auth over ws (development only), 2: TLS + Basic auth, 3: mutual TLS"
    )
    name: str | None = Field(default=None, max_length=120)
    location: Location | None = None


class StationCreated(StationOut):
    password: str | None = Field(
        default=None,
        description="The station's Basic-auth password (profiles 1 and 2). Shown once: store it in the station now.",
    )


class RegistrationUpdate(Strict):
    status: RegistrationStatusName = Field(description="What the station's next BootNotification is answered with")
    reason: str = Field(default="", max_length=200)


class RegistrationOut(BaseModel):
    station_id: str
    status: RegistrationStatusName


class CredentialRotation(BaseModel):
    station_id: str
    outcome: Literal["accepted", "rejected", "not_connected"] | str = Field(
        description="accepted: the station took a new password (the old one works until it reconnects)"
    )
    detail: str | None = None


# -- meter values and status history -------------------------------------------------------------
class MeterPoint(BaseModel):
    timestamp: datetime
    energy_wh: float = Field(description="Energy register (import), Wh; the last of the bucket when downsampled")
    power_w: float = Field(description="Active power, W; the bucket's mean when downsampled")
    max_power_w: float | None = Field(default=None, description="Highest power in the bucket (downsampled only)")
    current_a: float | None = None
    voltage_v: float | None = None
    soc_percent: float | None = None
    temperature_c: float | None = None
    samples: int | None = Field(default=None, description="Readings in the bucket (downsampled only)")
    quality_flags: list[str] = Field(default_factory=list, examples=[["clock_skew"]])


class MeterSeriesOut(BaseModel):
    station_id: str
    evse_id: int
    connector_id: int
    transaction_id: str | None = None
    step_seconds: int = Field(description="Bucket width; 0 for raw readings")
    points: list[MeterPoint]


class StatusChange(BaseModel):
    event_id: str
    evse_id: int
    connector_id: int
    status: ConnectorStatusName
    error_code: str | None = None
    at: datetime = Field(description="When the station says the status changed")
    received_at: datetime | None = None


class StatusHistory(BaseModel):
    station_id: str
    since: datetime
    items: list[StatusChange] = Field(description="Oldest first")
    complete: bool = Field(
        description="False when older changes in the window were no longer available (retention) or cut by `limit`"
    )


# -- sessions -----------------------------------------------------------------------------------
class SessionOut(BaseModel):
    transaction_id: str
    station_id: str
    evse_id: int
    connector_id: int
    tenant_id: str
    id_token: str | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    ended: bool
    energy_wh: float
    peak_power_w: float | None = None
    duration_seconds: int | None = None
    idle_seconds: int | None = None
    stop_reason: str | None = None


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int
    next_cursor: str | None = None


# -- fleet summary ------------------------------------------------------------------------------
class SiteSummary(BaseModel):
    tenant_id: str
    site_id: str
    stations: int
    online: int
    connectors: dict[str, int] = Field(description="Connectors per status", examples=[{"Available": 6, "Charging": 2}])


class FleetSummary(BaseModel):
    stations: int
    online: int
    connectors: dict[str, int] = Field(description="Connectors per status, fleet-wide")
    sites: list[SiteSummary]
    generated_at: datetime


# -- remote commands ----------------------------------------------------------------------------
class StartCommand(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"evse_id": 1, "id_token": "04A1B2C3"}]})
    id_token: str = Field(pattern=ID_TOKEN_PATTERN, description="The driver token to charge with")
    id_token_type: IdTokenType = Field(default="ISO14443", description="OCPP 2.0.1 IdTokenEnumType")
    evse_id: int | None = Field(default=None, ge=1, le=100, description="EVSE (1.6: connector) to start on")


class StopCommand(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"transaction_id": "1234"}]})
    transaction_id: str = Field(pattern=TRANSACTION_ID_PATTERN)


class ResetCommand(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"type": "soft"}]})
    type: Literal["soft", "hard"] = Field(
        default="soft", description="soft: when idle (2.0.1 OnIdle); hard: at once (2.0.1 Immediate)"
    )


class UnlockCommand(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"evse_id": 1, "connector_id": 1}]})
    evse_id: int = Field(ge=1, le=100)
    connector_id: int = Field(default=1, ge=1, le=10)


class AvailabilityCommand(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"evse_id": 1, "operative": False}]})
    operative: bool = Field(description="true: Operative, false: Inoperative")
    evse_id: int = Field(default=0, ge=0, le=100, description="0 for the whole station")


TriggerableMessage = Literal[
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "MeterValues",
    "FirmwareStatusNotification",
    "LogStatusNotification",
]
CONFIG_NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,50}$"
URL_PATTERN = r"^(https|ftps?|sftp)://[^\s]{3,500}$"


class TriggerCommand(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"message": "StatusNotification"}]})
    message: TriggerableMessage = Field(
        description="What the station sends now (LogStatusNotification: 1.6 Diagnostics)"
    )
    evse_id: int | None = Field(default=None, ge=1, le=100, description="For StatusNotification and MeterValues")


class ConfigVariable(Strict):
    component: str = Field(pattern=CONFIG_NAME_PATTERN, examples=["OCPPCommCtrlr"])
    variable: str = Field(pattern=CONFIG_NAME_PATTERN, examples=["HeartbeatInterval"])
    evse_id: int | None = Field(default=None, ge=1, le=100)


class GetConfigurationCommand(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"keys": ["HeartbeatInterval"]},
                {"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]},
            ]
        },
    )
    keys: list[Annotated[str, Field(pattern=CONFIG_NAME_PATTERN)]] | None = Field(
        default=None, max_length=50, description="OCPP 1.6 configuration keys (none: every key)"
    )
    variables: list[ConfigVariable] | None = Field(
        default=None, min_length=1, max_length=50, description="OCPP 2.0.1 component variables"
    )


class ChangeConfigurationCommand(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"key": "HeartbeatInterval", "value": "300"},
                {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "300"},
            ]
        },
    )
    key: str | None = Field(default=None, pattern=CONFIG_NAME_PATTERN, description="OCPP 1.6 configuration key")
    component: str | None = Field(default=None, pattern=CONFIG_NAME_PATTERN, description="OCPP 2.0.1 component")
    variable: str | None = Field(default=None, pattern=CONFIG_NAME_PATTERN, description="OCPP 2.0.1 variable")
    evse_id: int | None = Field(default=None, ge=1, le=100, description="OCPP 2.0.1: the component's EVSE")
    value: str = Field(max_length=500)


class FirmwareCommand(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"location": "https://firmware.example/cp-2.4.1.bin", "retrieve_at": "2026-12-02T02:00:00Z"}]
        },
    )
    location: str = Field(pattern=URL_PATTERN, description="Where the station downloads the image")
    retrieve_at: AwareDatetime = Field(description="When the station downloads it")
    retries: int | None = Field(default=None, ge=0, le=10)
    retry_interval_seconds: int | None = Field(default=None, ge=0, le=86_400)
    signature: str | None = Field(
        default=None, min_length=1, max_length=800, description="Base64 signature (required at profiles 2 and 3)"
    )
    signing_certificate: str | None = Field(
        default=None, min_length=1, max_length=5500, description="PEM certificate that signed the image"
    )


class LogCommand(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"location": "https://logs.example/upload", "log": "security"}]}
    )
    location: str = Field(pattern=URL_PATTERN, description="Where the station uploads the log")
    log: Literal["diagnostics", "security"] = "diagnostics"
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class DataTransferCommand(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"vendor_id": "com.example", "message_id": "Ping"}]}
    )
    vendor_id: str = Field(min_length=1, max_length=255)
    message_id: str | None = Field(default=None, max_length=50)
    data: str | None = Field(default=None, max_length=10_000)


class EmptyCommand(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class CommandResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "station_id": "CW-A-0001",
                    "command": "reset",
                    "ocpp_action": "Reset",
                    "status": "Accepted",
                    "response": {"status": "Accepted"},
                    "message_id": "5f0c3c1e",
                }
            ]
        }
    )
    station_id: str
    command: str
    ocpp_action: str
    status: str | None = Field(description="The station's status field (Accepted, Rejected, ...)")
    response: dict[str, Any] = Field(description="The station's whole answer")
    message_id: str


# -- driver tokens and access policies ------------------------------------------------------------
class DriverTokenOut(BaseModel):
    id_token: str
    id_token_type: str
    tenant_id: str
    status: TokenStatusName | str
    expires_at: datetime | None = None
    group_id: str | None = None
    user_id: str | None = None
    fleet: str | None = None
    reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DriverTokenCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"id_token": "04A1B2C3D4", "id_token_type": "ISO14443", "group_id": "fleet-1"}]
        },
    )
    id_token: str = Field(pattern=ID_TOKEN_PATTERN)
    id_token_type: DriverTokenType = "ISO14443"  # noqa: S105 - a token kind
    tenant_id: str | None = Field(default=None, pattern=TENANT_PATTERN, description="Operators only; partners: own")
    status: TokenStatusName = "active"
    expires_at: datetime | None = None
    group_id: str | None = Field(default=None, pattern=GROUP_PATTERN)
    fleet: str | None = Field(default=None, pattern=FLEET_PATTERN)
    reason: str | None = Field(default=None, max_length=200)


class DriverTokenUpdate(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "blocked", "reason": "lost"}]})
    status: TokenStatusName
    reason: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = None


class DriverTokenPage(BaseModel):
    items: list[DriverTokenOut]
    total: int
    next_cursor: str | None = None


class TimeWindow(Strict):
    days_of_week: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        min_length=1, max_length=7, description="ISO weekdays, 1 Monday .. 7 Sunday"
    )
    start: str = Field(pattern=HHMM_PATTERN, examples=["07:00"])
    end: str = Field(pattern=HHMM_PATTERN, examples=["19:00"])


class AccessPolicyIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "partner-a",
                    "name": "Fleet hours",
                    "site_ids": ["ams-centraal"],
                    "allowed_groups": ["fleet-1"],
                    "time_windows": [{"days_of_week": [1, 2, 3, 4, 5], "start": "07:00", "end": "19:00"}],
                    "timezone": "Europe/Amsterdam",
                }
            ]
        },
    )
    tenant_id: str = Field(pattern=TENANT_PATTERN)
    name: str = Field(min_length=1, max_length=120)
    site_ids: list[str] = Field(default_factory=list, max_length=500)
    station_ids: list[str] = Field(default_factory=list, max_length=5000)
    allowed_groups: list[str] = Field(default_factory=list, max_length=500)
    time_windows: list[TimeWindow] = Field(default_factory=list, max_length=50)
    timezone: str = Field(default="UTC", max_length=64)
    max_concurrent_sessions: int = Field(default=0, ge=0, le=100)
    max_session_seconds: int = Field(default=0, ge=0, le=7 * 86_400)
    blocked_id_tokens: list[str] = Field(default_factory=list, max_length=10_000)


class AccessPolicyOut(BaseModel):
    policy_id: str
    tenant_id: str
    name: str
    site_ids: list[str]
    station_ids: list[str]
    allowed_groups: list[str]
    time_windows: list[TimeWindow]
    timezone: str
    max_concurrent_sessions: int
    max_session_seconds: int
    blocked_id_tokens: list[str]
    version: int
    updated_at: datetime | None = None


class AccessPolicyPage(BaseModel):
    items: list[AccessPolicyOut]
    total: int
    next_cursor: str | None = None


# -- events and webhooks --------------------------------------------------------------------------
# What a stream or webhook may subscribe to; alert.* are for the operator and security-analyst roles.
SubscribableEvent = Literal[
    "station.status",
    "station.connection",
    "incident.opened",
    "incident.resolved",
    "incident.overdue",
    "uptime.at_risk",
    "alert.raised",
    "alert.updated",
]


class EventOut(BaseModel):
    """One event, as sent on the event stream (`data:` of an SSE message) and in webhook bodies."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1764547200000-0",
                    "type": "station.status",
                    "time": "2026-12-01T00:00:00Z",
                    "station_id": "CW-A-0001",
                    "tenant_id": "partner-a",
                    "data": {"evse_id": 1, "connector_id": 1, "status": "Charging", "error_code": "NoError"},
                }
            ]
        }
    )
    id: str = Field(description="Unique and increasing; give it as Last-Event-ID to resume a stream")
    event_id: str = Field(description="The platform's id of the fact (the same in SSE and webhooks)")
    type: str
    time: datetime = Field(description="When the station says it happened")
    station_id: str
    tenant_id: str
    data: dict[str, Any]


class WebhookCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://partner.example/hooks/chargewatch", "events": ["station.status"]}]
        },
    )
    url: str = Field(
        min_length=8,
        max_length=2048,
        pattern=r"^https?://",
        description="https:// on port 443 (no port or :443) in production, to a public address",
    )
    events: list[SubscribableEvent] = Field(
        min_length=1, max_length=10, description="alert.* need the operator or security-analyst role"
    )
    description: str | None = Field(default=None, max_length=200)
    tenant_id: str | None = Field(
        default=None, pattern=TENANT_PATTERN, description="Operators: one tenant's events (empty: every tenant's)"
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    tenant_id: str | None = None
    description: str | None = None
    created_at: datetime
    last_attempt_at: datetime | None = None
    last_status: int | None = Field(default=None, description="HTTP status of the last delivery attempt (0: no answer)")
    last_error: str | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery (HMAC-SHA256). Shown once: store it now.")


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    total: int
    next_cursor: str | None = None


class WebhookPing(BaseModel):
    event_id: str
    queued: bool


# -- blocks, quarantines, token links, local lists, client certificates (authz) -------------------
BLOCK_SUBJECT_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
FINGERPRINT_PATTERN = r"^[0-9a-f]{64}$"


class BlockCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"subject_kind": "token", "subject_id": "04A1B2C3D4", "reason": "reported stolen"},
                {"subject_kind": "station", "subject_id": "CW-A-0001", "reason": "tampered", "mode": "set_unavailable"},
            ]
        },
    )
    subject_kind: Literal["token", "station"] = Field(description="token: every Authorize answers Blocked")
    subject_id: str = Field(pattern=BLOCK_SUBJECT_PATTERN, description="The token uid or the station id")
    reason: str = Field(min_length=1, max_length=200)
    mode: Literal["refuse_connections", "set_unavailable"] | None = Field(
        default=None, description="Stations: refused at the handshake (default), or kept connected but unavailable"
    )
    expires_at: AwareDatetime | None = Field(default=None, description="Lifted by itself then (default: never)")


class BlockOut(BaseModel):
    id: str
    subject_kind: str
    subject_id: str
    reason: str
    requested_by: str | None = None
    mode: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    lifted_at: datetime | None = None


class BlockPage(BaseModel):
    items: list[BlockOut]
    total: int
    next_cursor: str | None = None


class BlockLift(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "card found"}]})
    reason: str = Field(default="", max_length=200)


class TokenLink(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"fleet": "fleet-1"}]})
    user_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9\-]{1,64}$", description="A Keycloak user id")
    fleet: str | None = Field(default=None, pattern=FLEET_PATTERN, description="A Keycloak group (fleet)")


class LocalListPublish(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"full": False}]})
    full: bool = Field(default=False, description="Send the whole list even where a differential update would do")


class LocalListPushOut(BaseModel):
    station_id: str
    update_type: str = Field(examples=["Differential"])
    status: str = Field(description="The station's answer, or not_connected", examples=["Accepted"])


class LocalListOut(BaseModel):
    site_id: str
    version: int
    entries: int
    pushes: list[LocalListPushOut]


class ClientCertificateIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"certificate_pem": "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"}]
        },
    )
    certificate_pem: str = Field(
        min_length=64,
        max_length=16_384,
        pattern=r"^\s*-----BEGIN CERTIFICATE-----",
        description="PEM, naming the station",
    )


class ClientCertificateOut(BaseModel):
    sha256_fingerprint: str
    station_id: str
    subject: str
    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None


class ClientCertificateList(BaseModel):
    items: list[ClientCertificateOut]


class CertificateRevoke(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "key compromised"}]})
    reason: str = Field(default="", max_length=200)
