"""Station rules: firmware, tampering, clock, meters, protocol abuse, transport downgrade, message rate."""

from __future__ import annotations

import pytest

from chargewatch.v1 import common_pb2
from tests.unit.security_monitor.support import T0, engine, ev, rules, run

HIGH = common_pb2.SEVERITY_HIGH


def test_firmware_downgrade_is_high() -> None:
    target = engine()
    run(target, [ev.boot("AMS-1", T0, firmware="2.10.1")])
    found = run(target, [ev.boot("AMS-1", T0 + 60, firmware="2.9.7")])
    assert rules(found) == ["firmware-downgrade"]
    assert found[0].severity == HIGH
    assert found[0].attributes == {"previous_version": "2.10.1", "version": "2.9.7"}


def test_a_new_version_without_an_update_command_is_unexpected() -> None:
    target = engine()
    run(target, [ev.boot("AMS-1", T0, firmware="2.10.1")])
    assert rules(run(target, [ev.boot("AMS-1", T0 + 60, firmware="2.11.0")])) == ["firmware-unexpected-change"]


def test_an_update_command_explains_a_new_version() -> None:
    target = engine()
    run(target, [ev.boot("AMS-1", T0, firmware="2.10.1"), ev.command("AMS-1", T0 + 10, "UPDATE_FIRMWARE")])
    assert run(target, [ev.boot("AMS-1", T0 + 3600, firmware="2.11.0")]) == []


@pytest.mark.parametrize(
    ("action", "status"),
    [("SignedFirmwareStatusNotification", "InvalidSignature"), ("FirmwareStatusNotification", "InvalidCertificate")],
)
def test_invalid_firmware_signatures(action: str, status: str) -> None:
    found = run(engine(), [ev.notification("AMS-1", T0, action, status)])
    assert rules(found) == ["firmware-invalid-signature"]


def test_firmware_security_events_are_invalid_signatures_too() -> None:
    found = run(engine(), [ev.security("AMS-1", T0, "InvalidFirmwareSigningCertificate", reported_by="station")])
    assert rules(found) == ["firmware-invalid-signature"]


def test_firmware_updates_outside_the_maintenance_window() -> None:
    # T0 is Friday 08:00 UTC; the window is nights 01:00-05:00.
    target = engine(maintenance=["1-7 01:00-05:00"])
    found = run(target, [ev.command("AMS-1", T0, "UPDATE_FIRMWARE")])
    assert rules(found) == ["firmware-outside-maintenance"]
    inside = T0 - 5 * 3600  # 03:00
    assert (
        run(
            engine(maintenance=["1-7 01:00-05:00"]),
            [ev.notification("AMS-1", inside, "FirmwareStatusNotification", "Installing")],
        )
        == []
    )
    outside = run(
        engine(maintenance=["1-7 01:00-05:00"]),
        [ev.notification("AMS-1", T0, "FirmwareStatusNotification", "Installing")],
    )
    assert rules(outside) == ["firmware-outside-maintenance"]


@pytest.mark.parametrize(
    ("event_type", "rule"),
    [
        ("TamperDetectionActivated", "station-tamper"),
        ("SecurityLogWasCleared", "security-log-cleared"),
        ("InvalidTLSVersion", "tls-downgrade"),
        ("InvalidTLSCipherSuite", "tls-downgrade"),
        ("InvalidCsmsCertificate", "invalid-csms-certificate"),
        ("InvalidCentralSystemCertificate", "invalid-csms-certificate"),
    ],
)
def test_station_reported_events_that_need_no_second(event_type: str, rule: str) -> None:
    found = run(engine(), [ev.security("AMS-1", T0, event_type, reported_by="station", tenant_id="partner-a")])
    assert rules(found) == [rule]
    assert found[0].subject_id == "AMS-1" and found[0].tenant_id == "partner-a"
    assert event_type in found[0].explanation


