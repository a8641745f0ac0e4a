"""Meter readings: a MeterValues event turned into one reading per sample timestamp, and the
data-quality checks run on them. Plain code, no I/O.

A reading is what the station measured at one instant on one connector: energy register,
power, current, voltage, state of charge, temperature, and per-phase values. The gateway has
already normalised energy to Wh and power to W; kWh/kW that slip through are converted here
so a unit mistake can never be stored as a thousandfold error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chargewatch.v1 import common_pb2, events_pb2

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
VOLTAGE = "Voltage"
SOC = "SoC"
TEMPERATURE = "Temperature"

# Flags this service raises (the gateway may add its own; they are kept as given).
REGISTER_BACKWARDS = "register_backwards"
POWER_EXCEEDS_CONNECTOR = "power_exceeds_connector"
CLOCK_SKEW = "clock_skew"
GAP = "gap"

# Quality flags that are also security events: a register that runs backwards or a power the
# hardware cannot deliver points at meter tampering; a skewed clock undermines every timestamp.
SECURITY_EVENT_OF_FLAG: Mapping[str, tuple[str, int]] = {
    REGISTER_BACKWARDS: ("MeterRegisterBackwards", common_pb2.SEVERITY_HIGH),
    POWER_EXCEEDS_CONNECTOR: ("MeterPowerImpossible", common_pb2.SEVERITY_MEDIUM),
    CLOCK_SKEW: ("StationClockSkew", common_pb2.SEVERITY_LOW),
}

_SCALE = {common_pb2.UNIT_KWH: 1000.0, common_pb2.UNIT_KW: 1000.0}


def connector_key(station_id: str, evse_id: int, connector_id: int) -> str:
    """One connector across the fleet; '|' cannot appear in an OCPP identity."""
    return f"{station_id}|{evse_id}|{connector_id}"


@dataclass(slots=True)
class Reading:
    station_id: str
    tenant_id: str
    evse_id: int
    connector_id: int
    at: datetime
    transaction_id: str = ""
    energy_wh: float | None = None
    power_w: float | None = None
    current_a: float | None = None
    voltage_v: float | None = None
    soc_percent: float | None = None
    temperature_c: float | None = None
    # phase -> {"current_a": .., "voltage_v": .., "power_w": ..}
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    sampled_values: int = 0
    # Derived once (both are read several times per reading on the ingest path); filled in
    # from the fields above when not given.
    connector: str = ""
    at_ms: int = -1

    def __post_init__(self) -> None:
        if not self.connector:
            self.connector = connector_key(self.station_id, self.evse_id, self.connector_id)
        if self.at_ms < 0:
            self.at_ms = int(self.at.timestamp() * 1000)


_PHASE_FIELD = {POWER: "power_w", CURRENT: "current_a", VOLTAGE: "voltage_v"}
_FIELD = {
    ENERGY: "energy_wh",
    POWER: "power_w",
    CURRENT: "current_a",
    VOLTAGE: "voltage_v",
    SOC: "soc_percent",
    TEMPERATURE: "temperature_c",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def readings_from(envelope: events_pb2.EventEnvelope) -> list[Reading]:
    """One reading per distinct sample timestamp (samples without one take the station time).

    This runs for every meter value the service stores, so it reads each protobuf field once.
    """
    meter = envelope.meter_values
    default_stamp = envelope.station_time
    station_id, tenant_id = envelope.station_id, envelope.tenant_id
    evse_id, connector_id, transaction_id = meter.evse_id, meter.connector_id, meter.transaction_id
    connector = connector_key(station_id, evse_id, connector_id)
    gateway_flags = list(meter.quality_flags)
    by_time: dict[int, Reading] = {}
    phased: dict[int, dict[str, list[float]]] = {}
    for sample in meter.samples:
        stamp = sample.timestamp if sample.HasField("timestamp") else default_stamp
        seconds, nanos = stamp.seconds, stamp.nanos
        at = seconds * 1_000_000_000 + nanos
        reading = by_time.get(at)
        if reading is None:
            reading = by_time[at] = Reading(
                station_id,
                tenant_id,
                evse_id,
                connector_id,
                _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000),
                transaction_id,
                flags=gateway_flags.copy(),
                connector=connector,
                at_ms=seconds * 1000 + nanos // 1_000_000,
            )
        unit = sample.unit
        value = sample.value * _SCALE[unit] if unit in _SCALE else sample.value
        measurand = sample.measurand or ENERGY  # OCPP's default measurand
        reading.sampled_values += 1
        phase = sample.phase
        if phase and measurand in _PHASE_FIELD:
            reading.phases.setdefault(phase, {})[_PHASE_FIELD[measurand]] = value
            phased.setdefault(at, {}).setdefault(measurand, []).append(value)
            continue
        name = _FIELD.get(measurand)
        if name is not None:
            setattr(reading, name, value)
    # Only per-phase values: total power is their sum, current the highest, voltage the mean.
    for at, values in phased.items():
        reading = by_time[at]
        if reading.power_w is None and values.get(POWER):
            reading.power_w = sum(values[POWER])
        if reading.current_a is None and values.get(CURRENT):
            reading.current_a = max(values[CURRENT])
        if reading.voltage_v is None and values.get(VOLTAGE):
            reading.voltage_v = sum(values[VOLTAGE]) / len(values[VOLTAGE])
    if len(by_time) == 1:
        return list(by_time.values())
    return [by_time[at] for at in sorted(by_time)]


@dataclass(frozen=True)
class QualityLimits:
    clock_skew_seconds: float = 300.0
    gap_seconds: float = 900.0
    # Slack over the rated power before a reading counts as impossible (meter accuracy, ramping).
    power_tolerance: float = 0.10
    # Used when the connector's rating is unknown.
    absolute_max_power_w: float = 1_000_000.0
    # Registers are floats: ignore sub-Wh jitter.
    register_tolerance_wh: float = 1.0


@dataclass
class LastReading:
    at_ms: int
    energy_wh: float | None


class QualityChecker:
    """Flags readings against the previous one of the same connector (kept in memory).

    The previous reading comes from this process's memory, loaded from the store on first
    sight of a connector; readings older than the one remembered (late or reordered) are not
    compared, so reordering never invents a backwards register.
    """

    def __init__(self, limits: QualityLimits) -> None:
        self.limits = limits
        self.last: dict[str, LastReading] = {}

    def check(
        self,
        reading: Reading,
        *,
        station_ms: int,
        received_ms: int,
        late: bool,
        max_power_w: float | None,
    ) -> list[str]:
        """Flags for `reading` (also appended to `reading.flags`); updates the remembered reading.

        `station_ms` / `received_ms`: the event's station and receive timestamps (epoch ms)."""
        limits = self.limits
        raised: list[str] = []
        if not late and abs(station_ms - received_ms) > limits.clock_skew_seconds * 1000:
            raised.append(CLOCK_SKEW)
        ceiling = (max_power_w or limits.absolute_max_power_w) * (1 + limits.power_tolerance)
        impossible = reading.power_w is not None and reading.power_w > ceiling
        previous = self.last.get(reading.connector)
        at_ms = reading.at_ms
        if previous is not None and at_ms > previous.at_ms:
            seconds = (at_ms - previous.at_ms) / 1000
            if seconds > limits.gap_seconds:
                raised.append(GAP)
            if reading.energy_wh is not None and previous.energy_wh is not None:
                delta = reading.energy_wh - previous.energy_wh
                if delta < -limits.register_tolerance_wh:
                    raised.append(REGISTER_BACKWARDS)
                elif delta > limits.register_tolerance_wh and delta * 3600 / seconds > ceiling:
                    impossible = True  # the register rose faster than the connector can deliver
        if impossible:
            raised.append(POWER_EXCEEDS_CONNECTOR)
        if previous is None or at_ms > previous.at_ms:
            energy = reading.energy_wh if reading.energy_wh is not None else (previous.energy_wh if previous else None)
            self.last[reading.connector] = LastReading(at_ms, energy)
        for flag in raised:
            if flag not in reading.flags:
                reading.flags.append(flag)
        return raised


def sampled_value_count(readings: Iterable[Reading]) -> int:
    return sum(r.sampled_values for r in readings)
