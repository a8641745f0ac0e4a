"""Each named scenario against a minimal CSMS: what the CSMS observes, and what the report states."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from chargewatch.simulator import Fleet, ScenarioOptions, SimulatorOptions, StationConfig
from tests.integration.simulator.csms import Csms, running_csms

TOKENS = ["04A1B2C3D4E5F6", "04112233445566", "04AABBCCDDEEFF"]


def fleet_of(csms: Csms, stations: list[StationConfig], scenario: str, scenario_options: ScenarioOptions,
             **options: Any) -> Fleet:  # fmt: skip
    for station in stations:
        csms.passwords[station.station_id] = station.password
    settings = {"connect_spread": 0, "status_change_every": 0, "reconnect_min": 0.2} | options
    return Fleet(
        stations, SimulatorOptions(url=csms.url, **settings), scenario=scenario, seed=5, tokens=TOKENS,
        scenario_options=scenario_options,
    )  # fmt: skip


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_offline_queues_messages_and_sends_them_in_order_after_reconnecting() -> None:
    stations = [
        StationConfig("OFF-16", "password-off-16", "1.6", 1),
        StationConfig("OFF-201", "password-off-201", "2.0.1", 1),
    ]
    schedule = "OFF-16@1s+1.5s,OFF-201@1s+1.5s"
    async with running_csms(Csms()) as csms:
        fleet = fleet_of(csms, stations, "offline", ScenarioOptions(offline_schedule=schedule),
                         session_every=0.1, session_duration=30, meter_interval=0.25)  # fmt: skip
        result = await fleet.run(4.0)
    assert result.errors == 0, result.summary()
    assert result.report.scenario["offline_schedule"] == schedule
    periods = {p.station_id: p for p in result.report.offline}
    assert set(periods) == {"OFF-16", "OFF-201"} and all(p.ended_at for p in periods.values())
    for station_id in periods:
        period = periods[station_id]
        assert csms.connection_count[station_id] == 2
        second = [m for m in csms.of(station_id) if m.connection == 2]
        assert second[0].action == "BootNotification"
        queued = second[1 : 1 + period.queued_messages]
        assert period.queued_messages >= 4, "about six meter values fall into 1.5 s offline"
        stamps = [when(_timestamp(m.action, m.payload)) for m in queued]
        assert stamps == sorted(stamps), "sent in their original order"
        assert all(period.started_at <= s <= period.ended_at for s in stamps), "with their original timestamps"
        if station_id == "OFF-201":
            assert all(m.payload["offline"] is True for m in queued)
            events = [m.payload for m in csms.of(station_id, "TransactionEvent")]
            assert [e["seq_no"] for e in events] == list(range(len(events))), "nothing lost, nothing doubled"
        else:
            assert {m.action for m in queued} == {"MeterValues"}
    assert result.stats.replayed["MeterValues"] + result.stats.replayed["TransactionEvent"] == sum(
        p.queued_messages for p in periods.values()
    )
    session = next(s for s in result.report.sessions if s.station_id == "OFF-16")
    stop = csms.of("OFF-16", "StopTransaction")[-1].payload
    assert stop["meter_stop"] - csms.of("OFF-16", "StartTransaction")[0].payload["meter_start"] == session.energy_wh


async def test_faults_follow_the_stated_schedule_and_recover() -> None:
    stations = [StationConfig("F-16", "password-f-16", "1.6", 2), StationConfig("F-201", "password-f-201", "2.0.1", 2)]
    schedule = "F-16:2@0.5s+1s=GroundFailure,F-201:1@0.5s+1s=HighTemperature"
    async with running_csms(Csms()) as csms:
        result = await fleet_of(csms, stations, "faults", ScenarioOptions(fault_schedule=schedule)).run(2.5)
    assert result.errors == 0, result.summary()
    faults = {(f.station_id, f.connector): f for f in result.report.faults}
    assert set(faults) == {("F-16", 2), ("F-201", 1)}
    for fault in faults.values():
        assert fault.ended_at is not None and 0.8 <= (fault.ended_at - fault.started_at).total_seconds() <= 1.5
    statuses = [(m.payload["status"], m.payload["error_code"]) for m in csms.of("F-16", "StatusNotification")
                if m.payload["connector_id"] == 2]  # fmt: skip
    assert statuses == [("Available", "NoError"), ("Faulted", "GroundFailure"), ("Available", "NoError")]
    statuses_201 = [
        m.payload["connector_status"] for m in csms.of("F-201", "StatusNotification") if m.payload["evse_id"] == 1
    ]
    assert statuses_201 == ["Available", "Faulted", "Available"]
    problems = [m.payload["event_data"][0] for m in csms.of("F-201", "NotifyEvent")]
    assert [(p["tech_code"], p["cleared"]) for p in problems] == [("HighTemperature", False), ("HighTemperature", True)]
    assert result.report.to_dict()["faults"][0]["ended_at"] is not None


async def test_brute_force_is_refused_and_a_csms_that_lets_it_in_is_an_error() -> None:
    station = StationConfig("BF-1", "the-right-password", "1.6", 1)
    options = ScenarioOptions(attempts=5, attempt_interval=0.05, share=1.0)
    async with running_csms(Csms()) as csms:
        result = await fleet_of(csms, [station], "brute-force", options).run(1.5)
    assert result.errors == 0, result.summary()
    assert result.stats.refused["connect HTTP 401 (wrong password)"] == 5
    wrong = [p for s, p in csms.handshakes if p != "the-right-password"]
    assert len(wrong) == 5 and len(set(wrong)) == 5
    assert result.stats.connected == {"BF-1"}, "the real station still connects"

    async with running_csms(Csms(accept_any_password=True)) as lax:
        result = await fleet_of(lax, [station], "brute-force", options).run(1.0)
    assert result.stats.errors["wrong password accepted"] == 5


async def test_token_clone_presents_one_card_at_amsterdam_and_berlin_at_once() -> None:
    stations = [
        StationConfig("TC-AMS", "password-ams-1", "1.6", 1, site_id="ams-centraal", latitude=52.38, longitude=4.90),
        StationConfig("TC-UTR", "password-utr-1", "2.0.1", 1, site_id="utrecht", latitude=52.09, longitude=5.10),
        StationConfig("TC-BER", "password-ber-1", "2.0.1", 1, site_id="berlin-mitte", latitude=52.52, longitude=13.40),
    ]
    async with running_csms(Csms()) as csms:
        result = await fleet_of(csms, stations, "token-clone", ScenarioOptions()).run(1.5)
    assert result.errors == 0, result.summary()
    clone = result.report.scenario["token_clone"]
    assert clone["stations"] == ["TC-AMS", "TC-BER"] and clone["token"] == TOKENS[0]
    assert 550 < clone["distance_km"] < 600
    ams = csms.of("TC-AMS", "Authorize")[0]
    ber = csms.of("TC-BER", "Authorize")[0]
    assert ams.payload["id_tag"] == ber.payload["id_token"]["id_token"] == TOKENS[0]
    assert not csms.of("TC-UTR", "Authorize")
    # Both Authorize at once (neither is charging yet); the CSMS refuses the second StartTransaction
    # (ConcurrentTx), and that station ends its transaction at once (DeAuthorized).
    reasons = sorted(s.stop_reason for s in result.report.sessions)
    assert reasons == ["DeAuthorized", "Local"], reasons
    refused = next(s for s in result.report.sessions if s.stop_reason == "DeAuthorized")
    assert refused.energy_wh <= 5
    assert result.stats.refused["StartTransaction ConcurrentTx"] == 1


async def test_tamper_reports_the_event_and_the_register_goes_backwards() -> None:
    stations = [
        StationConfig("TA-16", "password-ta-16", "1.6", 1),
        StationConfig("TA-201", "password-ta-201", "2.0.1", 1),
    ]
    options = ScenarioOptions(share=1.0, rewind_wh=700, rewind_after=2)
    async with running_csms(Csms()) as csms:
        result = await fleet_of(csms, stations, "tamper", options, meter_interval=0.2, session_duration=30).run(2.0)
    assert result.errors == 0, result.summary()
    for station_id in ("TA-16", "TA-201"):
        events = csms.of(station_id, "SecurityEventNotification")
        assert [e.payload["type"] for e in events] == ["TamperDetectionActivated"]
    readings = [
        int(v["value"]) for m in csms.of("TA-16", "MeterValues") for v in m.payload["meter_value"][0]["sampled_value"]
        if v["measurand"] == "Energy.Active.Import.Register"
    ]  # fmt: skip
    assert any(later < earlier for earlier, later in itertools.pairwise(readings))
    assert {r["station_id"] for r in result.report.scenario["rewinds"]} == {"TA-16", "TA-201"}


async def test_flood_sends_far_above_the_normal_rate() -> None:
    stations = [StationConfig(f"FL-{n}", f"password-fl-{n}", "1.6" if n else "2.0.1", 1) for n in range(3)]
    options = ScenarioOptions(flood_stations=1, flood_rate=150)
    async with running_csms(Csms()) as csms:
        result = await fleet_of(csms, stations, "flood", options).run(2.0)
    assert result.errors == 0, result.summary()
    flooded = len(csms.of("FL-0", "Heartbeat", "DataTransfer"))
    assert flooded > 100, flooded  # about 1.5 s of flooding at 150/s
    assert {m.action for m in csms.of("FL-0", "Heartbeat", "DataTransfer")} == {"Heartbeat", "DataTransfer"}
    assert len(csms.of("FL-1", "Heartbeat", "DataTransfer")) == 0


async def test_storm_reconnects_every_station_at_once_and_each_boots_again() -> None:
    stations = [StationConfig(f"ST-{n}", f"password-st-{n}", "1.6" if n % 2 else "2.0.1", 1) for n in range(6)]
    async with running_csms(Csms()) as csms:
        # The window paces first logins only: the storm's reconnections are never held back.
        fleet = fleet_of(csms, stations, "storm", ScenarioOptions(storm_at=1.0), connect_window=2)
        result = await fleet.run(2.5)
    assert result.errors == 0, result.summary()
    assert result.stats.storm_reconnects == 6 and result.stats.disconnects == 0
    assert all(csms.connection_count[s.station_id] == 2 for s in stations)
    second_boots = [m for m in csms.messages if m.action == "BootNotification" and m.connection == 2]
    assert len(second_boots) == 6
    assert "triggered_at" in result.report.scenario["storm"]


def _timestamp(action: str, payload: dict[str, Any]) -> str:
    if action == "MeterValues":
        return str(payload["meter_value"][0]["timestamp"])
    return str(payload["timestamp"])


async def test_first_logins_are_paced_by_the_window_and_a_busy_station_keeps_its_place() -> None:
    stations = [StationConfig(f"WN-{n}", f"password-wn-{n}", "1.6", 1) for n in range(5)]
    async with running_csms(Csms(busy_answers={"WN-0": 2})) as csms:
        fleet = fleet_of(csms, stations, "normal", ScenarioOptions(), connect_window=2)
        csms.passwords["WN-4"] = "not-what-the-station-sends"  # refused: it must not hold a place
        result = await fleet.run(4.5)
    assert result.stats.busy == 2
    assert result.stats.connected == {f"WN-{n}" for n in range(4)}
    assert result.stats.errors["connect"] >= 1  # WN-4's wrong password, still an error
    # Replay the CSMS's answers: a station is trying its first login from its first handshake until
    # one is answered other than 503. Never more than the window at once.
    trying: set[str] = set()
    done: set[str] = set()
    most = 0
    for station_id, status in csms.answers:
        if station_id in done:
            continue
        trying.add(station_id)
        most = max(most, len(trying))
        if status != 503:
            trying.discard(station_id)
            done.add(station_id)
    assert most == 2
    # WN-0 answered busy twice (Retry-After 1 s each) while the other place served the rest.
    first_answers = [station_id for station_id, _ in csms.answers]
    assert first_answers.count("WN-0") == 3
    assert first_answers.index("WN-3") < len(first_answers) - 1 - first_answers[::-1].index("WN-0")


async def test_a_station_whose_turn_never_came_is_an_error() -> None:
    stations = [StationConfig(f"WT-{n}", f"password-wt-{n}", "1.6", 1) for n in range(3)]
    async with running_csms(Csms(busy_answers={"WT-0": 100})) as csms:
        result = await fleet_of(csms, stations, "normal", ScenarioOptions(), connect_window=1).run(1.5)
    assert not result.stats.connected
    assert {station_id for station_id, _ in csms.answers} == {"WT-0"}  # it held the only place
    assert result.errors == 3, result.summary()  # WT-0 still busy at the end; WT-1 and WT-2 never tried
    assert "WT-1: connect: the run ended before its first connection" in result.stats.error_examples
