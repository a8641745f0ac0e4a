"""The vocabulary of availability: port keys, availability states, outage causes and severities.

A *port* is a charging port in the NEVI sense (23 CFR 680.104): the EVSE that charges one vehicle at
a time. OCPP 2.0.1 names it `evseId`; an OCPP 1.6 connectorId N is EVSE N (see common.proto), so
every 1.6 connector is its own port. A port with several connectors is up while any of them is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from chargewatch.v1 import common_pb2


class Availability(enum.IntEnum):
    """What a port is doing, finer than up/down (stored as small integers)."""

    UNKNOWN = 0  # no status seen yet: not counted in any window
    AVAILABLE = 1
    OCCUPIED = 2  # Preparing, Charging, Suspended*, Finishing, Occupied: in use
    RESERVED = 3
    FAULTED = 4
    UNAVAILABLE = 5
    OFFLINE = 6  # the station is disconnected or silent beyond its heartbeat grace
    DEGRADED = 7  # charging below the port's required minimum power (23 CFR 680.106(d))


UP_STATES: Final = frozenset({Availability.AVAILABLE, Availability.OCCUPIED, Availability.RESERVED})

# OCPP connector status -> availability.
_BY_STATUS: Final[dict[int, Availability]] = {
    common_pb2.CONNECTOR_STATUS_AVAILABLE: Availability.AVAILABLE,
    common_pb2.CONNECTOR_STATUS_PREPARING: Availability.OCCUPIED,
    common_pb2.CONNECTOR_STATUS_CHARGING: Availability.OCCUPIED,
    common_pb2.CONNECTOR_STATUS_SUSPENDED_EVSE: Availability.OCCUPIED,
    common_pb2.CONNECTOR_STATUS_SUSPENDED_EV: Availability.OCCUPIED,
    common_pb2.CONNECTOR_STATUS_FINISHING: Availability.OCCUPIED,
    common_pb2.CONNECTOR_STATUS_OCCUPIED: Availability.OCCUPIED,
    common_pb2.CONNECTOR_STATUS_RESERVED: Availability.RESERVED,
    common_pb2.CONNECTOR_STATUS_UNAVAILABLE: Availability.UNAVAILABLE,
    common_pb2.CONNECTOR_STATUS_FAULTED: Availability.FAULTED,
}
CHARGING: Final = common_pb2.CONNECTOR_STATUS_CHARGING


def availability_of(status: int) -> Availability:
    return _BY_STATUS.get(status, Availability.UNKNOWN)


# Outage causes. A fault carries the station's error code after the colon ("faulted:GroundFailure").
OFFLINE: Final = "offline"
HEARTBEAT_MISSED: Final = "heartbeat_missed"
FAULTED: Final = "faulted"
UNAVAILABLE: Final = "unavailable"
STATION_FAULTED: Final = "station_faulted"
STATION_UNAVAILABLE: Final = "station_unavailable"
BELOW_MIN_POWER: Final = "below_min_power"

NO_ERROR_CODES: Final = frozenset({"", "NoError", "noError", "NOERROR"})


def fault_cause(prefix: str, error_code: str) -> str:
    return prefix if error_code in NO_ERROR_CODES else f"{prefix}:{error_code}"


def cause_kind(cause: str) -> str:
    """The cause without its error code: "faulted:GroundFailure" -> "faulted"."""
    return cause.partition(":")[0]


def cause_error_code(cause: str) -> str:
    return cause.partition(":")[2]


def availability_of_cause(cause: str) -> Availability:
    kind = cause_kind(cause)
    if kind in (OFFLINE, HEARTBEAT_MISSED):
        return Availability.OFFLINE
    if kind in (FAULTED, STATION_FAULTED):
        return Availability.FAULTED
    if kind in (UNAVAILABLE, STATION_UNAVAILABLE):
        return Availability.UNAVAILABLE
    if kind == BELOW_MIN_POWER:
        return Availability.DEGRADED
    return Availability.UNKNOWN


# Severity of an incident by its cause: a whole station gone is worse than one port unavailable.
_SEVERITY: Final[dict[str, int]] = {
    OFFLINE: common_pb2.SEVERITY_HIGH,
    HEARTBEAT_MISSED: common_pb2.SEVERITY_HIGH,
    STATION_FAULTED: common_pb2.SEVERITY_CRITICAL,
    STATION_UNAVAILABLE: common_pb2.SEVERITY_HIGH,
    FAULTED: common_pb2.SEVERITY_HIGH,
    UNAVAILABLE: common_pb2.SEVERITY_MEDIUM,
    BELOW_MIN_POWER: common_pb2.SEVERITY_LOW,
}


def severity_of(cause: str) -> int:
    return int(_SEVERITY.get(cause_kind(cause), common_pb2.SEVERITY_MEDIUM))


@dataclass(frozen=True, slots=True, order=True)
class PortKey:
    station_id: str
    evse_id: int

    @property
    def key(self) -> str:
        return f"{self.station_id}|{self.evse_id}"

    @classmethod
    def parse(cls, key: str) -> PortKey:
        station_id, _, evse = key.rpartition("|")
        return cls(station_id, int(evse))

    def __str__(self) -> str:
        return f"{self.station_id}/{self.evse_id}"
