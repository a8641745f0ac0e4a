"""The pure parts of station messages: units, quality flags, status mappings, CSRs, rate limit,
replay window, deterministic ids and the per-session memory bound (no network)."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from chargewatch.ocpp_gateway.authorization import STATUS_V16, STATUS_V201, Authorization
from chargewatch.ocpp_gateway.config import GatewaySettings
from chargewatch.ocpp_gateway.handlers import TABLES
from chargewatch.ocpp_gateway.handlers.common import boot_interval, registry_status, station_security_severity
from chargewatch.ocpp_gateway.handlers.station_reports import csr_problem
from chargewatch.ocpp_gateway.message_state import MessageState, OpenTransactions
from chargewatch.ocpp_gateway.meter import (
    CLOCK_SKEW,
    POWER_IMPLAUSIBLE,
    REGISTER_BACKWARDS,
    UNREADABLE_VALUE,
    MeterLimits,
    RegisterMemory,
    default_unit,
    normalise,
    read_meter_values,
)
from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.ocpp_gateway.ratelimit import TokenBucket
from chargewatch.ocpp_gateway.replay import RecentCalls, Seen, call_fingerprint
from chargewatch.ocpp_gateway.transactions import event_id, payload_fingerprint
from chargewatch.ocpp_gateway.validation import schemas
from chargewatch.v1 import common_pb2, events_pb2

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = MeterLimits(clock_skew_seconds=300, max_power_watts=350_000)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def read(meter_values: list[dict[str, Any]], registers: RegisterMemory | None = None, *, v16: bool = True) -> Any:
    return read_meter_values(
        meter_values,
        v16=v16,
        evse_id=1,
        connector_id=1,
        transaction_id="7",
        registers=registers if registers is not None else RegisterMemory(),
        received_ns=int(NOW.timestamp()) * 1_000_000_000,
        limits=LIMITS,
    )


# -- units -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "unit", "expected", "target"),
    [
        (12.5, "kWh", 12_500.0, common_pb2.UNIT_WH),
        (900.0, "Wh", 900.0, common_pb2.UNIT_WH),
        (7.4, "kW", 7_400.0, common_pb2.UNIT_W),
        (2.0, "kvarh", 2_000.0, common_pb2.UNIT_VARH),
        (3.0, "kvar", 3_000.0, common_pb2.UNIT_VAR),
        (16.0, "A", 16.0, common_pb2.UNIT_A),
        (230.0, "V", 230.0, common_pb2.UNIT_V),
        (25.0, "Celcius", 25.0, common_pb2.UNIT_CELSIUS),
        (298.15, "K", 25.0, common_pb2.UNIT_CELSIUS),
        (77.0, "Fahrenheit", 25.0, common_pb2.UNIT_CELSIUS),
        (80.0, "Percent", 80.0, common_pb2.UNIT_PERCENT),
        (50.0, "Hertz", 50.0, common_pb2.UNIT_HZ),
        (11.0, "kVA", 11.0, common_pb2.UNIT_UNSPECIFIED),
    ],
)
def test_units_are_normalised(value: float, unit: str, expected: float, target: int) -> None:
    normalised, normalised_unit = normalise(value, unit)
    assert normalised == pytest.approx(expected)
    assert normalised_unit == target


def test_a_missing_unit_is_the_one_ocpp_implies_for_the_measurand() -> None:
    assert default_unit("Energy.Active.Import.Register") == "Wh"
    assert default_unit("Energy.Reactive.Import.Register") == "varh"
    assert default_unit("Power.Active.Import") == "W"
    assert default_unit("Power.Reactive.Export") == "var"
    assert default_unit("Power.Factor") == ""
    assert default_unit("Current.Import") == "A"
    assert default_unit("SoC") == "Percent"
    reading = read([{"timestamp": stamp(NOW), "sampledValue": [{"value": "1234"}]}])
    (sample,) = reading.event.samples
    assert (sample.measurand, sample.value, sample.unit, sample.unit_as_reported) == (
        "Energy.Active.Import.Register",
        1234.0,
        common_pb2.UNIT_WH,
        "",
    )


def test_1_6_samples_keep_their_context_phase_location_and_reported_unit() -> None:
    reading = read(
        [
            {
                "timestamp": "2025-03-01T13:00:00+01:00",
                "sampledValue": [
                    {"value": "12.5", "unit": "kWh", "context": "Sample.Periodic", "location": "Outlet"},
                    {"value": "7.2", "unit": "kW", "measurand": "Power.Active.Import", "phase": "L1"},
                ],
            }
        ]
    )
    energy, power = reading.event.samples
    assert (energy.value, energy.unit, energy.unit_as_reported) == (12_500.0, common_pb2.UNIT_WH, "kWh")
    assert (energy.context, energy.location, energy.phase) == ("Sample.Periodic", "Outlet", "")
    assert (power.value, power.unit, power.phase) == (7_200.0, common_pb2.UNIT_W, "L1")
    assert energy.timestamp.ToDatetime(UTC) == NOW
    assert reading.station_time == NOW
    assert reading.energy_wh == 12_500.0
    assert (reading.event.evse_id, reading.event.connector_id, reading.event.transaction_id) == (1, 1, "7")
    assert list(reading.event.quality_flags) == []


def test_2_0_1_multipliers_and_units_are_applied() -> None:
    reading = read(
        [
            {
                "timestamp": stamp(NOW),
                "sampledValue": [
                    {"value": 12.5, "unitOfMeasure": {"unit": "Wh", "multiplier": 3}},
                    {"value": 22, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}},
                    {"value": 61, "measurand": "SoC"},
                ],
            }
        ],
        v16=False,
    )
    energy, power, soc = reading.event.samples
    assert (energy.value, energy.unit, energy.unit_as_reported) == (12_500.0, common_pb2.UNIT_WH, "Wh*10^3")
    assert (power.value, power.unit, power.unit_as_reported) == (22_000.0, common_pb2.UNIT_W, "kW")
    assert (soc.value, soc.unit) == (61.0, common_pb2.UNIT_PERCENT)


# -- quality flags -----------------------------------------------------------------------------
def test_a_register_reading_below_the_last_one_is_flagged_once() -> None:
    registers = RegisterMemory()
    assert not read(
        [{"timestamp": stamp(NOW), "sampledValue": [{"value": "5.0", "unit": "kWh"}]}], registers
    ).event.quality_flags
    backwards = read([{"timestamp": stamp(NOW), "sampledValue": [{"value": "4900"}]}], registers)
    assert list(backwards.event.quality_flags) == [REGISTER_BACKWARDS]
    # The new value is the reference now: growth from it is normal.
    assert not read([{"timestamp": stamp(NOW), "sampledValue": [{"value": "4950"}]}], registers).event.quality_flags
    # Other measurands and other phases are not compared with the import register.
    other = read(
        [
            {
                "timestamp": stamp(NOW),
                "sampledValue": [
                    {"value": "10", "measurand": "Energy.Active.Export.Register"},
                    {"value": "1", "phase": "L1"},
                ],
            }
        ],
        registers,
    )
    assert not other.event.quality_flags


def test_clock_skew_power_ceiling_and_unreadable_values_are_flagged() -> None:
    skewed = read([{"timestamp": stamp(NOW + timedelta(minutes=10)), "sampledValue": [{"value": "1"}]}])
    assert list(skewed.event.quality_flags) == [CLOCK_SKEW]
    within = read([{"timestamp": stamp(NOW - timedelta(minutes=4)), "sampledValue": [{"value": "1"}]}])
    assert not within.event.quality_flags
    power = read(
        [
            {
                "timestamp": stamp(NOW),
                "sampledValue": [{"value": "400", "unit": "kW", "measurand": "Power.Active.Import"}],
            }
        ]
    )
    assert list(power.event.quality_flags) == [POWER_IMPLAUSIBLE]
    unreadable = read(
        [{"timestamp": stamp(NOW), "sampledValue": [{"value": "0A1B", "format": "SignedData"}, {"value": "nan"}]}]
    )
    assert list(unreadable.event.quality_flags) == [UNREADABLE_VALUE]
    assert len(unreadable.event.samples) == 0


def test_register_memory_is_bounded() -> None:
    registers = RegisterMemory()
    for connector in range(100):
        registers.went_backwards((1, connector, "", ""), 1.0)
    assert len(registers) == RegisterMemory.CAPACITY


# -- authorization statuses -------------------------------------------------------------------
def test_every_decision_maps_to_a_status_each_version_accepts() -> None:
    v16, v201 = schemas(OcppVersion.V16), schemas(OcppVersion.V201)
    expiry = datetime(2025, 6, 1, tzinfo=UTC)
    for status in events_pb2.AuthorizationStatus.values():
        decision = Authorization(status=status, expiry=expiry, group_id="G" * 40)
        v16.validate("Authorize", {"idTagInfo": decision.id_tag_info()}, response=True)
        v201.validate("Authorize", {"idTokenInfo": decision.id_token_info()}, response=True)
    blocked = Authorization(events_pb2.AUTHORIZATION_STATUS_BLOCKED)
    assert blocked.id_tag_info() == {"status": "Blocked"}
    unknown = Authorization(events_pb2.AUTHORIZATION_STATUS_UNKNOWN, expiry=expiry, group_id="fleet-1")
    assert unknown.id_tag_info() == {
        "status": "Invalid",
        "expiryDate": "2025-06-01T00:00:00.000Z",
        "parentIdTag": "fleet-1",
    }
    assert unknown.id_token_info() == {
        "status": "Unknown",
        "cacheExpiryDateTime": "2025-06-01T00:00:00.000Z",
        "groupIdToken": {"idToken": "fleet-1", "type": "Central"},
    }
    assert Authorization(events_pb2.AUTHORIZATION_STATUS_NOT_AT_THIS_TIME).id_token_info()["status"] == "NotAtThisTime"
    assert Authorization(events_pb2.AUTHORIZATION_STATUS_UNSPECIFIED).id_token_info()["status"] == "Invalid"
    assert set(STATUS_V16.values()) == {"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"}
    assert set(STATUS_V201.values()) - set(STATUS_V16.values()) == {"Unknown", "NotAtThisLocation", "NotAtThisTime"}


def test_station_security_events_get_their_severity_from_the_ocpp_list() -> None:
    assert station_security_severity("TamperDetectionActivated") == (common_pb2.SEVERITY_HIGH, "critical")
    assert station_security_severity("InvalidTLSVersion") == (common_pb2.SEVERITY_LOW, "non_critical")
    assert station_security_severity("VendorThing") == (common_pb2.SEVERITY_LOW, "unlisted")


# -- registration -------------------------------------------------------------------------------
def test_boot_intervals_follow_the_registration_status() -> None:
    settings = GatewaySettings(
        heartbeat_interval_seconds=300, boot_pending_interval_seconds=30, boot_rejected_interval_seconds=3600
    )
    assert registry_status(common_pb2.REGISTRATION_STATUS_UNSPECIFIED) == common_pb2.REGISTRATION_STATUS_ACCEPTED
    assert registry_status(common_pb2.REGISTRATION_STATUS_PENDING) == common_pb2.REGISTRATION_STATUS_PENDING
    assert boot_interval(settings, common_pb2.REGISTRATION_STATUS_ACCEPTED) == 300
    assert boot_interval(settings, common_pb2.REGISTRATION_STATUS_PENDING) == 30
    assert boot_interval(settings, common_pb2.REGISTRATION_STATUS_REJECTED) == 3600


def test_every_required_station_action_has_a_handler() -> None:
    v16 = {
        "BootNotification", "Heartbeat", "StatusNotification", "Authorize", "StartTransaction", "StopTransaction",
        "MeterValues", "DataTransfer", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
        "SecurityEventNotification", "SignCertificate", "SignedFirmwareStatusNotification", "LogStatusNotification",
    }  # fmt: skip
    v201 = {
        "BootNotification", "Heartbeat", "StatusNotification", "Authorize", "TransactionEvent", "MeterValues",
        "NotifyEvent", "NotifyReport", "NotifyMonitoringReport", "SecurityEventNotification", "SignCertificate",
        "FirmwareStatusNotification", "LogStatusNotification", "DataTransfer", "ReservationStatusUpdate",
        "NotifyChargingLimit", "ClearedChargingLimit", "ReportChargingProfiles", "NotifyEVChargingNeeds",
        "NotifyCustomerInformation",
    }  # fmt: skip
    assert v16 <= set(TABLES[OcppVersion.V16].handlers)
    assert v201 <= set(TABLES[OcppVersion.V201].handlers)


# -- certificate signing requests --------------------------------------------------------------
def csr(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(Encoding.PEM).decode()


def test_a_csr_must_parse_verify_and_name_the_station() -> None:
    assert csr_problem(csr("CP-1"), "CP-1") is None
    assert csr_problem(csr("CP-2"), "CP-1") == "the request's common name is not the station id"
    assert csr_problem("-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----\n", "CP-1")
    assert csr_problem("not a csr", "CP-1") == "not a PEM PKCS#10 certificate signing request"


# -- rate limit and replays --------------------------------------------------------------------
def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket()
    assert [bucket.take(100.0, 2.0, 3) for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after(2.0) == pytest.approx(0.5)
    assert not bucket.take(100.2, 2.0, 3)
    assert bucket.take(100.6, 2.0, 3)
    # A long pause refills to the burst, never beyond.
    assert [bucket.take(1000.0, 2.0, 3) for _ in range(4)] == [True, True, True, False]


def test_recent_calls_tell_retries_from_replays() -> None:
    calls = RecentCalls()
    heartbeat = call_fingerprint("Heartbeat", {})
    calls.remember("m-1", heartbeat, b"answer-1", 10.0, capacity=4, max_answer=64)
    assert calls.check("m-1", heartbeat, 11.0, 300) == (Seen.RETRY, b"answer-1")
    assert calls.check("m-1", call_fingerprint("Authorize", {"idTag": "A"}), 11.0, 300) == (Seen.CONFLICT, None)
    assert calls.check("m-2", heartbeat, 11.0, 300) == (Seen.NEW, None)
    # Past the window the id is free again.
    assert calls.check("m-1", call_fingerprint("Authorize", {"idTag": "A"}), 400.0, 300) == (Seen.NEW, None)
    calls.remember("big", heartbeat, b"x" * 65, 10.0, capacity=4, max_answer=64)
    assert calls.check("big", heartbeat, 11.0, 300) == (Seen.RETRY_UNCACHED, None)
    for n in range(10):
        calls.remember(f"n-{n}", heartbeat, b"a", 12.0, capacity=4, max_answer=64)
    assert len(calls) == 4
    assert calls.check("n-0", heartbeat, 13.0, 300) == (Seen.NEW, None)
    assert calls.check("n-9", heartbeat, 13.0, 300) == (Seen.RETRY, b"a")
    # Whitespace and the message id do not change a CALL's identity; the payload does.
    assert call_fingerprint("Authorize", {"idTag": "A"}) == call_fingerprint("Authorize", {"idTag": "A"})
    assert call_fingerprint("Authorize", {"idTag": "A"}) != call_fingerprint("Authorize", {"idTag": "B"})


def test_event_ids_and_fingerprints_are_deterministic() -> None:
    assert event_id("CP-1", "tx", 42, "started") == event_id("CP-1", "tx", 42, "started")
    assert event_id("CP-1", "tx", 42, "started") != event_id("CP-2", "tx", 42, "started")
    assert event_id("CP-1", "tx", 42, "started") != event_id("CP-1", "tx", 42, "ended")
    assert len(event_id("CP-1", "x")) == 32
    assert payload_fingerprint({"a": 1, "b": 2}) == payload_fingerprint({"b": 2, "a": 1})
    assert payload_fingerprint({"a": 1}) != payload_fingerprint({"a": 2})


def test_a_session_s_message_state_stays_small_when_every_cache_is_full() -> None:
    """Every cache at its bound (longest message ids, largest answers kept by default) stays under 14 KiB,
    leaving room in the ~24 KiB per station for the socket and the session itself."""
    settings = GatewaySettings()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    state = MessageState()
    for n in range(1000):
        message_id = f"{n:036d}"
        state.bucket.take(float(n), 10.0, 100)
        state.recent_calls.remember(
            message_id,
            n,
            b"x" * settings.replay_cached_answer_bytes,
            float(n),
            capacity=settings.replay_cache_size,
            max_answer=settings.replay_cached_answer_bytes,
        )
        state.registers.went_backwards((n % 40, n % 3, "L1", "Outlet"), float(n))
        state.transactions.put(f"{n:036d}", 1, 1, "T" * 36)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert len(state.recent_calls) == settings.replay_cache_size
    assert len(state.registers) == RegisterMemory.CAPACITY
    assert len(state.transactions) == OpenTransactions.CAPACITY
    assert grown < 14 * 1024, grown
