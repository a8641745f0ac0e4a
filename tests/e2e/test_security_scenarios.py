"""The security monitor against the live platform: the simulator's attack scenarios raise the expected
alert (rule, subject, severity) within 10 s; the same length of normal traffic raises none; a response
policy blocks a cloned token in authz, and undoing it restores access.

One platform for the module, without the default simulated fleet: each scenario runs its own
`chargewatch-sim` on its own stations (stations a scenario leaves are never reused, so stopping one
simulator cannot look like a storm to the next). Driver tokens are created in authz per region, since
the simulator draws cards at random from its pool: a pool shared between Amsterdam and Berlin would be
real impossible travel.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from chargewatch.devstack.platform import Platform, PlatformConfig, Ports
from chargewatch.v1 import (
    authz_pb2,
    authz_pb2_grpc,
    common_pb2,
    events_pb2,
    security_pb2,
    security_pb2_grpc,
)
from tests.conftest import stop_platform

pytestmark = pytest.mark.e2e
S = security_pb2
OPERATOR = common_pb2.Principal(subject="e2e-operator", roles=["operator"])
ANALYST = common_pb2.Principal(subject="e2e-analyst", roles=["security-analyst"])
HIGH = common_pb2.SEVERITY_HIGH
MEDIUM = common_pb2.SEVERITY_MEDIUM
DETECTION_SECONDS = 10.0
NORMAL_SECONDS = 20.0

# fleet_plan(16): CW-A-* are partner-a (Amsterdam, Utrecht, A2), CW-B-* partner-b (Berlin, Hamburg).
NORMAL_AMSTERDAM = ["CW-A-0001", "CW-A-0004"]
NORMAL_BERLIN = ["CW-B-0001", "CW-B-0003"]
BRUTE_FORCE = ["CW-A-0002"]
CLONE = ["CW-A-0007", "CW-B-0005"]  # Amsterdam and Berlin
TAMPER = ["CW-A-0005"]
FLOOD = ["CW-B-0002"]
STORM = ["CW-A-0003", "CW-A-0006", "CW-A-0008", "CW-B-0004", "CW-B-0006", "CW-B-0007"]
CLONE_TOKEN = "04C10E5EC0FFEE"
TAMPER_TOKEN = "04AB5EA7000001"


@dataclass
class Live:
    platform: Platform
    run_dir: Path

    @property
    def security_target(self) -> str:
        return f"127.0.0.1:{self.platform.config.ports.security_grpc}"

    @property
    def authz_target(self) -> str:
        return f"127.0.0.1:{self.platform.config.ports.authz_grpc}"


def call(target: str, stub_class: Callable[[grpc.aio.Channel], Any], method: str, request: Any, **kw: Any) -> Any:
    async def run() -> Any:
        async with grpc.aio.insecure_channel(target) as channel:
            return await getattr(stub_class(channel), method)(request, timeout=10, **kw)

    return asyncio.run(run())


def security(live: Live, method: str, request: Any) -> Any:
    # As the service account: the request's principal is honoured (every gRPC server authenticates its caller).
    return call(
        live.security_target, security_pb2_grpc.SecurityStub, method, request, metadata=live.platform.grpc_metadata()
    )


def authz(live: Live, method: str, request: Any, **kw: Any) -> Any:
    return call(live.authz_target, authz_pb2_grpc.AuthzStub, method, request, **kw)


def region_tokens(region: str, count: int = 6) -> list[str]:
    return [f"04{region}{index:010X}" for index in range(count)]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    run_dir = tmp_path_factory.mktemp("security-platform")
    platform = Platform(
        PlatformConfig(
            run_dir=run_dir,
            ports=Ports.free(),
            stations=16,
            simulate=False,
            # Six stations make this platform's storm; production keeps the default of ten.
            extra_env={"CW_SECURITY_RULE_PARAMETERS": json.dumps({"storm_min_stations": 3})},
        )
    )
    platform.start()
    try:
        live = Live(platform, run_dir)
        metadata = (("authorization", f"Bearer {platform.token('operator')}"),)
        for tenant, tokens in (
            ("partner-a", [*region_tokens("A1"), CLONE_TOKEN, TAMPER_TOKEN]),
            ("partner-b", region_tokens("B1")),
        ):
            for token in tokens:
                authz(
                    live,
                    "CreateToken",
                    authz_pb2.CreateTokenRequest(
                        token=authz_pb2.DriverToken(id_token=token, id_token_type="ISO14443", tenant_id=tenant)
                    ),
                    metadata=metadata,
                )
        yield live
    finally:
        stop_platform(platform)


class Simulator:
    """One `chargewatch-sim` run on some stations of the platform's fleet, stopped by its pid."""

    def __init__(self, live: Live, name: str, stations: list[str], scenario: str, *args: str, tokens: list[str] = ()):  # type: ignore[assignment]
        fleet = json.loads(live.platform.fleet_file.read_text())
        chosen = [s for s in fleet["stations"] if s["station_id"] in stations]
        assert len(chosen) == len(stations)
        fleet_file = live.run_dir / f"fleet-{name}.json"
        fleet_file.write_text(json.dumps({"stations": chosen}))
        argv = [
            sys.executable, "-m", "chargewatch.simulator", "--url", live.platform.ocpp_url, "--fleet", str(fleet_file),
            "--scenario", scenario, "--seed", "11", *args,
        ]  # fmt: skip
        if tokens:
            token_file = live.run_dir / f"tokens-{name}.txt"
            token_file.write_text("\n".join(tokens) + "\n")
            argv += ["--tokens", str(token_file)]
        self.log = live.run_dir / f"sim-{name}.log"
        self.started = time.time()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def all_alerts(live: Live) -> list[Any]:
    reply = security(
        live, "ListAlerts", S.ListAlertsRequest(principal=OPERATOR, page=common_pb2.PageRequest(page_size=500))
    )
    return list(reply.alerts)


