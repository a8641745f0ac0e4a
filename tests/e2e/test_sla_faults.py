"""The simulator's `faults` scenario against the live platform: the incidents, alerts and uptime that
its stated schedule implies, to the millisecond.

Fleet (devstack fleet_plan(4)): CW-A-0001 (1.6, 1 connector), CW-B-0001 (1.6, 2), CW-A-0002 (2.0.1, 3),
CW-B-0002 (2.0.1, 4). Schedule, in seconds from the simulator's start, with a flap window of 10 s:
- CW-A-0001:1 faults 8-14 s and 17-20 s (GroundFailure): 3 s apart, one incident with one flap;
- CW-B-0001:2 faults 10-15 s (HighTemperature): one incident;
- CW-A-0002:2 faults 8-12 s and 26-30 s (InternalError, 2.0.1): 14 s apart, two incidents;
- every other port: no incident, 100% uptime.
The exact times come from the simulator's report, which records the timestamps its StatusNotifications
carry; the engine must count exactly those milliseconds. When the run ends the stations disconnect, which
is an outage too: the checks look at the schedule's window (3 s before the first fault to 2 s after the
last recovery).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
import redis

from chargewatch.devstack.platform import Platform, PlatformConfig, Ports
from chargewatch.streams import StreamFamily, stream_name
from chargewatch.v1 import common_pb2, events_pb2, sla_pb2, sla_pb2_grpc
from tests.conftest import stop_platform

pytestmark = pytest.mark.e2e

SCHEDULE = (
    "CW-A-0001:1@8s+6s=GroundFailure,CW-A-0001:1@17s+3s=GroundFailure,"
    "CW-B-0001:2@10s+5s=HighTemperature,"
    "CW-A-0002:2@8s+4s=InternalError,CW-A-0002:2@26s+4s=InternalError"
)
FLAP_WINDOW_MS = 10_000
OPERATOR = common_pb2.Principal(subject="e2e-operator", roles=["operator"])
PARTNER_B = common_pb2.Principal(subject="e2e-partner-b", roles=["partner"], tenant_id="partner-b")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    live = Platform(
        PlatformConfig(
            run_dir=tmp_path_factory.mktemp("sla-platform"),
            ports=Ports.free(),
            stations=4,
            simulate=False,
            extra_env={"CW_SLA_FLAP_WINDOW_SECONDS": "10", "CW_SLA_FLUSH_INTERVAL_SECONDS": "0.5"},
        )
    )
    live.start()
    yield live
    stop_platform(live)


@pytest.fixture(scope="module")
def report(platform: Platform) -> dict[str, Any]:
    """Run the faults scenario to its end and return the simulator's report."""
    path = platform.config.run_dir / "faults-report.json"
    argv = [
        sys.executable,
        "-m",
        "chargewatch.simulator",
        "--url",
        platform.ocpp_url,
        "--fleet",
        str(platform.fleet_file),
        "--scenario",
        "faults",
        "--fault-schedule",
        SCHEDULE,
        "--status-change-every",
        "0",
        # 15 s after the last recovery: the disconnection at the end must not fold into it as a flap.
        "--duration",
        "45",
        "--seed",
        "6",
        "--report",
        str(path),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def stamp_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def schedule_window(report: dict[str, Any]) -> common_pb2.TimeRange:
    window = common_pb2.TimeRange()
    window.start.FromMilliseconds(min(stamp_ms(f["started_at"]) for f in report["faults"]) - 3000)
    window.end.FromMilliseconds(max(stamp_ms(f["ended_at"]) for f in report["faults"]) + 2000)
    return window


def expected_incidents(faults: list[dict[str, Any]]) -> dict[tuple[str, int], list[list[tuple[int, int]]]]:
    """Per port, the faults folded into incidents by the flap window: [[(start, end), ...], ...]."""
    by_port: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for fault in faults:
        by_port.setdefault((fault["station_id"], fault["connector"]), []).append(
            (stamp_ms(fault["started_at"]), stamp_ms(fault["ended_at"]))
        )
    folded: dict[tuple[str, int], list[list[tuple[int, int]]]] = {}
    for key, spans in by_port.items():
        groups: list[list[tuple[int, int]]] = []
        for span in sorted(spans):
            if groups and span[0] - groups[-1][-1][1] <= FLAP_WINDOW_MS:
                groups[-1].append(span)
            else:
                groups.append([span])
        folded[key] = groups
    return folded


def call(platform: Platform, method: str, request: Any) -> Any:
    async def run() -> Any:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{platform.config.ports.sla_grpc}") as channel:
            stub = sla_pb2_grpc.SlaStub(channel)
            # As the service account: every gRPC server authenticates its caller.
            return await getattr(stub, method)(request, timeout=10, metadata=platform.grpc_metadata())

    return asyncio.run(run())


def wait_for(predicate: Any, timeout: float = 30.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def test_the_schedule_was_run_as_stated(report: dict[str, Any]) -> None:
    faults = report["faults"]
    assert len(faults) == 5
    assert all(f["ended_at"] for f in faults)
    assert {(f["station_id"], f["connector"]) for f in faults} == {("CW-A-0001", 1), ("CW-B-0001", 2), ("CW-A-0002", 2)}


def test_incidents_are_those_the_schedule_implies(platform: Platform, report: dict[str, Any]) -> None:
    expected = expected_incidents(report["faults"])
    assert sorted(len(groups) for groups in expected.values()) == [1, 1, 2]

    window = schedule_window(report)

    def all_restored() -> list[sla_pb2.Incident] | None:
        listed = call(platform, "ListIncidents", sla_pb2.ListIncidentsRequest(principal=OPERATOR, range=window))
        incidents = [i for i in listed.incidents if i.port.station_id.startswith("CW-")]
        wanted = sum(len(groups) for groups in expected.values())
        ok = len(incidents) == wanted and all(i.state == sla_pb2.INCIDENT_STATE_RESOLVED for i in incidents)
        return incidents if ok else None

    incidents = wait_for(all_restored)
    found: dict[tuple[str, int], list[sla_pb2.Incident]] = {}
    for incident in incidents:
        found.setdefault((incident.port.station_id, incident.port.evse_id), []).append(incident)
    assert set(found) == set(expected)
    codes = {(f["station_id"], f["connector"]): f["error_code"] for f in report["faults"]}
    for key, groups in expected.items():
        got = sorted(found[key], key=lambda i: i.opened_at.ToMilliseconds())
        assert len(got) == len(groups), key
        for incident, group in zip(got, groups, strict=True):
            assert incident.opened_at.ToMilliseconds() == group[0][0], key
            assert incident.restored_at.ToMilliseconds() == group[-1][1], key
            assert incident.flaps == len(group) - 1, key
            assert incident.down_ms == sum(end - start for start, end in group), key
            assert incident.resolved_by == "port recovered"
            assert incident.severity == common_pb2.SEVERITY_HIGH
            # OCPP 1.6 carries the error code in the StatusNotification; 2.0.1 does not.
            assert incident.cause in (f"faulted:{codes[key]}", "faulted"), incident.cause
            if key[0] in ("CW-A-0001", "CW-B-0001"):
                assert incident.cause == f"faulted:{codes[key]}"
    partner_view = call(platform, "ListIncidents", sla_pb2.ListIncidentsRequest(principal=PARTNER_B, range=window))
    assert {i.port.station_id for i in partner_view.incidents} == {"CW-B-0001"}


def test_uptime_is_what_the_schedule_implies_to_the_millisecond(platform: Platform, report: dict[str, Any]) -> None:
    faults = report["faults"]
    window = schedule_window(report)
    start, end = window.start.ToMilliseconds(), window.end.ToMilliseconds()
    down: dict[tuple[str, int], int] = {}
    for fault in faults:
        key = (fault["station_id"], fault["connector"])
        down[key] = down.get(key, 0) + stamp_ms(fault["ended_at"]) - stamp_ms(fault["started_at"])

    def measured() -> sla_pb2.UptimeReport | None:
        uptime = call(
            platform,
            "GetUptime",
            sla_pb2.GetUptimeRequest(principal=OPERATOR, scope=sla_pb2.UPTIME_SCOPE_OPERATOR, window=window),
        )
        ports = {(p.port.station_id, p.port.evse_id): p for p in uptime.ports}
        return uptime if all(ports.get(k) and ports[k].outage_ms == v for k, v in down.items()) else None

    uptime = wait_for(measured)
    fleet_ports = [p for p in uptime.ports if p.port.station_id.startswith("CW-")]
    assert len(fleet_ports) == 1 + 2 + 3 + 4
    for port in fleet_ports:
        key = (port.port.station_id, port.port.evse_id)
        outage = down.get(key, 0)
        assert port.window_ms == end - start, key
        assert port.outage_ms == outage, key
        assert port.excluded_ms == 0
        assert port.uptime_percent == pytest.approx((end - start - outage) / (end - start) * 100, abs=1e-9), key
    assert uptime.outage_ms == sum(down.values())
    by_site = call(
        platform,
        "GetUptime",
        sla_pb2.GetUptimeRequest(principal=PARTNER_B, scope=sla_pb2.UPTIME_SCOPE_TENANT, window=window),
    )
    assert {p.port.station_id for p in by_site.ports} == {"CW-B-0001", "CW-B-0002"}
    assert by_site.outage_ms == down[("CW-B-0001", 2)]
    assert all(p.site_id for p in by_site.ports)  # the site came from telemetry's registry


def test_every_incident_was_announced_and_closed_on_the_alert_stream(
    platform: Platform, report: dict[str, Any]
) -> None:
    expected = expected_incidents(report["faults"])
    window = schedule_window(report)
    listed = call(platform, "ListIncidents", sla_pb2.ListIncidentsRequest(principal=OPERATOR, range=window))
    scheduled = {i.incident_id for i in listed.incidents}
    client = redis.Redis.from_url(platform.redis_url)
    try:

        def sla_alerts() -> list[events_pb2.EventEnvelope] | None:
            # The sync client's annotations cover its async twin too; a stream read gives (id, fields) pairs.
            entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(stream_name(StreamFamily.ALERT, 0)))
            alerts = [events_pb2.EventEnvelope.FromString(fields[b"data"]) for _id, fields in entries]
            mine = [
                a
                for a in alerts
                if a.alert.source_service == "sla-engine"
                and a.alert.rule == "sla.port_down"
                and a.alert.alert_id in scheduled
            ]
            closed = [a for a in mine if a.alert.state == events_pb2.ALERT_STATE_RESOLVED]
            wanted = sum(len(g) for g in expected.values())
            return mine if len(closed) >= wanted else None

        alerts = wait_for(sla_alerts)
    finally:
        client.close()
    opened = {a.alert.alert_id for a in alerts if a.alert.state == events_pb2.ALERT_STATE_OPEN}
    closed = {a.alert.alert_id for a in alerts if a.alert.state == events_pb2.ALERT_STATE_RESOLVED}
    assert opened == closed
    assert len(closed) == sum(len(g) for g in expected.values())
    # A flap re-announces its incident (same alert id, a new event id): one more OPEN for the folded fault.
    flaps = sum(len(group) - 1 for groups in expected.values() for group in groups)
    assert sum(a.alert.state == events_pb2.ALERT_STATE_OPEN for a in alerts) == len(opened) + flaps
    assert len({a.event_id for a in alerts}) == len(alerts)  # no duplicate event ids
    assert all(a.alert.subject_kind == "port" and a.tenant_id in ("partner-a", "partner-b") for a in alerts)
    first_open = min(a.station_time.ToMilliseconds() for a in alerts)
    assert first_open == min(stamp_ms(f["started_at"]) for f in report["faults"])
