"""The simulator's pieces that need no network: fleets, statistics, scenarios, the command line."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from chargewatch.simulator import SimulatedStation, SimulatorOptions, StationConfig, Stats, generated_fleet, load_fleet
from chargewatch.simulator.__main__ import parse_args
from chargewatch.simulator.scenarios import SCENARIOS, scenario
from chargewatch.simulator.stats import MAX_SAMPLES, percentile


def test_fleet_files_ignore_fields_the_simulator_does_not_use(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(
        json.dumps(
            {
                "stations": [
                    {
                        "station_id": "CW-A-0001",
                        "password": "p" * 20,
                        "ocpp_version": "1.6",
                        "connectors": 3,
                        "tenant_id": "partner-a",
                        "site_id": "s",
                        "latitude": 1.0,
                        "longitude": 2.0,
                    },
                    {"station_id": "CW-B-0001", "password": "q" * 20, "ocpp_version": "2.0.1"},
                ]
            }
        )
    )
    fleet = load_fleet(path)
    assert [s.station_id for s in fleet] == ["CW-A-0001", "CW-B-0001"]
    assert fleet[0].connectors == 3 and fleet[0].tenant_id == "partner-a"
    assert fleet[1].ocpp_version == "2.0.1" and fleet[1].connectors == 2


def test_fleet_files_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text('{"stations": [{"station_id": "X", "password": "p", "ocpp_version": "1.5"}]}')
    with pytest.raises(ValueError, match="ocpp_version"):
        load_fleet(path)
    path.write_text("[]")
    with pytest.raises(ValueError, match="stations"):
        load_fleet(path)


def test_generated_fleets() -> None:
    fleet = generated_fleet(3, password="pw", prefix="T", ocpp_version="mixed", connectors=4)
    assert [(s.station_id, s.ocpp_version, s.connectors) for s in fleet] == [
        ("T-0001", "1.6", 4),
        ("T-0002", "2.0.1", 4),
        ("T-0003", "1.6", 4),
    ]


def test_percentiles_and_summary() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) == 0.0
    stats = Stats()
    for value in values:
        stats.record_sent("Heartbeat")
        stats.record_answer("Heartbeat", value / 1000)
    stats.record_connected("A")
    stats.record_error("connect", "B", "HTTP 401")
    assert stats.error_count == 1
    summary = stats.summary(stations=2, elapsed_seconds=10)
    assert "stations connected: 1/2" in summary
    assert "Heartbeat" in summary and "p50 50.0" in summary and "p99 99.0" in summary
    assert "B: connect: HTTP 401" in summary


def test_latency_samples_stay_bounded() -> None:
    stats = Stats()
    for _ in range(MAX_SAMPLES + 10):
        stats.record_answer("Heartbeat", 0.001)
    assert len(stats.latencies) == MAX_SAMPLES
    assert stats.answered["Heartbeat"] == MAX_SAMPLES + 10


def test_each_action_has_its_own_latency_percentiles() -> None:
    stats = Stats()
    for value in range(1, 101):
        stats.record_sent("Heartbeat")
        stats.record_answer("Heartbeat", value / 1000)
    for _ in range(3):
        stats.record_sent("StopTransaction")
        stats.record_answer("StopTransaction", 0.8)
    stats.record_sent("MeterValues")  # sent, never answered
    assert stats.latency_percentiles("Heartbeat")["p99"] == 0.099
    assert stats.latency_percentiles("StopTransaction") == {"p50": 0.8, "p95": 0.8, "p99": 0.8}
    assert stats.latency_percentiles("MeterValues")["p99"] == 0.0
    assert stats.latency_percentiles()["p99"] == 0.8  # the slow stops are the run's tail
    lines = {line.split()[0]: line.split() for line in stats.summary(1, 1.0).splitlines() if line.startswith("  ")}
    assert lines["StopTransaction"][-2:] == ["800.0", "800.0"]
    assert lines["Heartbeat"][-2:] == ["50.0", "99.0"]
    assert lines["MeterValues"] == ["MeterValues", "1", "(0)"]


def test_status_changes_walk_the_version_cycle() -> None:
    station = SimulatedStation(StationConfig("S", "p", connectors=1), SimulatorOptions(), Stats(), random.Random(1))
    sent: list[tuple[int, str]] = []

    async def record(connector: int, status: str) -> None:
        station.statuses[connector] = status
        sent.append((connector, status))

    station._send_status = record  # type: ignore[method-assign]
    for _ in range(3):
        asyncio.run(station._change_status())
    assert sent == [(1, "Preparing"), (1, "Charging"), (1, "SuspendedEV")]


def test_scenarios() -> None:
    assert {"normal", "faults", "offline", "brute-force", "token-clone", "tamper", "flood", "storm"} == set(SCENARIOS)
    assert scenario("normal").name == "normal"
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario("chaos")


def test_command_line() -> None:
    args = parse_args(["--stations", "5", "--password", "pw", "--duration", "3", "--ocpp-version", "mixed"])
    assert (args.stations, args.duration, args.scenario, args.url) == (5, 3.0, "normal", "ws://127.0.0.1:9000/ocpp")
    # Without --password the made-up stations are registered on the local platform first.
    assert parse_args(["--stations", "5"]).password == ""
    with pytest.raises(SystemExit):
        parse_args(["--stations", "0"])
    with pytest.raises(SystemExit):
        parse_args([])
    with pytest.raises(SystemExit):
        parse_args(["--fleet", "f.json", "--scenario", "chaos"])
    # First logins are paced by a window unless told otherwise; a negative one is refused.
    assert parse_args(["--stations", "5"]).connect_window == 20
    assert parse_args(["--stations", "5", "--connect-window", "0"]).connect_window == 0
    with pytest.raises(SystemExit):
        parse_args(["--stations", "5", "--connect-window", "-1"])


def test_provisioning_only_talks_to_a_local_platform_and_says_when_it_is_not_there() -> None:
    from chargewatch.devstack.processes import free_port
    from chargewatch.simulator.fleet import generated_fleet
    from chargewatch.simulator.provision import ProvisioningError, provision

    stations = generated_fleet(2, password="", prefix="SIM-T")
    with pytest.raises(ProvisioningError, match="not a loopback address"):
        provision(stations, api="https://api.example.com", idp="http://127.0.0.1:1/realms/chargewatch")
    with pytest.raises(ProvisioningError, match="not a loopback address"):
        provision(stations, api="http://127.0.0.1:8080", idp="http://idp.example.com/realms/chargewatch")
    nothing = free_port()
    with pytest.raises(ProvisioningError, match="is the platform running"):
        provision(stations, api="http://127.0.0.1:8080", idp=f"http://127.0.0.1:{nothing}/realms/chargewatch")


def test_a_retry_after_header_is_read_in_seconds_and_bounded() -> None:
    from chargewatch.simulator.fleet import _retry_after

    assert _retry_after("3") == 3.0
    assert _retry_after(" 2 ") == 2.0
    assert _retry_after("600") == 60.0
    assert _retry_after(None) is None
    assert _retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None  # the date form is not used by the gateway
    assert _retry_after("-1") is None
