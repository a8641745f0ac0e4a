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


@dataclass
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

    @property
    def connector(self) -> str:
        return connector_key(self.station_id, self.evse_id, self.connector_id)

    @property
    def at_ms(self) -> int:
        return int(self.at.timestamp() * 1000)


_PHASE_FIELD = {POWER: "power_w", CURRENT: "current_a", VOLTAGE: "voltage_v"}


def readings_from(envelope: events_pb2.EventEnvelope) -> list[Reading]:
    """One reading per distinct sample timestamp (samples without one take the station time)."""
    meter = envelope.meter_values
    default_stamp = envelope.station_time
    by_time: dict[tuple[int, int], Reading] = {}
    phased: dict[tuple[int, int], dict[str, list[float]]] = {}
    for sample in meter.samples:
        # Keyed by the raw (seconds, nanos): converting every sample's timestamp is the hot spot.
        stamp = sample.timestamp if sample.HasField("timestamp") else default_stamp
        at = (stamp.seconds, stamp.nanos)
        reading = by_time.get(at)
        if reading is None:
            reading = by_time[at] = Reading(
                envelope.station_id,
                envelope.tenant_id,
                meter.evse_id,
                meter.connector_id,
                datetime.fromtimestamp(stamp.seconds, UTC) + timedelta(microseconds=stamp.nanos // 1000),
                meter.transaction_id,
                flags=list(meter.quality_flags),
            )
        value = sample.value * _SCALE.get(sample.unit, 1.0)
        measurand = sample.measurand or ENERGY  # OCPP's default measurand
        reading.sampled_values += 1
        if sample.phase and measurand in _PHASE_FIELD:
            reading.phases.setdefault(sample.phase, {})[_PHASE_FIELD[measurand]] = value
            phased.setdefault(at, {}).setdefault(measurand, []).append(value)
            continue
        if measurand == ENERGY:
            reading.energy_wh = value
        elif measurand == POWER:
            reading.power_w = value
        elif measurand == CURRENT:
            reading.current_a = value
        elif measurand == VOLTAGE:
            reading.voltage_v = value
        elif measurand == SOC:
            reading.soc_percent = value
        elif measurand == TEMPERATURE:
            reading.temperature_c = value
    # Only per-phase values: total power is their sum, current the highest, voltage the mean.
    for at, values in phased.items():
        reading = by_time[at]
        if reading.power_w is None and values.get(POWER):
            reading.power_w = sum(values[POWER])
        if reading.current_a is None and values.get(CURRENT):
            reading.current_a = max(values[CURRENT])
        if reading.voltage_v is None and values.get(VOLTAGE):
            reading.voltage_v = sum(values[VOLTAGE]) / len(values[VOLTAGE])
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
        station_time: datetime,
        received_time: datetime,
        late: bool,
        max_power_w: float | None,
    ) -> list[str]:
        """Flags for `reading` (also appended to `reading.flags`); updates the remembered reading."""
        limits = self.limits
        raised: list[str] = []
        if not late and abs((station_time - received_time).total_seconds()) > limits.clock_skew_seconds:
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
