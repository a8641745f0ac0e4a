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
samples, lookups in prebuilt tables. The MeterValues payload is written directly in protobuf's
wire format (what building `events_pb2.MeterValues` and serialising it gives, at a third of the
cost): the fields of a sampled value that repeat from message to message (measurand, phase,
location, context, units) are encoded once and kept; only the value and the timestamp are new.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from chargewatch.ocpp_gateway.ocpp_time import parse_ocpp_datetime
from chargewatch.streams.publisher import EncodedPayload, length_delimited, timestamp_body, varint
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

    # The serialised events_pb2.MeterValues.
    data: bytes
    # Timestamp of the first meterValue (the envelope's station time), None when unreadable.
    station_time: datetime | None
    # Last Energy.Active.Import.Register reading without a phase, in Wh (None when there is none).
    energy_wh: float | None
    sample_count: int
    quality_flags: tuple[str, ...]

    @property
    def payload(self) -> EncodedPayload:
        """The payload to publish."""
        # tuple.__new__: a NamedTuple's own __new__ is a Python function, paid on every message.
        return tuple.__new__(EncodedPayload, (events_pb2.MeterValues, self.data))

    @property
    def event(self) -> events_pb2.MeterValues:
        """The payload as a message (for tests and readers; publishing uses the bytes)."""
        return events_pb2.MeterValues.FromString(self.data)


# Wire format of events_pb2.MeterValues and SampledValue: (field number << 3) | wire type.
_MV_EVSE: Final = b"\x08"
_MV_CONNECTOR: Final = b"\x10"
_MV_TRANSACTION: Final = b"\x1a"
_MV_SAMPLE: Final = b"\x22"
_MV_FLAG: Final = b"\x2a"
_SV_TIMESTAMP: Final = b"\x0a"
_SV_MEASURAND: Final = b"\x12"
_SV_PHASE: Final = b"\x1a"
_SV_LOCATION: Final = b"\x22"
_SV_CONTEXT: Final = b"\x2a"
_SV_VALUE: Final = b"\x31"
_SV_UNIT: Final = b"\x38"
_SV_UNIT_REPORTED: Final = b"\x42"
_DOUBLE: Final = struct.Struct("<d").pack
_ZERO_DOUBLE: Final = _DOUBLE(0.0)
_VALUE_SIZE: Final = len(_SV_VALUE) + 8  # tag and double
_ONE_BYTE: Final = tuple(bytes((size,)) for size in range(0x80))

# What a sampled value's descriptive fields (its "shape") decide, worked out once per shape.
_OTHER, _REGISTER, _POWER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Shape:
    scale: float  # 10**multiplier (2.0.1), 1.0 without one
    factor: float
    offset: float
    role: int  # _REGISTER: the energy register; _POWER: a power reading; _OTHER
    phase: str
    location: str
    before: bytes  # the sample's fields before its value (measurand, phase, location, context)
    after: bytes  # and after it (unit, unit as reported)
    before_value: bytes  # `before` and the value's tag
    size: int  # bytes of a sample of this shape, less its timestamp field


# v16: (measurand, unit, phase, location, context) as sent (None when absent); v201: (measurand,
# phase, location, context, unit, multiplier). Bounded: a 2.0.1 unit is free text, so a station
# could otherwise grow it; past the bound shapes are worked out each time.
_SHAPES: dict[tuple[object, ...], _Shape] = {}
_MAX_SHAPES: Final = 4096


def _text(tag: bytes, value: str) -> bytes:
    return length_delimited(tag, value.encode()) if value else b""


def _shape(measurand: str, unit: str | None, phase: str, location: str, context: str, multiplier: int) -> _Shape:
    reported = unit
    if unit is None:
        unit = _DEFAULT_UNITS.get(measurand)
        if unit is None:
            unit = default_unit(measurand)
        reported = ""
    if multiplier:
        reported = f"{reported or unit}*10^{multiplier}"
    target, factor, offset = UNIT_CONVERSIONS.get(unit, _UNCONVERTED)
    if target == common_pb2.UNIT_WH and measurand == ENERGY_IMPORT_REGISTER:
        role = _REGISTER
    elif target == common_pb2.UNIT_W:
        role = _POWER
    else:
        role = _OTHER
    before = (
        _text(_SV_MEASURAND, measurand)
        + _text(_SV_PHASE, phase)
        + _text(_SV_LOCATION, location)
        + _text(_SV_CONTEXT, context)
    )
    after = (_SV_UNIT + varint(target) if target else b"") + _text(_SV_UNIT_REPORTED, reported or "")
    return _Shape(
        10.0**multiplier if multiplier else 1.0,
        factor,
        offset,
        role,
        phase,
        location,
        before,
        after,
        before + _SV_VALUE,
        len(before) + _VALUE_SIZE + len(after),
    )