def test_security_reconfiguration_after_a_configuration_command_is_expected() -> None:
    target = engine()
    run(target, [ev.command("AMS-1", T0, "CHANGE_CONFIGURATION")])
    event = "ReconfigurationOfSecurityParameters"
    assert run(target, [ev.security("AMS-1", T0 + 30, event, reported_by="station")]) == []
    found = run(target, [ev.security("AMS-1", T0 + 3600, event, reported_by="station")])
    assert rules(found) == ["security-reconfigured"]


def test_clock_jump() -> None:
    target = engine()
    steady = [ev.meter("AMS-1", T0 + i * 60, 1000 + i, station_offset=2.0 + (i % 2)) for i in range(5)]
    assert run(target, steady) == []
    found = run(
        target, [ev.security("AMS-1", T0 + 400, "SettingSystemTime", reported_by="station", station_offset=-3600)]
    )
    assert rules(found) == ["clock-jump"]
    assert "moved 3,60" in found[0].explanation and "SettingSystemTime" in found[0].explanation
    # The new offset is the new normal.
    assert run(target, [ev.meter("AMS-1", T0 + 500 + i * 60, 2000 + i, station_offset=-3600) for i in range(3)]) == []


def test_meter_register_backwards_in_time_order_and_from_telemetry() -> None:
    target = engine()
    assert run(target, [ev.meter("AMS-1", T0, 1000), ev.meter("AMS-1", T0 + 10, 1500)]) == []
    found = run(target, [ev.meter("AMS-1", T0 + 20, 900)])
    assert rules(found) == ["meter-register-backwards"]
    assert "fell from 1,500 Wh to 900 Wh" in found[0].explanation
    found = run(target, [ev.security("AMS-1", T0 + 21, "MeterRegisterBackwards", reported_by="telemetry")])
    assert rules(found) == ["meter-register-backwards"]
    assert found[0].key == "meter-register-backwards|station|AMS-1"  # one alert for both sources


def test_a_session_history_replayed_at_its_end_is_not_a_rewind() -> None:
    # A 1.6 StopTransaction carries the session's readings, oldest first (the gateway flags them).
    target = engine()
    live = [ev.meter("AMS-1", T0 + i * 10, 1000 + i * 100) for i in range(5)]
    # Received last, stamped (by the station) with the session's first reading time.
    history = ev.meter("AMS-1", T0 + 60, 1000, flags=("register_backwards",), station_offset=-60)
    assert run(target, [*live, history]) == []
    assert target.stations["AMS-1"].accumulator[5] == 400  # energy counted once


def test_invalid_message_flood_threshold() -> None:
    target = engine({"invalid_messages": 5})
    assert run(target, [ev.security("AMS-1", T0 + i, "InvalidMessage") for i in range(4)]) == []
    assert rules(run(target, [ev.security("AMS-1", T0 + 5, "CallWhileNotAccepted")])) == ["invalid-message-flood"]


def test_replays_oversize_and_rate_limits() -> None:
    found = run(
        engine(),
        [
            ev.security("AMS-1", T0, "ReplayedMessageId"),
            ev.security("AMS-1", T0 + 1, "OversizeMessage"),
            ev.security("AMS-1", T0 + 2, "MessageRateExceeded"),
        ],
    )
    assert rules(found) == ["replayed-message-id", "oversize-frame", "message-rate-exceeded"]


def test_a_message_rate_far_above_the_station_profile() -> None:
    target = engine()
    normal = [ev.heartbeat("AMS-1", T0 + i * 60) for i in range(30)]
    assert run(target, normal) == []
    flood = [ev.heartbeat("AMS-1", T0 + 1800 + i * 0.05) for i in range(200)]
    found = run(target, flood)
    assert rules(found) == ["message-rate-anomaly"]  # once per rate window, not per message
    assert int(found[0].attributes["messages"]) >= 150


def test_gateway_security_events_without_a_station_are_about_the_address() -> None:
    found = run(engine(), [ev.security("", T0, "OversizeMessage", address="192.0.2.77")])
    assert (found[0].subject_kind, found[0].subject_id, found[0].tenant_id) == ("address", "192.0.2.77", "")
