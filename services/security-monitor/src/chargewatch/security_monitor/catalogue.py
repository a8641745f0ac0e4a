"""The rule catalogue: every detection the monitor makes, with its severity, category, MITRE ATT&CK for ICS
technique, inputs and tunable parameters (with defaults).

docs/security.md explains each rule for analysts; `ListRules` serves this table. Parameters are overridden
with `CW_SECURITY_RULE_PARAMETERS` (a JSON object of name -> number); an unknown name is refused at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from chargewatch.v1 import common_pb2

INFO = common_pb2.SEVERITY_INFO
LOW = common_pb2.SEVERITY_LOW
MEDIUM = common_pb2.SEVERITY_MEDIUM
HIGH = common_pb2.SEVERITY_HIGH
CRITICAL = common_pb2.SEVERITY_CRITICAL


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    default: float
    description: str


@dataclass(frozen=True, slots=True)
class RuleSpec:
    rule_id: str
    title: str
    description: str
    severity: int
    category: str
    inputs: tuple[str, ...]
    mitre_technique: str = ""
    mitre_name: str = ""
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)


def _p(name: str, default: float, description: str) -> Parameter:
    return Parameter(name, default, description)


RULES: Final[tuple[RuleSpec, ...]] = (
    # -- access ------------------------------------------------------------------------------------
    RuleSpec(
        "station-brute-force",
        "Password brute force against a station",
        "Repeated wrong passwords for one station id in a short time: someone is guessing the station's "
        "HTTP Basic password to impersonate it.",
        HIGH,
        "access",
        ("security:InvalidCredentials",),
        "T0859",
        "Valid Accounts",
        (
            _p("brute_force_failures", 5, "Wrong passwords for one station within the window"),
            _p("brute_force_window_seconds", 60, "Window of the brute-force count, seconds"),
        ),
    ),
    RuleSpec(
        "credential-spraying",
        "Password spraying from one address",
        "One network address failing authentication as many different stations: a password-spraying or "
        "credential-stuffing run against the fleet.",
        HIGH,
        "access",
        ("security:InvalidCredentials",),
        "T0859",
        "Valid Accounts",
        (
            _p("spraying_stations", 5, "Distinct station ids failed from one address within the window"),
            _p("spraying_window_seconds", 300, "Window of the spraying count, seconds"),
        ),
    ),
    RuleSpec(
        "tls-handshake-failures",
        "Repeated failed TLS handshakes",
        "Many TLS handshakes from one address fail (bad client certificates, unsupported versions, probes): "
        "scanning of the OCPP endpoint or a misconfigured or impersonated station.",
        MEDIUM,
        "transport",
        ("security:TlsHandshakeFailed", "security:InvalidClientCertificate"),
        "T0841",
        "Network Service Scanning",
        (
            _p("tls_failures", 10, "Failed handshakes from one address within the window"),
            _p("tls_window_seconds", 300, "Window of the handshake-failure count, seconds"),
        ),
    ),
    RuleSpec(
        "unknown-station",
        "Unknown station ids trying to connect",
        "Connections naming station ids the platform does not know (or no station at all), from one address: "
        "a misconfigured charger, or enumeration of station ids; several distinct ids raise the severity.",
        LOW,
        "access",
        ("security:UnknownStation", "security:InvalidPath"),
        "T0846",
        "Remote System Discovery",
        (
            _p("unknown_station_attempts", 3, "Attempts from one address within the window before alerting"),
            _p("unknown_station_ids", 5, "Distinct unknown ids from one address that make it an enumeration"),
            _p("unknown_station_window_seconds", 600, "Window of the unknown-station count, seconds"),
        ),
    ),
    RuleSpec(
        "station-new-certificate",
        "Known station with a new client certificate",
        "A station that used to present one client certificate connects with another, or presents one that "
        "names a different station: a replaced certificate nobody announced, or a device impersonating it.",
        MEDIUM,
        "access",
        ("connection:connected", "security:InvalidClientCertificate"),
        "T0849",
        "Masquerading",
    ),
    RuleSpec(
        "station-new-address",
        "Known station from a new network",
        "A station with an established history connects from a network (IPv4 /24, IPv6 /48) it never used: "
        "a moved modem, or a device impersonating the station from elsewhere.",
        LOW,
        "access",
        ("connection:connected",),
        "T0849",
        "Masquerading",
        (_p("new_address_learning_connections", 5, "Connections learned before new networks are reported"),),
    ),
    RuleSpec(
        "token-enumeration",
        "Many unknown tokens at one station",
        "A station presents many distinct tokens authz does not know, or that are invalid, in a short time: "
        "someone is trying card numbers (RFID enumeration).",
        MEDIUM,
        "tokens",
        ("authorization",),
        "T0859",
        "Valid Accounts",
        (
            _p("token_enumeration_tokens", 10, "Distinct refused tokens at one station within the window"),
            _p("token_enumeration_window_seconds", 300, "Window of the enumeration count, seconds"),
        ),
    ),
    # -- tokens ------------------------------------------------------------------------------------
    RuleSpec(
        "token-clone",
        "Cloned driver token",
        "The same RFID token is presented at stations too far apart for the time between the two uses, or "
        "charges at two stations at once: the card has most likely been copied.",
        HIGH,
        "tokens",
        ("authorization", "transaction"),
        "T0859",
        "Valid Accounts",
        (
            _p("clone_max_speed_kmh", 200, "Fastest plausible travel between two uses of one card, km/h"),
            _p("clone_min_distance_km", 5, "Uses closer than this are never impossible travel, km"),
            _p("clone_history_seconds", 86_400, "How far back uses of a token are compared, seconds"),
        ),
    ),
    # -- firmware ----------------------------------------------------------------------------------
    RuleSpec(
        "firmware-invalid-signature",
        "Firmware with an invalid signature or signing certificate",
        "A station rejected a firmware image because its signature or signing certificate is invalid or "
        "revoked: a tampered or counterfeit firmware reached the station.",
        HIGH,
        "firmware",
        (
            "notification:SignedFirmwareStatusNotification",
            "notification:FirmwareStatusNotification",
            "security:InvalidFirmwareSignature",
            "security:InvalidFirmwareSigningCertificate",
        ),
        "T0857",
        "System Firmware",
    ),
    RuleSpec(
        "firmware-downgrade",
        "Firmware downgrade",
        "A station boots with an older firmware version than it ran before: a rollback to firmware with known "
        "vulnerabilities.",
        HIGH,
        "firmware",
        ("boot",),
        "T0857",
        "System Firmware",
    ),
    RuleSpec(
        "firmware-unexpected-change",
        "Firmware changed without an update command",
        "A station boots with a different firmware version although ChargeWatch sent it no firmware update "
        "recently: firmware installed out of band.",
        MEDIUM,
        "firmware",
        ("boot", "audit:UPDATE_FIRMWARE"),
        "T0857",
        "System Firmware",
        (_p("firmware_update_grace_seconds", 604_800, "An update command this recent explains a new version"),),
    ),
    RuleSpec(
        "firmware-outside-maintenance",
        "Firmware update outside the maintenance window",
        "A firmware update was commanded or installed outside the configured maintenance windows.",
        MEDIUM,
        "firmware",
        ("audit:UPDATE_FIRMWARE", "notification:FirmwareStatusNotification"),
        "T0857",
        "System Firmware",
    ),
    # -- tampering ---------------------------------------------------------------------------------
    RuleSpec(
        "station-tamper",
        "Physical tampering detected",
        "The station reports TamperDetectionActivated: its enclosure or a seal was opened.",
        HIGH,
        "tampering",
        ("security:TamperDetectionActivated",),
    ),
    RuleSpec(
        "security-log-cleared",
        "Security log cleared",
        "The station reports that its security log was cleared, which removes the traces of what happened.",
        HIGH,
        "tampering",
        ("security:SecurityLogWasCleared",),
        "T0872",
        "Indicator Removal on Host",
    ),
    RuleSpec(
        "security-reconfigured",
        "Security parameters reconfigured",
        "The station reports that its security parameters changed although ChargeWatch sent no configuration "
        "command shortly before.",
        MEDIUM,
        "tampering",
        ("security:ReconfigurationOfSecurityParameters", "audit:CHANGE_CONFIGURATION", "audit:SET_VARIABLES"),
        "T0836",
        "Modify Parameter",
        (_p("reconfiguration_grace_seconds", 600, "A configuration command this recent explains the change"),),
    ),
    RuleSpec(
        "clock-jump",
        "Station clock jumped",
        "The station's clock moved by more than the threshold against ChargeWatch's (SettingSystemTime, or "
        "timestamps that suddenly shift): meter data and logs can be back- or forward-dated.",
        MEDIUM,
        "tampering",
        ("security:SettingSystemTime", "meter", "status", "transaction"),
        "T0836",
        "Modify Parameter",
        (_p("clock_jump_seconds", 300, "Change of the station's clock offset that counts as a jump"),),
    ),
    RuleSpec(
        "meter-register-backwards",
        "Meter register went backwards",
        "An energy register reading fell below an earlier one on the same session: meter tampering, a meter "
        "swap or forged meter values.",
        HIGH,
        "tampering",
        ("meter", "security:MeterRegisterBackwards"),
        "T0856",
        "Spoof Reporting Message",
    ),
    RuleSpec(
        "meter-impossible-power",
        "Physically impossible meter values",
        "Power above what the connector can deliver (or an implausible value): forged or corrupted meter data.",
        MEDIUM,
        "tampering",
        ("meter:power_implausible", "security:MeterPowerImpossible"),
        "T0856",
        "Spoof Reporting Message",
    ),
    # -- protocol ----------------------------------------------------------------------------------
    RuleSpec(
        "invalid-message-flood",
        "Flood of invalid OCPP messages",
        "Many malformed or schema-violating messages (or calls while not accepted) from one station: fuzzing of "
        "the CSMS or a broken firmware.",
        MEDIUM,
        "protocol",
        (
            "security:InvalidMessage",
            "security:CallWhileNotAccepted",
            "security:InvalidCertificateSigningRequest",
            "security:InvalidMessages",
        ),
        "T0814",
        "Denial of Service",
        (
            _p("invalid_messages", 20, "Invalid messages from one station within the window"),
            _p("invalid_message_window_seconds", 60, "Window of the invalid-message count, seconds"),
        ),
    ),
    RuleSpec(
        "replayed-message-id",
        "Replayed OCPP message ids",
        "A station reused the message id of an earlier, different call (or reports a replay attempt): replayed "
        "or injected traffic.",
        MEDIUM,
        "protocol",
        ("security:ReplayedMessageId", "security:AttemptedReplayAttacks"),
        "T0856",
        "Spoof Reporting Message",
        (_p("replayed_messages", 1, "Replays within 5 minutes before alerting"),),
    ),
    RuleSpec(
        "oversize-frame",
        "Oversize WebSocket frames",
        "A station sent a message above the frame limit (the gateway closed the socket): an attempt to exhaust "
        "memory or exploit the parser.",
        MEDIUM,
        "protocol",
        ("security:OversizeMessage",),
        "T0814",
        "Denial of Service",
    ),
    RuleSpec(
        "message-rate-exceeded",
        "Station exceeded the message rate limit",
        "The gateway rate-limited a station: it sends calls far faster than any charger needs.",
        MEDIUM,
        "protocol",
        ("security:MessageRateExceeded",),
        "T0814",
        "Denial of Service",
    ),
    RuleSpec(
        "message-rate-anomaly",
        "Message rate far above the station's profile",
        "The station's message rate over the last seconds is many times its learned rate.",
        MEDIUM,
        "protocol",
        ("connection", "status", "meter", "transaction", "notification", "boot"),
        "T0814",
        "Denial of Service",
        (
            _p("rate_window_seconds", 10, "Sliding window of the message-rate check, seconds"),
            _p("rate_min_messages", 150, "Messages in the window below which the rate is never anomalous"),
            _p("rate_factor", 20, "Multiple of the learned rate that is anomalous"),
        ),
    ),
    # -- transport ---------------------------------------------------------------------------------
    RuleSpec(
        "tls-downgrade",
        "TLS downgrade",
        "A station reports a TLS version or cipher suite it must not accept, or connects below its security "
        "profile: someone is forcing a weaker connection, typically to intercept it.",
        HIGH,
        "transport",
        ("security:InvalidTLSVersion", "security:InvalidTLSCipherSuite", "security:SecurityProfileTooLow"),
        "T0830",
        "Adversary-in-the-Middle",
    ),
    RuleSpec(
        "invalid-csms-certificate",
        "Station saw an invalid CSMS certificate",
        "A station reports that the CSMS's certificate is invalid, or that the CSMS failed to authenticate: "
        "a possible man in the middle between the station and ChargeWatch.",
        HIGH,
        "transport",
        (
            "security:InvalidCsmsCertificate",
            "security:InvalidCentralSystemCertificate",
            "security:CsmsFailedToAuthenticate",
            "security:CentralSystemFailedToAuthenticate",
        ),
        "T0830",
        "Adversary-in-the-Middle",
    ),
    # -- certificates ------------------------------------------------------------------------------
    RuleSpec(
        "certificate-expiring",
        "Certificate expiring or expired",
        "A station client certificate, the CSMS server certificate or a CA certificate of the chain expires "
        "soon (or has): the stations it affects will fail to connect.",
        MEDIUM,
        "certificates",
        ("inventory",),
        parameters=(
            _p("certificate_warning_days", 30, "Days before expiry an alert is raised (medium)"),
            _p("certificate_critical_days", 7, "Days before expiry the alert becomes high"),
        ),
    ),
    RuleSpec(
        "certificate-revoked",
        "Revoked certificate in the inventory",
        "A certificate the fleet depends on is revoked: the stations it affects must get a new one.",
        HIGH,
        "certificates",
        ("inventory",),
    ),
    # -- operator ----------------------------------------------------------------------------------
    RuleSpec(
        "operator-command-burst",
        "Unusual rate of disruptive commands",
        "One principal issued remote starts, resets, availability changes or firmware updates at a rate (or "
        "to a number of stations) far above normal operations: a compromised account or a runaway script.",
        HIGH,
        "operator",
        ("audit",),
        "T0855",
        "Unauthorized Command Message",
        (
            _p("command_burst", 20, "Disruptive commands by one principal within the window"),
            _p("command_burst_stations", 10, "Distinct stations commanded by one principal within the window"),
            _p("command_burst_window_seconds", 300, "Window of the command counts, seconds"),
        ),
    ),
    RuleSpec(
        "unusual-command-principal",
        "Disruptive command by an unusual principal",
        "A reset, availability change, configuration change or firmware update was issued by a principal "
        "without the operator role, or by one never seen issuing such commands.",
        MEDIUM,
        "operator",
        ("audit",),
        "T0855",
        "Unauthorized Command Message",
        (_p("principal_learning_commands", 50, "Commands learned fleet-wide before new principals are reported"),),
    ),
    # -- availability ------------------------------------------------------------------------------
    RuleSpec(
        "connection-storm",
        "Connection storm",
        "Many of a tenant's stations dropped their connections and reconnected at the same moment: a network "
        "outage, a power cut, or an attack forcing reconnections (and boots) to overload the CSMS.",
        MEDIUM,
        "availability",
        ("connection:disconnected", "connection:connected"),
        "T0814",
        "Denial of Service",
        (
            _p("storm_min_stations", 10, "Stations of one tenant reconnecting within the window"),
            _p("storm_window_seconds", 60, "Window of the storm count, seconds"),
            _p("storm_reconnect_seconds", 60, "A connection this soon after a disconnection is a reconnect"),
        ),
    ),
    # -- anomaly -----------------------------------------------------------------------------------
    RuleSpec(
        "station-behaviour-anomaly",
        "Station behaviour anomaly",
        "The online model of the station's normal behaviour (message rate, authorizations, sessions, energy, "
        "status changes, per window) scores the latest window far outside what it learned.",
        MEDIUM,
        "anomaly",
        ("connection", "status", "meter", "transaction", "authorization", "notification", "boot"),
        parameters=(
            _p("anomaly_window_seconds", 300, "Length of one behaviour window, seconds"),
            _p("anomaly_warmup_windows", 24, "Windows learned per station before it is scored"),
            _p("anomaly_threshold", 0.9999, "Score (0..1) at or above which a window is anomalous"),
            _p("anomaly_alpha", 0.05, "Weight of the newest window in the running mean and variance"),
        ),
    ),
)

RULES_BY_ID: Final[Mapping[str, RuleSpec]] = MappingProxyType({rule.rule_id: rule for rule in RULES})

DEFAULT_PARAMETERS: Final[Mapping[str, float]] = MappingProxyType(
    {p.name: p.default for rule in RULES for p in rule.parameters}
)


class Parameters:
    """Effective rule parameters: the catalogue's defaults with the configured overrides."""

    def __init__(self, overrides: Mapping[str, float] | None = None) -> None:
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(DEFAULT_PARAMETERS))
        if unknown:
            raise ValueError(f"unknown rule parameters: {', '.join(unknown)}")
        for name, value in overrides.items():
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"rule parameter {name} must be a number >= 0")
        self.values: dict[str, float] = {**DEFAULT_PARAMETERS, **{k: float(v) for k, v in overrides.items()}}

    def __getitem__(self, name: str) -> float:
        return self.values[name]


def check_rule_ids(rule_ids: list[str]) -> list[str]:
    unknown = sorted(set(rule_ids) - set(RULES_BY_ID))
    if unknown:
        raise ValueError(f"unknown rules: {', '.join(unknown)}")
    return rule_ids