def _shape_v16(key: tuple[str | None, str | None, str | None, str | None, str | None]) -> _Shape:
    measurand, unit, phase, location, context = key
    shape = _shape(measurand or ENERGY_IMPORT_REGISTER, unit, phase or "", location or "", context or "", 0)
    if len(_SHAPES) < _MAX_SHAPES:
        _SHAPES[key] = shape
    return shape


def _shape_v201(sampled: dict[str, Any]) -> _Shape:
    unit_of_measure = sampled.get("unitOfMeasure")
    unit, multiplier = None, 0
    if unit_of_measure is not None:
        unit = unit_of_measure.get("unit")
        multiplier = unit_of_measure.get("multiplier", 0)
    measurand = sampled.get("measurand", ENERGY_IMPORT_REGISTER)
    phase, location, context = sampled.get("phase", ""), sampled.get("location", ""), sampled.get("context", "")
    key = ("2.0.1", measurand, phase, location, context, unit, multiplier)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _shape(measurand, unit, phase, location, context, multiplier)
        if len(_SHAPES) < _MAX_SHAPES:
            _SHAPES[key] = shape
    return shape


def _timestamp_field(seconds: int, nanos: int) -> bytes:
    return length_delimited(_SV_TIMESTAMP, timestamp_body(seconds, nanos))


def read_meter_values(
    meter_values: list[dict[str, Any]],
    *,
    v16: bool,
    evse_id: int,
    connector_id: int,
    transaction_id: str,
    registers: RegisterMemory,
    received_ns: int,
    limits: MeterLimits,
) -> MeterReading:
    """Normalise every sampled value of `meter_values` (1.6 or 2.0.1 shape) and flag what looks wrong.

    `received_ns`: when the message arrived, in nanoseconds since the epoch (`time.time_ns()`).
    """
    parts: list[bytes] = []
    if evse_id:
        parts.append(_MV_EVSE + varint(evse_id))
    if connector_id:
        parts.append(_MV_CONNECTOR + varint(connector_id))
    if transaction_id:
        parts.append(_text(_MV_TRANSACTION, transaction_id))
    append, extend = parts.append, parts.extend
    shapes = _SHAPES
    backwards = skewed = implausible = unreadable = False
    first_time: datetime | None = None
    energy_wh: float | None = None
    received_seconds, received_nanos = divmod(received_ns, 1_000_000_000)
    received_ts = received_seconds + received_nanos / 1e9
    max_power = limits.max_power_watts
    samples = 0
    for meter_value in meter_values:
        moment = parse_ocpp_datetime(meter_value.get("timestamp"))
        if moment is None:
            moment = _EPOCH + timedelta(microseconds=received_ns // 1000)
            seconds, nanos = received_seconds, received_nanos
        else:
            seconds, nanos = _timestamp_parts(moment)
            if abs(seconds + nanos / 1e9 - received_ts) > limits.clock_skew_seconds:
                skewed = True
        if first_time is None:
            first_time = moment
        stamp = _timestamp_field(seconds, nanos)
        stamp_size = len(stamp)
        for sampled in meter_value["sampledValue"]:
            if v16:
                get = sampled.get
                key = (get("measurand"), get("unit"), get("phase"), get("location"), get("context"))
                shape = shapes.get(key) or _shape_v16(key)
                try:
                    raw = float(sampled["value"])
                except ValueError:
                    unreadable = True
                    continue
                if not math.isfinite(raw):
                    unreadable = True
                    continue
            else:
                shape = _shape_v201(sampled)
                raw = float(sampled["value"])
                if shape.scale != 1.0:
                    raw *= shape.scale
            value = raw * shape.factor + shape.offset
            role = shape.role
            if role == _REGISTER:
                if registers.went_backwards((evse_id, connector_id, shape.phase, shape.location), value):
                    backwards = True
                if not shape.phase:
                    energy_wh = value
            elif role == _POWER and value > max_power:
                implausible = True
            packed = _DOUBLE(value)
            # proto3 leaves a 0.0 out (but writes -0.0, whose bits are not all zero).
            if packed != _ZERO_DOUBLE:
                size = stamp_size + shape.size
                extend(
                    (_MV_SAMPLE, _ONE_BYTE[size] if size < 0x80 else varint(size), stamp, shape.before_value, packed)
                )
            else:
                size = stamp_size + shape.size - _VALUE_SIZE
                extend((_MV_SAMPLE, _ONE_BYTE[size] if size < 0x80 else varint(size), stamp, shape.before))
            append(shape.after)
            samples += 1
    flags: tuple[str, ...] = ()
    if backwards or skewed or implausible or unreadable:
        flags = tuple(
            flag
            for flag, raised in (
                (REGISTER_BACKWARDS, backwards),
                (CLOCK_SKEW, skewed),
                (POWER_IMPLAUSIBLE, implausible),
                (UNREADABLE_VALUE, unreadable),
            )
            if raised
        )
        for flag in flags:
            append(_text(_MV_FLAG, flag))
    return MeterReading(b"".join(parts), first_time, energy_wh, samples, flags)
