"""The simulator's fleet, in-process, against the gateway: a few seconds of normal operation, no errors."""

from __future__ import annotations

import asyncio

from chargewatch.simulator import Fleet, SimulatorOptions, StationConfig
from chargewatch.streams import StreamFamily
from chargewatch.v1 import gateway_pb2
from tests.integration.ocpp_gateway.conftest import Gateway


async def test_a_simulated_fleet_runs_without_errors(gateway: Gateway, commands: object) -> None:
    stations = [
        StationConfig(f"SIM-{n}", f"password-of-sim-{n}", "1.6" if n % 2 else "2.0.1", connectors=1 + n % 3)
        for n in range(5)
    ]
    for station in stations:
        gateway.add_station(station.station_id, station.password, tenant_id="partner-sim")
    fleet = Fleet(
        stations,
        SimulatorOptions(url=gateway.url, status_change_every=0.3, heartbeat_cap=0.5, response_timeout=5),
        seed=7,
    )
    run = asyncio.create_task(fleet.run(3.0))
    # A command reaches a simulated station, which answers it and sends what was asked for.
    await asyncio.sleep(1.0)
    reply = await commands.SendCommand(  # type: ignore[attr-defined]
        gateway_pb2.CommandRequest(
            station_id="SIM-1",
            kind=gateway_pb2.COMMAND_KIND_TRIGGER_MESSAGE,
            arguments_json='{"requested_message": "StatusNotification", "connector_id": 1}',
        ),
        timeout=5,
    )
    assert reply.status == "Accepted"
    result = await run

    assert result.errors == 0, result.summary()
    assert result.stats.connected == {s.station_id for s in stations}
    assert result.stats.disconnects == 0
    assert result.stats.sent["BootNotification"] == 5
    assert result.stats.sent["Heartbeat"] >= 5
    assert result.stats.sent["StatusNotification"] > 5 + sum(s.connectors for s in stations)
    assert result.stats.received["TriggerMessage"] == 1
    assert result.stats.latency_percentiles()["p99"] > 0
    assert "stations connected: 5/5" in result.summary()

    statuses = await gateway.events(StreamFamily.STATUS)
    assert {e.station_id for e in statuses} == {s.station_id for s in stations}
    assert {e.tenant_id for e in statuses} == {"partner-sim"}
    boots = await gateway.events(StreamFamily.BOOT)
    assert sorted(e.station_id for e in boots) == sorted(s.station_id for s in stations)
    assert not await gateway.events(StreamFamily.SECURITY)