def wait_for_alert(live: Live, rule: str, subject: str, since: float, timeout: float = DETECTION_SECONDS) -> Any:
    """The alert of `rule` about `subject`, raised within `timeout` s after `since` (wall clock)."""
    deadline = since + timeout
    while True:
        for alert in all_alerts(live):
            if alert.rule == rule and alert.subject_id == subject:
                raised = alert.raised_at.ToNanoseconds() / 1e9
                assert raised - since <= timeout, f"{rule} on {subject} after {raised - since:.1f} s"
                return alert
        if time.time() > deadline:
            seen = [(a.rule, a.subject_id) for a in all_alerts(live)]
            raise AssertionError(f"no {rule} alert on {subject} within {timeout} s; alerts: {seen}")
        time.sleep(0.2)


def test_normal_traffic_raises_no_alert(live: Live) -> None:
    session = ["--session-every", "3", "--session-duration", "8", "--meter-interval", "1", "--status-change-every", "5"]
    with (
        Simulator(live, "normal-ams", NORMAL_AMSTERDAM, "normal", *session, tokens=region_tokens("A1")) as ams,
        Simulator(live, "normal-ber", NORMAL_BERLIN, "normal", *session, tokens=region_tokens("B1")),
    ):
        time.sleep(NORMAL_SECONDS)
        assert ams.process.poll() is None, ams.log.read_text()[-2000:]
    time.sleep(2.0)  # what the last seconds published is processed
    raised = [
        security(live, "GetAlertDetail", S.GetAlertRequest(principal=OPERATOR, alert_id=a.alert_id))
        for a in all_alerts(live)
    ]
    assert raised == [], "\n".join(
        f"{d.alert.rule} {d.alert.explanation} {[e.summary for e in d.evidence]} {dict(d.attributes)}" for d in raised
    )
    # The traffic was real: the monitor learned the four stations and their sessions.
    for station in NORMAL_AMSTERDAM + NORMAL_BERLIN:
        profile = security(
            live, "GetStationProfile", S.GetStationProfileRequest(principal=OPERATOR, station_id=station)
        )
        assert profile.known_addresses == ["127.0.0.1"]


def test_brute_force(live: Live) -> None:
    with Simulator(live, "brute", BRUTE_FORCE, "brute-force", "--share", "1", "--attempts", "20") as sim:
        alert = wait_for_alert(live, "station-brute-force", "CW-A-0002", sim.started)
    assert alert.severity == HIGH and alert.subject_kind == "station"
    partner = common_pb2.Principal(subject="pa", roles=["partner"], tenant_id="partner-a")
    other = common_pb2.Principal(subject="pb", roles=["partner"], tenant_id="partner-b")
    assert security(live, "GetAlert", S.GetAlertRequest(principal=partner, alert_id=alert.alert_id)).alert_id
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        security(live, "GetAlert", S.GetAlertRequest(principal=other, alert_id=alert.alert_id))
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


