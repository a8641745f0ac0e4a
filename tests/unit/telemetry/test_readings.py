"""MeterValues into readings, and the data-quality checks."""

from datetime import UTC, datetime, timedelta

from chargewatch.telemetry.readings import (
    CLOCK_SKEW,
    GAP,
    POWER_EXCEEDS_CONNECTOR,
    REGISTER_BACKWARDS,
    QualityChecker,
    QualityLimits,
    Reading,
    readings_from,
)
from chargewatch.v1 import common_pb2, events_pb2

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def sample(measurand: str, value: float, unit: int, at: datetime, phase: str = "") -> events_pb2.SampledValue:
    message = events_pb2.SampledValue(measurand=measurand, value=value, unit=unit, phase=phase)  # type: ignore[arg-type]
    message.timestamp.FromDatetime(at)
    return message


def test_samples_are_grouped_by_timestamp_and_units_normalised() -> None:
    later = T0 + timedelta(minutes=1)
    envelope = events_pb2.EventEnvelope(event_id="m1", station_id="CP-1", tenant_id="t")
    envelope.station_time.FromDatetime(T0)
    envelope.meter_values.CopyFrom(
        events_pb2.MeterValues(
            evse_id=1,
            connector_id=1,
            transaction_id="tx-1",
            quality_flags=["gateway_flag"],
            samples=[
                sample("Energy.Active.Import.Register", 12.5, common_pb2.UNIT_KWH, T0),
                sample("Power.Active.Import", 7000, common_pb2.UNIT_W, T0),
                sample("Current.Import", 10, common_pb2.UNIT_A, T0, "L1"),
                sample("Current.Import", 12, common_pb2.UNIT_A, T0, "L2"),
                sample("Voltage", 230, common_pb2.UNIT_V, T0, "L1-N"),
                sample("Voltage", 232, common_pb2.UNIT_V, T0, "L2-N"),
                sample("SoC", 40, common_pb2.UNIT_PERCENT, T0),
                sample("", 12600, common_pb2.UNIT_WH, later),  # no measurand: the energy register
            ],
        )
    )
    first, second = readings_from(envelope)
    assert first.at == T0 and second.at == later
    assert first.energy_wh == 12_500.0 and second.energy_wh == 12_600.0
    assert first.power_w == 7000 and first.soc_percent == 40
    assert first.current_a == 12 and first.voltage_v == 231
    assert first.phases == {
        "L1": {"current_a": 10},
        "L2": {"current_a": 12},
        "L1-N": {"voltage_v": 230},
        "L2-N": {"voltage_v": 232},
    }
    assert first.transaction_id == "tx-1" and first.flags == ["gateway_flag"]
    assert first.sampled_values == 7 and second.sampled_values == 1
    assert first.connector == "CP-1|1|1"


def reading(minutes: float, energy: float | None, power: float | None = None) -> Reading:
    return Reading("CP-1", "t", 1, 1, T0 + timedelta(minutes=minutes), energy_wh=energy, power_w=power)


def check(
    checker: QualityChecker, item: Reading, *, skew_s: float = 0, max_power_w: float | None = 11_000
) -> list[str]:
    return checker.check(
        item,
        station_ms=item.at_ms,
        received_ms=item.at_ms + int(skew_s * 1000),
        late=False,
        max_power_w=max_power_w,
    )


def test_backwards_register_gap_skew_and_impossible_power_are_flagged() -> None:
    checker = QualityChecker(QualityLimits(gap_seconds=600))
    assert check(checker, reading(0, 1000, 7000)) == []
    assert check(checker, reading(1, 1100, 7000)) == []
    backwards = reading(2, 900)
    assert check(checker, backwards) == [REGISTER_BACKWARDS]
    assert backwards.flags == [REGISTER_BACKWARDS]
    assert check(checker, reading(3, 1000, 20_000)) == [POWER_EXCEEDS_CONNECTOR]
    # 5 kWh in one minute is 300 kW: the register rose faster than an 11 kW connector can deliver.
    assert check(checker, reading(4, 6000)) == [POWER_EXCEEDS_CONNECTOR]
    assert check(checker, reading(30, 6100)) == [GAP]
    assert check(checker, reading(31, 6150), skew_s=3600) == [CLOCK_SKEW]
    # Without a rating the absolute ceiling applies.
    assert check(checker, reading(32, 6200, 50_000), max_power_w=None) == []


def test_late_readings_are_not_compared_so_reordering_invents_no_backwards_register() -> None:
    checker = QualityChecker(QualityLimits())
    assert check(checker, reading(10, 2000)) == []
    assert check(checker, reading(5, 1500)) == []  # older than the remembered one: not compared
    assert check(checker, reading(11, 2050)) == []
    assert checker.last["CP-1|1|1"].energy_wh == 2050
