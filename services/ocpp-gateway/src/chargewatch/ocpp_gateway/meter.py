"""Meter values: every sampled value in ChargeWatch's units, and the data-quality flags of a message.

Energy is carried in Wh and power in W whatever the station reported (kWh, kW, a 2.0.1
multiplier); temperatures in degrees Celsius. Units with no ChargeWatch counterpart (VA, a
custom unit) keep their value and `UNIT_UNSPECIFIED`; `unit_as_reported` always says what the
station sent. Flags raised on a message:

- `register_backwards`: an Energy.Active.Import.Register reading below the last one seen for the
  same connector, phase and location on this session (a meter swap, a reset, or tampering);
- `clock_skew`: a timestamp further from the receive time than the tolerance (the envelope's
  `late` flag tells a station's offline queue apart from a wrong clock);
- `power_implausible`: a power reading above the configured ceiling;
- `unreadable_value`: a 1.6 value that is not a finite number (e.g. SignedData); it is dropped.

This is the hot path of the gateway (10,000 messages/s per process): no I/O, one pass over the
samples, lookups in prebuilt tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from chargewatch.ocpp_gateway.ocpp_time import parse_ocpp_datetime
from chargewatch.v1 import common_pb2, events_pb2

ENERGY_IMPORT_REGISTER: Final = "Energy.Active.Import.Register"

REGISTER_BACKWARDS: Final = "register_backwards"
CLOCK_SKEW: Final = "clock_skew"
POWER_IMPLAUSIBLE: Final = "power_implausible"
UNREADABLE_VALUE: Final = "unreadable_value"

# Reported unit -> (ChargeWatch unit, factor, offset): value * factor + offset.
UNIT_CONVERSIONS: Final[dict[str, tuple[common_pb2.Unit, float, float]]] = {
    "Wh": (common_pb2.UNIT_WH, 1.0, 0.0),
    "kWh": (common_pb2.UNIT_WH, 1000.0, 0.0),
    "W": (common_pb2.UNIT_W, 1.0, 0.0),
    "kW": (common_pb2.UNIT_W, 1000.0, 0.0),
    "varh": (common_pb2.UNIT_VARH, 1.0, 0.0),
    "kvarh": (common_pb2.UNIT_VARH, 1000.0, 0.0),
    "var": (common_pb2.UNIT_VAR, 1.0, 0.0),
    "kvar": (common_pb2.UNIT_VAR, 1000.0, 0.0),
    "A": (common_pb2.UNIT_A, 1.0, 0.0),
    "V": (common_pb2.UNIT_V, 1.0, 0.0),
    "Celsius": (common_pb2.UNIT_CELSIUS, 1.0, 0.0),
    # The 1.6 schema also lists this misspelling, and some stations send it.
    "Celcius": (common_pb2.UNIT_CELSIUS, 1.0, 0.0),
    "K": (common_pb2.UNIT_CELSIUS, 1.0, -273.15),
    "Fahrenheit": (common_pb2.UNIT_CELSIUS, 5.0 / 9.0, -160.0 / 9.0),
    "Percent": (common_pb2.UNIT_PERCENT, 1.0, 0.0),
    "Hertz": (common_pb2.UNIT_HZ, 1.0, 0.0),
    "Hz": (common_pb2.UNIT_HZ, 1.0, 0.0),
}
_UNCONVERTED: Final = (common_pb2.UNIT_UNSPECIFIED, 1.0, 0.0)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def default_unit(measurand: str) -> str:
    """The unit OCPP implies when a sampled value names none (Wh for the default energy register)."""
    if measurand.startswith("Energy.Reactive"):
        return "varh"
    if measurand.startswith("Energy"):
        return "Wh"
    if measurand.startswith("Power.Reactive"):
        return "var"
    if measurand == "Power.Factor":
        return ""
    if measurand.startswith("Power"):
        return "W"
    if measurand.startswith("Current"):
        return "A"
    if measurand == "Voltage":
        return "V"
    if measurand == "Frequency":
        return "Hz"
    if measurand == "Temperature":
        return "Celsius"
    if measurand == "SoC":
        return "Percent"
    return ""


# Every measurand either version defines, resolved once.
_MEASURANDS: Final = (
    "Current.Export",
    "Current.Import",
    "Current.Offered",
    "Energy.Active.Export.Register",
    "Energy.Active.Import.Register",
    "Energy.Reactive.Export.Register",
    "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval",
    "Energy.Active.Import.Interval",
    "Energy.Active.Net",
    "Energy.Reactive.Export.Interval",
    "Energy.Reactive.Import.Interval",
    "Energy.Reactive.Net",
    "Energy.Apparent.Net",
    "Energy.Apparent.Import",
    "Energy.Apparent.Export",
    "Frequency",
    "Power.Active.Export",
    "Power.Active.Import",
    "Power.Factor",
    "Power.Offered",
    "Power.Reactive.Export",
    "Power.Reactive.Import",
    "SoC",
    "Temperature",
    "Voltage",
    "RPM",
)
_DEFAULT_UNITS: Final = {measurand: default_unit(measurand) for measurand in _MEASURANDS}


def _timestamp_parts(moment: datetime) -> tuple[int, int]:
    """(seconds, nanos) of an aware datetime, as Timestamp.FromDatetime computes them, in a fraction of its time."""
    delta = moment - _EPOCH
    return delta.days * 86_400 + delta.seconds, delta.microseconds * 1000


def normalise(value: float, unit: str) -> tuple[float, common_pb2.Unit]:
    """A value in a reported unit as (value, unit) in ChargeWatch's units."""
    target, factor, offset = UNIT_CONVERSIONS.get(unit, _UNCONVERTED)
    return value * factor + offset, target


