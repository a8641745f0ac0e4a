"""Helpers every version's handlers share: OCPP date-times and status vocabularies."""

from __future__ import annotations

from typing import Final

from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.ocpp_time import ocpp_datetime, parse_ocpp_datetime, utc_now
from chargewatch.ocpp_gateway.protocol import ErrorKind, OcppError
from chargewatch.v1 import common_pb2

# OCPP 1.6 ChargePointStatus -> ConnectorStatus.
STATUS_V16: Final = {
    "Available": common_pb2.CONNECTOR_STATUS_AVAILABLE,
    "Preparing": common_pb2.CONNECTOR_STATUS_PREPARING,
    "Charging": common_pb2.CONNECTOR_STATUS_CHARGING,
    "SuspendedEVSE": common_pb2.CONNECTOR_STATUS_SUSPENDED_EVSE,
    "SuspendedEV": common_pb2.CONNECTOR_STATUS_SUSPENDED_EV,
    "Finishing": common_pb2.CONNECTOR_STATUS_FINISHING,
    "Reserved": common_pb2.CONNECTOR_STATUS_RESERVED,
    "Unavailable": common_pb2.CONNECTOR_STATUS_UNAVAILABLE,
    "Faulted": common_pb2.CONNECTOR_STATUS_FAULTED,
}

# OCPP 2.0.1 ConnectorStatusEnumType -> ConnectorStatus.
STATUS_V201: Final = {
    "Available": common_pb2.CONNECTOR_STATUS_AVAILABLE,
    "Occupied": common_pb2.CONNECTOR_STATUS_OCCUPIED,
    "Reserved": common_pb2.CONNECTOR_STATUS_RESERVED,
    "Unavailable": common_pb2.CONNECTOR_STATUS_UNAVAILABLE,
    "Faulted": common_pb2.CONNECTOR_STATUS_FAULTED,
}

REGISTRATION_NAMES: Final = {
    common_pb2.REGISTRATION_STATUS_ACCEPTED: "Accepted",
    common_pb2.REGISTRATION_STATUS_PENDING: "Pending",
    common_pb2.REGISTRATION_STATUS_REJECTED: "Rejected",
}

_UINT32_MAX: Final = 2**32 - 1


def port_number(value: int, field: str) -> int:
    """An EVSE or connector number, which our contracts carry as uint32."""
    if not 0 <= value <= _UINT32_MAX:
        raise OcppError(ErrorKind.PROPERTY_CONSTRAINT, f"{field} must be between 0 and {_UINT32_MAX}", {"field": field})
    return value


def connector_ref_v16(connector_id: int) -> tuple[int, int]:
    """A 1.6 connectorId as (evse_id, connector_id): N is EVSE N's only connector, 0 the station itself."""
    number = port_number(connector_id, "connectorId")
    return (0, 0) if number == 0 else (number, 1)


def registry_status(identity_status: common_pb2.RegistrationStatus) -> common_pb2.RegistrationStatus:
    """The station registry's verdict from the handshake; unspecified (an older authz) means Accepted."""
    return identity_status or common_pb2.REGISTRATION_STATUS_ACCEPTED


def boot_interval(settings: GatewaySettings, status: common_pb2.RegistrationStatus) -> int:
    """The interval a BootNotification is answered with: heartbeats when Accepted, else the retry wait."""
    if status == common_pb2.REGISTRATION_STATUS_PENDING:
        return settings.boot_pending_interval_seconds
    if status == common_pb2.REGISTRATION_STATUS_REJECTED:
        return settings.boot_rejected_interval_seconds
    return settings.heartbeat_interval_seconds


# OCPP security events list (1.6 security whitepaper, 2.0.1 part 2 appendix 1): those marked
# critical, which a station pushes at once. 1.6 and 2.0.1 name these the same.
CRITICAL_SECURITY_EVENTS: Final = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)
# The rest of the list (1.6 says CentralSystem / ChargePoint where 2.0.1 says Csms / ChargingStation).
NON_CRITICAL_SECURITY_EVENTS: Final = frozenset(
    {
        "FailedToAuthenticateAtCentralSystem",
        "FailedToAuthenticateAtCsms",
        "CentralSystemFailedToAuthenticate",
        "CsmsFailedToAuthenticate",
        "ReconfigurationOfSecurityParameters",
        "InvalidMessages",
        "AttemptedReplayAttacks",
        "InvalidFirmwareSignature",
        "InvalidFirmwareSigningCertificate",
        "InvalidCentralSystemCertificate",
        "InvalidCsmsCertificate",
        "InvalidChargePointCertificate",
        "InvalidChargingStationCertificate",
        "InvalidTLSVersion",
        "InvalidTLSCipherSuite",
    }
)


def station_security_severity(event_type: str) -> tuple[common_pb2.Severity, str]:
    """Severity of a station-reported security event, and how OCPP lists it (critical / non_critical / unlisted)."""
    if event_type in CRITICAL_SECURITY_EVENTS:
        return common_pb2.SEVERITY_HIGH, "critical"
    if event_type in NON_CRITICAL_SECURITY_EVENTS:
        return common_pb2.SEVERITY_LOW, "non_critical"
    return common_pb2.SEVERITY_LOW, "unlisted"


__all__ = [
    "CRITICAL_SECURITY_EVENTS",
    "NON_CRITICAL_SECURITY_EVENTS",
    "REGISTRATION_NAMES",
    "STATUS_V16",
    "STATUS_V201",
    "boot_interval",
    "connector_ref_v16",
    "ocpp_datetime",
    "parse_ocpp_datetime",
    "port_number",
    "registry_status",
    "station_security_severity",
    "utc_now",
]
