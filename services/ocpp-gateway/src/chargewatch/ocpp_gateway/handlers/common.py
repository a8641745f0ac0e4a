"""Helpers every version's handlers share: OCPP date-times and status vocabularies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

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


def utc_now() -> datetime:
    return datetime.now(UTC)


def ocpp_datetime(moment: datetime) -> str:
    """UTC with millisecond precision and a Z, the form every OCPP version accepts."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ocpp_datetime(value: str | None) -> datetime | None:
    """A station's date-time (already schema-checked as RFC 3339) as an aware UTC datetime.

    A value Python cannot read (a leap second, say) yields None: the receive time stands in.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def port_number(value: int, field: str) -> int:
    """An EVSE or connector number, which our contracts carry as uint32."""
    if not 0 <= value <= _UINT32_MAX:
        raise OcppError(ErrorKind.PROPERTY_CONSTRAINT, f"{field} must be between 0 and {_UINT32_MAX}", {"field": field})
    return value


def connector_ref_v16(connector_id: int) -> tuple[int, int]:
    """A 1.6 connectorId as (evse_id, connector_id): N is EVSE N's only connector, 0 the station itself."""
    number = port_number(connector_id, "connectorId")
    return (0, 0) if number == 0 else (number, 1)
