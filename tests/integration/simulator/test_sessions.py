"""Sessions against a minimal CSMS: message order, meter values, and the report's energy to the Wh."""

from __future__ import annotations

from typing import Any

from chargewatch.simulator import Fleet, SimulatorOptions, StationConfig
from tests.integration.simulator.csms import Csms, Message, running_csms

TOKENS = ["04A1B2C3D4E5F6", "04112233445566", "04AABBCCDDEEFF"]
FAST = {"session_every": 0.2, "session_duration": 1.2, "meter_interval": 0.3, "status_change_every": 0}


def fleet_of(csms: Csms, stations: list[StationConfig], **options: Any) -> Fleet:
    for station in stations:
        csms.passwords[station.station_id] = station.password
    return Fleet(stations, SimulatorOptions(url=csms.url, connect_spread=0, **options), seed=3, tokens=TOKENS)


def register(values: list[dict[str, Any]]) -> int:
    entry = next(v for v in values if v.get("measurand") == "Energy.Active.Import.Register")
    return int(float(entry["value"]))


async def test_16_and_201_sessions_follow_the_protocol_and_the_report_matches_to_the_wh() -> None:
    stations = [
        StationConfig("S16", "password-16-xyz", "1.6", 2),
        StationConfig("S201", "password-201-xyz", "2.0.1", 1),
    ]
    async with running_csms(Csms()) as csms:
        result = await fleet_of(csms, stations, **FAST).run(4.0)
    assert result.errors == 0, result.summary()
    report = result.report
    complete = [s for s in report.sessions if s.complete]
    assert {s.station_id for s in complete} == {"S16", "S201"}
    assert all(s.complete for s in report.sessions), "the run's end stops running sessions"

    # 1.6: Authorize -> StartTransaction -> Charging -> MeterValues... -> StopTransaction, per transaction.
    metered_16 = 0
    for session in (s for s in complete if s.station_id == "S16"):
        tx = int(session.transaction_id)
        flow = _flow_16(csms.of("S16"), tx)
        actions = [m.action for m in flow]
        assert actions[0] == "Authorize" and actions[1] == "StartTransaction"
        assert actions[-1] == "StopTransaction"
        start, stop = flow[1].payload, flow[-1].payload
        assert start["meter_start"] == session.meter_start_wh and stop["meter_stop"] == session.meter_stop_wh
        assert stop["meter_stop"] - start["meter_start"] == session.energy_wh >= 0
        assert stop["reason"] in {"EVDisconnected", "Local"} and stop["id_tag"] == session.id_token
        assert [v["sampled_value"][0]["context"] for v in stop["transaction_data"]] == [
            "Transaction.Begin", "Transaction.End"
        ]  # fmt: skip
        readings = [register(m.payload["meter_value"][0]["sampled_value"]) for m in flow if m.action == "MeterValues"]
        assert session.stopped_at is not None
        if (session.stopped_at - session.started_at).total_seconds() < 0.6:
            continue  # started just before the run ended: too short for meter values
        assert readings, "meter values every few tenths of a second"
        metered_16 += 1
        assert (
            readings == sorted(readings) and start["meter_start"] <= readings[0] and readings[-1] <= stop["meter_stop"]
        )
        measurands = {
            (v["measurand"], v.get("phase")) for v in next(m for m in flow if m.action == "MeterValues").payload[
                "meter_value"][0]["sampled_value"]
        }  # fmt: skip
        assert {("Energy.Active.Import.Register", None), ("Power.Active.Import", None), ("SoC", None)} <= measurands
        assert ("Current.Import", "L1") in measurands and ("Voltage", "L1-N") in measurands
        charging = [
            m for m in csms.of("S16", "StatusNotification")
            if m.payload["connector_id"] == session.connector and m.payload["status"] == "Charging"
        ]  # fmt: skip
        assert charging

    assert metered_16, "at least one 1.6 session long enough for meter values"
    # 2.0.1: Authorize -> TransactionEvent Started/Updated.../Ended with consecutive seqNo.
    metered_201 = 0
    for session in (s for s in complete if s.station_id == "S201"):
        events = [
            m.payload for m in csms.of("S201", "TransactionEvent")
            if m.payload["transaction_info"]["transaction_id"] == session.transaction_id
        ]  # fmt: skip
        assert events[0]["event_type"] == "Started" and events[-1]["event_type"] == "Ended"
        assert {e["event_type"] for e in events[1:-1]} <= {"Updated"}
        metered_201 += len(events) > 2
        assert [e["seq_no"] for e in events] == list(range(len(events)))
        assert events[0]["id_token"] == {"id_token": session.id_token, "type": "ISO14443"}
        assert events[0]["transaction_info"]["charging_state"] == "Charging"
        begin = register(events[0]["meter_value"][0]["sampled_value"])
        end = register(events[-1]["meter_value"][0]["sampled_value"])
        assert (begin, end) == (session.meter_start_wh, session.meter_stop_wh)
        assert end - begin == session.energy_wh
        assert not any(e.get("offline") for e in events)

    assert metered_201, "at least one 2.0.1 session long enough for meter values"
    totals = report.totals()
    for station_id in ("S16", "S201"):
        mine = [s for s in report.sessions if s.station_id == station_id]
        assert totals[station_id]["energy_wh"] == sum(s.energy_wh for s in mine)
        assert totals[station_id]["sessions"] == len(mine)
    document = report.to_dict()
    assert document["totals"]["energy_wh"] == sum(s.energy_wh for s in report.sessions)
    assert document["sessions"][0]["started_at"].endswith("Z")


