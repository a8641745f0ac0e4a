"""The simulator's pure parts: tokens, schedules, the meter, the offline queue, the report, messages."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ocpp.messages import Call, validate_payload

from chargewatch.simulator.__main__ import parse_args
from chargewatch.simulator.fleet import Fleet, StationConfig, generated_fleet
from chargewatch.simulator.messages import Messages16, Messages201, Transaction
from chargewatch.simulator.meter import ConnectorMeter
from chargewatch.simulator.offline import OfflineQueue
from chargewatch.simulator.report import Report, SessionRecord
from chargewatch.simulator.schedule import (
    Window,
    derive_fault_schedule,
    format_schedule,
    parse_duration,
    parse_fault_schedule,
    parse_offline_schedule,
)
from chargewatch.simulator.tokens import (
    assign_tenants,
    generate_tokens,
    load_token_pool,
    load_tokens,
    write_tokens,
)


def test_generated_tokens_are_deterministic_distinct_hex_uids() -> None:
    tokens = generate_tokens(200, seed=4)
    assert tokens == generate_tokens(200, seed=4) and tokens != generate_tokens(200, seed=5)
    assert len(set(tokens)) == 200
    assert all(len(t) == 14 and t.startswith("04") and int(t, 16) >= 0 for t in tokens)
    with pytest.raises(ValueError, match="positive"):
        generate_tokens(0)


def test_token_files_round_trip_and_bad_entries_are_named(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    write_tokens(path, ["04a1b2c3d4e5f6", "DEADBEEF"])
    assert load_tokens(path) == ["04A1B2C3D4E5F6", "DEADBEEF"]
    path.write_text("# cards\nDEADBEEF  # fleet card\n\n")
    assert load_tokens(path) == ["DEADBEEF"]
    path.write_text(json.dumps({"tokens": ["DEADBEEF", "DEADBEEF"]}))
    with pytest.raises(ValueError, match=r"entry 2 .*duplicate"):
        load_tokens(path)
    path.write_text("DEADBEEF\nnot-hex\n")
    with pytest.raises(ValueError, match=r"entry 2 .*not-hex"):
        load_tokens(path)


def test_cards_carry_their_tenant_through_files_and_drivers_present_their_tenants_cards(tmp_path: Path) -> None:
    cards = generate_tokens(6, seed=1)
    dealt = assign_tenants(cards, ("partner-a", "partner-b"))
    assert [dealt[c] for c in cards] == ["partner-a", "partner-b"] * 3
    path = tmp_path / "tokens.txt"
    write_tokens(path, cards, dealt)
    assert load_token_pool(path) == (cards, dealt)
    assert load_tokens(path) == cards
    path.write_text("DEADBEEF Partner-A\n")
    with pytest.raises(ValueError, match=r"line 1 is not 'UID' or 'UID TENANT'"):
        load_token_pool(path)
    path.write_text("DEADBEEF partner-a extra\n")
    with pytest.raises(ValueError, match=r"line 1"):
        load_token_pool(path)

    stations = [
        StationConfig("CP-A", "pw", tenant_id="partner-a"),
        StationConfig("CP-B", "pw", tenant_id="partner-b"),
        StationConfig("CP-C", "pw", tenant_id="partner-c"),  # no card of its own: any card
    ]
    fleet = Fleet(stations, tokens=cards, token_tenants=dealt)
    by_station = {s.station_id: set(s.tokens) for s in fleet.simulated}
    assert by_station["CP-A"] == {c for c in cards if dealt[c] == "partner-a"}
    assert by_station["CP-B"] == {c for c in cards if dealt[c] == "partner-b"}
    assert by_station["CP-C"] == set(cards)
    # Tenants unknown: every station's drivers may present any card.
    assert all(set(s.tokens) == set(cards) for s in Fleet(stations, tokens=cards).simulated)


def test_fault_schedules_parse_format_and_refuse_bad_input() -> None:
    windows = parse_fault_schedule("CW-A-0001:1@10s+30s=GroundFailure, CW-B-0002:2@1.5m+90")
    assert windows == [
        Window(10.0, 30.0, "CW-A-0001", 1, "GroundFailure"),
        Window(90.0, 90.0, "CW-B-0002", 2, "InternalError"),
    ]
    assert parse_fault_schedule(format_schedule(windows)) == windows
    assert parse_offline_schedule("CW-A-0001@20s+40s") == [Window(20.0, 40.0, "CW-A-0001")]
    assert parse_duration("250ms") == 0.25 and parse_duration("2h") == 7200
    for bad, message in [
        ("CW-A-0001@10s+30s", "STATION:CONNECTOR"),
        ("CW-A-0001:1@10s+0s", "positive"),
        ("CW-A-0001:1@ten+30s", "not a duration"),
        ("CW-A-0001:1@1s+30s=Melted", "error code"),
        ("CW-A-0001:0@1s+3s", "numbered from 1"),
        ("CW-A-0001:1@1s+30s,CW-A-0001:1@20s+5s", "overlap"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_fault_schedule(bad)


def test_derived_fault_schedules_are_repeatable_and_recover_inside_the_run() -> None:
    stations = [(f"S-{n}", 1 + n % 4) for n in range(20)]
    windows = derive_fault_schedule(stations, seed=9, duration=300, share=0.25)
    assert windows == derive_fault_schedule(stations, seed=9, duration=300, share=0.25)
    assert len(windows) == 5 and all(w.end < 300 for w in windows)
    assert all(1 <= w.connector <= dict(stations)[w.station_id] for w in windows)


def test_the_meter_counts_whole_wh_and_carries_fractions() -> None:
    meter = ConnectorMeter(register_wh=1000, phases=3)
    meter.power_w = 7200.0  # 2 Wh a second
    for _ in range(10):
        meter.advance(0.25)  # 0.5 Wh each: never lost to rounding
    assert meter.register_wh == 1005
    meter.rewind(300)
    assert meter.register_wh == 705
    meter.plug_in(random.Random(1))
    sample = meter.sample()
    assert 0 < sample.power_w <= 230 * 32 * 3 and len(sample.current_a) == 3
    assert sample.soc_percent is not None and 10 <= sample.soc_percent <= 60


def test_the_offline_queue_keeps_order_and_sheds_meter_values_before_transactions() -> None:
    queue = OfflineQueue(capacity=3)
    queue.put("StartTransaction", 1)
    queue.put("MeterValues", 2)
    queue.put("MeterValues", 3)
    queue.put("StopTransaction", 4)
    assert queue.actions() == ["StartTransaction", "MeterValues", "StopTransaction"] and queue.dropped == 1
    assert [queue.pop().payload for _ in range(3)] == [1, 3, 4]
    full = OfflineQueue(capacity=1)
    full.put("StopTransaction", 1)
    with pytest.raises(OverflowError):
        full.put("StopTransaction", 2)


def test_the_report_totals_energy_per_station() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    report = Report()
    done = report.session_started(SessionRecord("A", 1, "1.6", "DEADBEEF", start, 1000, transaction_id="7"))
    done.stopped_at, done.meter_stop_wh = start + timedelta(minutes=30), 12_345
    running = report.session_started(SessionRecord("A", 2, "1.6", "DEADBEEF", start, 500))
    running.meter_last_wh = 800
    report.session_started(SessionRecord("B", 1, "2.0.1", "CAFEBABE", start, 0))
    totals = report.to_dict()["totals"]
    assert totals["stations"]["A"] == {
        "sessions": 2,
        "complete_sessions": 1,
        "energy_wh": 11_645,
        "complete_energy_wh": 11_345,
    }
    assert totals["energy_wh"] == 11_645 and totals["complete_sessions"] == 1
    first = report.to_dict()["sessions"][0]
    assert first["started_at"] == "2026-01-01T00:00:00.000Z" and first["stopped_at"] == "2026-01-01T00:30:00.000Z"


@pytest.mark.parametrize("messages", [Messages16(), Messages201()])
async def test_every_built_message_is_valid_ocpp(messages: Messages16 | Messages201) -> None:
    meter = ConnectorMeter(register_wh=5000)
    meter.plug_in(random.Random(2))
    sample = meter.sample()
    tx = Transaction(1, "DEADBEEF", 5000, "2026-01-01T00:00:00.000Z", transaction_id="11")
    ts = "2026-01-01T00:01:00.000Z"
    built = [
        messages.boot("V", "M", "SN-1"),
        messages.heartbeat(),
        messages.status(1, "Charging", ts),
        messages.fault_event(1, "GroundFailure", ts, cleared=False, event_id=1),
        messages.authorize("DEADBEEF"),
        messages.started(tx, sample, offline=False),
        messages.meter(tx, sample, ts, offline=True),
        messages.meter_outside_transaction(1, sample, ts),
        messages.ended(tx, sample, ts, "HardReset", offline=False),
        messages.security_event("TamperDetectionActivated", ts, "cover"),
        messages.data_transfer("ChargeWatchSim", "m", "d"),
        messages.firmware_status("Installed", 3, signed=True),
        messages.diagnostics_status("Uploaded"),
        messages.log_status("Uploaded", 3),
        messages.sign_certificate("-----BEGIN CERTIFICATE REQUEST-----"),
    ]
    from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case

    version = "1.6" if isinstance(messages, Messages16) else "2.0.1"
    for payload in (p for p in built if p is not None):
        call = Call("1", type(payload).__name__, remove_nones(snake_to_camel_case(serialize_as_dict(payload))))
        await validate_payload(call, version)  # raises on any schema violation


def test_command_line_scenarios_and_schedules() -> None:
    args = parse_args(["--stations", "2", "--password", "pw", "--scenario", "faults",
                       "--fault-schedule", "SIM-0001:1@1s+2s", "--connectors", "mixed"])  # fmt: skip
    assert args.scenario == "faults" and args.connectors is None
    with pytest.raises(SystemExit):
        parse_args(["--stations", "2", "--password", "pw", "--fault-schedule", "SIM-0001@1s"])
    with pytest.raises(SystemExit):
        parse_args(["--stations", "2", "--password", "pw", "--url", "wss://h/ocpp", "--cert-file", "c.pem"])
    fleet = generated_fleet(10, password="pw", ocpp_version="mixed", connectors=None, share_201=0.3)
    assert sum(s.ocpp_version == "2.0.1" for s in fleet) == 3
    assert [s.connectors for s in fleet[:5]] == [1, 2, 3, 4, 1]