def test_token_clone_is_blocked_by_policy_and_undo_restores_access(live: Live) -> None:
    security(
        live,
        "PutResponsePolicy",
        S.PutResponsePolicyRequest(
            principal=ANALYST,
            policy=S.ResponsePolicy(
                name="block cloned cards",
                enabled=True,
                rules=["token-clone"],
                min_severity=HIGH,
                actions=[S.RESPONSE_ACTION_KIND_BLOCK_TOKEN],
            ),
        ),
    )
    # One replica here: the API and the leader share the policy store (other replicas reload within 5 s).
    args = ["--clone-token", CLONE_TOKEN, "--meter-interval", "1", "--session-duration", "30"]
    with Simulator(live, "clone", CLONE, "token-clone", *args) as sim:
        alert = wait_for_alert(live, "token-clone", CLONE_TOKEN, sim.started)
    assert alert.severity == HIGH and alert.subject_kind == "token"
    detail = security(live, "GetAlertDetail", S.GetAlertRequest(principal=OPERATOR, alert_id=alert.alert_id))
    assert set(detail.station_ids) == set(CLONE) and float(detail.attributes["distance_km"]) > 500

    def applied() -> Any:
        reply = security(
            live, "ListResponseActions", S.ListResponseActionsRequest(principal=OPERATOR, alert_id=alert.alert_id)
        )
        return next((a for a in reply.actions if a.state == S.RESPONSE_ACTION_STATE_APPLIED), None)

    deadline = time.time() + 10
    action = applied()
    while action is None and time.time() < deadline:
        time.sleep(0.2)
        action = applied()
    assert action is not None and action.kind == S.RESPONSE_ACTION_KIND_BLOCK_TOKEN

    def authorize() -> int:
        request = authz_pb2.AuthorizeRequest(station_id="CW-A-0007", id_token=CLONE_TOKEN, id_token_type="ISO14443")
        # Authorize admits only the service account (the gateway's caller identity).
        return int(authz(live, "Authorize", request, metadata=live.platform.grpc_metadata()).status)

    assert authorize() == events_pb2.AUTHORIZATION_STATUS_BLOCKED
    security(
        live,
        "UndoResponseAction",
        S.UndoResponseActionRequest(principal=ANALYST, action_id=action.action_id, reason="e2e"),
    )
    assert authorize() == events_pb2.AUTHORIZATION_STATUS_ACCEPTED


def test_tamper(live: Live) -> None:
    args = ["--share", "1", "--meter-interval", "1", "--session-duration", "60"]
    with Simulator(live, "tamper", TAMPER, "tamper", *args, tokens=[TAMPER_TOKEN]) as sim:
        tamper = wait_for_alert(live, "station-tamper", "CW-A-0005", sim.started)
        meter = wait_for_alert(live, "meter-register-backwards", "CW-A-0005", sim.started)
    assert tamper.severity == HIGH and meter.severity == HIGH
    incident = security(
        live, "ListSecurityIncidents", S.ListSecurityIncidentsRequest(principal=OPERATOR, subject_id="CW-A-0005")
    ).incidents
    assert len(incident) == 1 and set(incident[0].alert_ids) == {tamper.alert_id, meter.alert_id}


def test_flood(live: Live) -> None:
    with Simulator(live, "flood", FLOOD, "flood", "--flood-stations", "1", "--flood-rate", "200") as sim:
        alert = wait_for_alert(live, "message-rate-exceeded", "CW-B-0002", sim.started)
    assert alert.severity == MEDIUM


def test_storm(live: Live) -> None:
    storm_at = 5.0
    with Simulator(live, "storm", STORM, "storm", "--storm-at", str(storm_at)) as sim:
        for tenant in ("partner-a", "partner-b"):
            alert = wait_for_alert(live, "connection-storm", tenant, sim.started + storm_at)
            assert alert.severity == MEDIUM and alert.subject_kind == "tenant"