async def test_an_unknown_token_is_refused_and_nothing_is_charged() -> None:
    station = StationConfig("S-REFUSED", "password-refused", "1.6", 1)
    csms = Csms(refused_tokens=set(TOKENS))
    async with running_csms(csms):
        result = await fleet_of(csms, [station], **FAST).run(1.5)
    assert result.errors == 0, result.summary()
    assert result.stats.refused["Authorize Invalid"] >= 1
    assert not result.report.sessions
    assert not csms.of("S-REFUSED", "StartTransaction")
    statuses = [m.payload["status"] for m in csms.of("S-REFUSED", "StatusNotification") if m.payload["connector_id"]]
    assert statuses[:3] == ["Available", "Preparing", "Available"]


def _flow_16(messages: list[Message], tx: int) -> list[Message]:
    """The Authorize before a transaction's StartTransaction, then every message of the transaction."""
    start = next(i for i, m in enumerate(messages) if m.action == "StartTransaction" and m.transaction_id == tx)
    token = messages[start].payload["id_tag"]
    authorize = [m for m in messages[:start] if m.action == "Authorize" and m.payload["id_tag"] == token][-1:]
    rest = [m for m in messages[start:] if m.action in {"MeterValues", "StopTransaction"}
            and m.payload.get("transaction_id") == tx]  # fmt: skip
    return [*authorize, messages[start], *rest]


async def test_a_session_starting_as_the_run_stops_is_reported_and_ended() -> None:
    # The CSMS answers each transaction start after the run's stop: the station finishes that exchange,
    # reports the session and ends it, as the CSMS was told it began.
    stations = [
        StationConfig("L16", "password-16-late", "1.6", 1),
        StationConfig("L201", "password-201-late", "2.0.1", 1),
    ]
    async with running_csms(Csms(start_answer_delay=1.5)) as csms:
        result = await fleet_of(csms, stations, session_every=0.4, session_duration=30, meter_interval=5,
                                status_change_every=0).run(1.0)  # fmt: skip
    assert result.errors == 0, result.summary()
    started_16 = [m.transaction_id for m in csms.of("L16", "StartTransaction")]
    started_201 = [m.payload["transaction_info"]["transaction_id"] for m in csms.of("L201", "TransactionEvent")
                   if m.payload["event_type"] == "Started"]  # fmt: skip
    assert started_16 and started_201, "each station began a transaction before the stop"
    reported = {(s.station_id, s.transaction_id) for s in result.report.sessions}
    assert reported == {("L16", str(t)) for t in started_16} | {("L201", t) for t in started_201}
    assert all(s.complete for s in result.report.sessions)
    stopped_16 = [m.payload["transaction_id"] for m in csms.of("L16", "StopTransaction")]
    ended_201 = [m.payload["transaction_info"]["transaction_id"] for m in csms.of("L201", "TransactionEvent")
                 if m.payload["event_type"] == "Ended"]  # fmt: skip
    assert stopped_16 == started_16 and ended_201 == started_201
