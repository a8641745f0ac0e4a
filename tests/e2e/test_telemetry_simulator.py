"""The simulator charges cars on a running platform; telemetry's sessions and energy totals then
equal, to the Wh, what the simulator's report says it delivered.

Two stations of one tenant (an OCPP 1.6 station with one connector and a 2.0.1 station with three)
charge for about 25 seconds with RFID cards created through authz; every session ends before the
simulator exits. Telemetry is read over its own gRPC API, as the partner API reads it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from chargewatch.devstack.platform import Platform, PlatformConfig, Ports
from chargewatch.simulator.tokens import generate_tokens, write_tokens
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2, telemetry_pb2, telemetry_pb2_grpc
from tests.conftest import stop_platform

pytestmark = pytest.mark.e2e

TENANT = "partner-a"
OPERATOR = common_pb2.Principal(subject="e2e-operator", roles=["operator"])
RUN_SECONDS = 25


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # No built-in simulator: the test runs its own, with short sessions and a report.
    config = PlatformConfig(
        run_dir=tmp_path_factory.mktemp("telemetry-e2e"),
        ports=Ports.free(),
        stations=4,
        simulate=False,
        log_level="WARNING",
    )
    running = Platform(config)
    running.start()
    yield running
    stop_platform(running)


def create_cards(platform: Platform, count: int) -> list[str]:
    """RFID cards of the tenant, created in authz by an operator (as `/v1/tokens` would)."""
    cards = generate_tokens(count, seed=29)
    metadata = (("authorization", f"Bearer {platform.token('operator')}"),)
    with grpc.insecure_channel(f"127.0.0.1:{platform.config.ports.authz_grpc}") as channel:
        stub = authz_pb2_grpc.AuthzStub(channel)
        for card in cards:
            token = authz_pb2.DriverToken(id_token=card, id_token_type="ISO14443", tenant_id=TENANT)
            stub.CreateToken(authz_pb2.CreateTokenRequest(token=token), metadata=metadata, timeout=10)
    return cards


def run_simulator(platform: Platform, work: Path) -> dict[str, Any]:
    stations = [vars(s) for s in platform.fleet if s.tenant_id == TENANT]
    assert {s["ocpp_version"] for s in stations} == {"1.6", "2.0.1"}
    (work / "fleet.json").write_text(json.dumps({"stations": stations}))
    # Three cards per connector: one card may charge at one place at a time.
    write_tokens(work / "cards.txt", create_cards(platform, 3 * sum(s["connectors"] for s in stations)))
    argv = [
        sys.executable,
        "-m",
        "chargewatch.simulator",
        "--url",
        platform.ocpp_url,
        "--fleet",
        str(work / "fleet.json"),
        "--tokens",
        str(work / "cards.txt"),
        "--duration",
        str(RUN_SECONDS),
        "--status-change-every",
        "0",
        "--session-every",
        "2",
        "--session-duration",
        "6",
        "--meter-interval",
        "1",
        "--seed",
        "11",
        "--report",
        str(work / "report.json"),
    ]
    # subprocess.run kills its own child (by pid) should the run overstay.
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_SECONDS + 60, check=False)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    report: dict[str, Any] = json.loads((work / "report.json").read_text())
    return report


def ms(ocpp_time: str) -> int:
    return int(datetime.fromisoformat(ocpp_time.replace("Z", "+00:00")).timestamp() * 1000)


def telemetry_sessions(
    stub: Any, station_ids: list[str], metadata: tuple[tuple[str, str], ...]
) -> dict[tuple[str, str], telemetry_pb2.ChargingSession]:
    found: dict[tuple[str, str], telemetry_pb2.ChargingSession] = {}
    for station_id in station_ids:
        reply = stub.ListSessions(
            telemetry_pb2.ListSessionsRequest(
                principal=OPERATOR, station_id=station_id, page=common_pb2.PageRequest(page_size=500)
            ),
            timeout=10,
            metadata=metadata,
        )
        found.update({(s.connector.station_id, s.transaction_id): s for s in reply.sessions})
    return found


def test_sessions_and_energy_equal_the_simulator_report_to_the_wh(platform: Platform, tmp_path: Path) -> None:
    report = run_simulator(platform, tmp_path)
    sessions = report["sessions"]
    assert len(sessions) >= 4, report["totals"]
    assert all(s["complete"] for s in sessions)  # the simulator ends every session before it exits
    expected = {(s["station_id"], s["transaction_id"]): s for s in sessions}
    station_ids = sorted({s["station_id"] for s in sessions})

    with grpc.insecure_channel(f"127.0.0.1:{platform.config.ports.telemetry_grpc}") as channel:
        stub = telemetry_pb2_grpc.TelemetryStub(channel)
        deadline = time.monotonic() + 45
        while True:
            found = telemetry_sessions(stub, station_ids, platform.grpc_metadata())
            settled = set(found) == set(expected) and all(s.ended for s in found.values())
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert set(found) == set(expected)
        for key, simulated in expected.items():
            session = found[key]
            assert session.ended, key
            assert session.energy_wh == simulated["energy_wh"], key
            assert session.id_token == simulated["id_token"], key
            assert session.stop_reason == simulated["stop_reason"], key
            assert session.started_at.ToMilliseconds() == ms(simulated["started_at"]), key
            assert session.stopped_at.ToMilliseconds() == ms(simulated["stopped_at"]), key
            assert session.connector.evse_id == simulated["connector"], key

        for station_id, totals in report["totals"]["stations"].items():
            mine = [s for (station, _), s in found.items() if station == station_id]
            assert len(mine) == totals["sessions"], station_id
            assert sum(s.energy_wh for s in mine) == totals["energy_wh"], station_id

        # The meter values tell the same story: the registers rose by exactly the energy delivered.
        metadata = platform.grpc_metadata()

        def site_energy() -> float:
            reply = stub.GetSiteEnergy(
                telemetry_pb2.SiteEnergyRequest(
                    principal=OPERATOR, scope=telemetry_pb2.AnalyticsScope(tenant_id=TENANT)
                ),
                timeout=10,
                metadata=metadata,
            )
            return float(reply.total_energy_wh)

        total = report["totals"]["energy_wh"]
        deadline = time.monotonic() + 20
        while site_energy() != total and time.monotonic() < deadline:
            time.sleep(0.5)
        assert site_energy() == total
        stats = stub.GetSessionStats(
            telemetry_pb2.SessionStatsRequest(principal=OPERATOR, scope=telemetry_pb2.AnalyticsScope(tenant_id=TENANT)),
            timeout=10,
            metadata=metadata,
        )
        assert stats.sessions == len(sessions) and stats.energy_wh == total