class RegisterMemory:
    """The last energy register reading per (evse, connector, phase, location) on a session, bounded."""

    __slots__ = ("_last",)
    CAPACITY: Final = 16

    def __init__(self) -> None:
        self._last: dict[tuple[int, int, str, str], float] = {}

    def went_backwards(self, key: tuple[int, int, str, str], wh: float) -> bool:
        """Record a reading; True when it is below the previous one for the same key.

        The newest reading always becomes the reference, so a meter reset is flagged once, not
        on every reading after it.
        """
        last = self._last
        previous = last.pop(key, None)
        last[key] = wh
        if previous is None and len(last) > self.CAPACITY:
            del last[next(iter(last))]
        return previous is not None and wh < previous

    def __len__(self) -> int:
        return len(self._last)


@dataclass(frozen=True, slots=True)
class MeterLimits:
    """The settings the flags are computed against."""

    clock_skew_seconds: float
    max_power_watts: float


@dataclass(slots=True)
class MeterReading:
    """A MeterValues payload made from one station message, and what a transaction event needs of it."""

    event: events_pb2.MeterValues
    # Timestamp of the first meterValue (the envelope's station time), None when unreadable.
    station_time: datetime | None
    # Last Energy.Active.Import.Register reading without a phase, in Wh (None when there is none).
    energy_wh: float | None


def read_meter_values(
    meter_values: list[dict[str, Any]],
    *,
    v16: bool,
    evse_id: int,
    connector_id: int,
    transaction_id: str,
    registers: RegisterMemory,
    received_at: datetime,
    limits: MeterLimits,
) -> MeterReading:
    """Normalise every sampled value of `meter_values` (1.6 or 2.0.1 shape) and flag what looks wrong."""
    # Samples are added in place (`samples.add`) and their timestamps set field by field: building
    # each SampledValue apart and copying it in, with its Timestamp, costs twice as much.
    event = events_pb2.MeterValues(evse_id=evse_id, connector_id=connector_id, transaction_id=transaction_id)
    add_sample = event.samples.add
    backwards = skewed = implausible = unreadable = False
    first_time: datetime | None = None
    energy_wh: float | None = None
    received_ts = received_at.timestamp()
    for meter_value in meter_values:
        moment = parse_ocpp_datetime(meter_value.get("timestamp"))
        if moment is None:
            moment = received_at
        elif abs(moment.timestamp() - received_ts) > limits.clock_skew_seconds:
            skewed = True
        if first_time is None:
            first_time = moment
        seconds, nanos = _timestamp_parts(moment)
        for sampled in meter_value["sampledValue"]:
            measurand = sampled.get("measurand", ENERGY_IMPORT_REGISTER)
            multiplier = 0
            if v16:
                unit = sampled.get("unit")
                try:
                    raw = float(sampled["value"])
                except ValueError:
                    unreadable = True
                    continue
                if not math.isfinite(raw):
                    unreadable = True
                    continue
            else:
                unit_of_measure = sampled.get("unitOfMeasure")
                unit = None
                if unit_of_measure is not None:
                    unit = unit_of_measure.get("unit")
                    multiplier = unit_of_measure.get("multiplier", 0)
                raw = float(sampled["value"])
            reported = unit
            if unit is None:
                unit = _DEFAULT_UNITS.get(measurand)
                if unit is None:
                    unit = default_unit(measurand)
                reported = ""
            if multiplier:
                raw *= 10.0**multiplier
                reported = f"{reported or unit}*10^{multiplier}"
            target, factor, offset = UNIT_CONVERSIONS.get(unit, _UNCONVERTED)
            value = raw * factor + offset
            phase = sampled.get("phase", "")
            location = sampled.get("location", "")
            if target == common_pb2.UNIT_WH and measurand == ENERGY_IMPORT_REGISTER:
                if registers.went_backwards((evse_id, connector_id, phase, location), value):
                    backwards = True
                if not phase:
                    energy_wh = value
            elif target == common_pb2.UNIT_W and value > limits.max_power_watts:
                implausible = True
            sample = add_sample(
                measurand=measurand,
                phase=phase,
                location=location,
                context=sampled.get("context", ""),
                value=value,
                unit=target,
                unit_as_reported=reported,
            )
            stamp = sample.timestamp
            stamp.seconds = seconds
            stamp.nanos = nanos
    flags = event.quality_flags
    if backwards:
        flags.append(REGISTER_BACKWARDS)
    if skewed:
        flags.append(CLOCK_SKEW)
    if implausible:
        flags.append(POWER_IMPLAUSIBLE)
    if unreadable:
        flags.append(UNREADABLE_VALUE)
    return MeterReading(event, first_time, energy_wh)
