"""The thin slice through the platform: a station's messages reach the partner API, traced."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from typing import Any

import grpc
import httpx
import orjson
import pytest
import websockets
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ocpp.v16 import ChargePoint, call
from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus
from websockets.typing import Subprotocol

from chargewatch.devstack.platform import SERVICES
from chargewatch.devstack.trace_sink import SpanRecord, ancestors
from chargewatch.simulator.tokens import load_token_pool
from tests.e2e.conftest import LivePlatform

pytestmark = pytest.mark.e2e
OCPP16 = Subprotocol("ocpp1.6")


def api(live: LivePlatform, user: str) -> httpx.Client:
    token = live.platform.token(user)
    return httpx.Client(base_url=live.platform.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def basic(station_id: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{station_id}:{password}".encode()).decode()}


def register(live: LivePlatform, station_id: str, tenant: str = "partner-a") -> str:
    with api(live, "operator") as client:
        reply = client.post(
            "/v1/stations",
            json={"id": station_id, "tenant_id": tenant, "site_id": "e2e-site", "security_profile": 1},
        )
    assert reply.status_code == 201, reply.text
    assert reply.headers["location"] == f"/v1/stations/{station_id}"
    password = reply.json()["password"]
    assert 16 <= len(password) <= 40
    return str(password)


def test_every_service_is_serving(live: LivePlatform) -> None:
    ports = live.platform.config.ports
    for service in SERVICES:
        ready = httpx.get(f"http://127.0.0.1:{ports.ops(service)}/readyz", timeout=5)
        assert ready.status_code == 200, (service, ready.text)
        grpc_port = ports.grpc(service)
        if grpc_port is None:
            continue

        async def check(port: int = grpc_port) -> int:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
                return int(reply.status)

        assert asyncio.run(check()) == health_pb2.HealthCheckResponse.SERVING, service


def test_simulated_fleet_is_listed_with_connector_status(live: LivePlatform) -> None:
    with api(live, "operator") as client:

        def listed() -> list[dict[str, Any]] | None:
            stations = client.get("/v1/stations", params={"limit": 100}).json()["items"]
            fleet = [s for s in stations if s["id"].startswith("CW-")]
            ready = len(fleet) == 6 and all(s["online"] and s["connectors"] for s in fleet)
            return fleet if ready else None

        fleet = wait_for(listed, timeout=30)
    assert {s["tenant_id"] for s in fleet} == {"partner-a", "partner-b"}
    assert all(c["status"] != "Unknown" for s in fleet for c in s["connectors"])


async def _drive_station(url: str, station_id: str, password: str) -> dict[str, Any]:
    async with websockets.connect(
        f"{url}/{station_id}",
        subprotocols=[OCPP16],
        additional_headers=basic(station_id, password),
    ) as socket:
        station = ChargePoint(station_id, socket)
        runner = asyncio.create_task(station.start())
        boot = await station.call(
            call.BootNotification(charge_point_model="E2E-50", charge_point_vendor="ChargeWatchTest")
        )
        await station.call(
            call.StatusNotification(
                connector_id=1, error_code=ChargePointErrorCode.no_error, status=ChargePointStatus.available
            )
        )
        await station.call(
            call.StatusNotification(
                connector_id=1, error_code=ChargePointErrorCode.no_error, status=ChargePointStatus.charging
            )
        )
        heartbeat = await station.call(call.Heartbeat())
        runner.cancel()
        return {"boot": boot, "heartbeat": heartbeat}


def test_station_messages_reach_the_api_in_one_trace(live: LivePlatform) -> None:
    station_id = "E2E-TRACE-1"
    password = register(live, station_id)
    answers = asyncio.run(_drive_station(live.platform.ocpp_url, station_id, password))
    assert answers["boot"].status == "Accepted"
    assert answers["boot"].interval > 0
    assert answers["heartbeat"].current_time

    with api(live, "operator") as client:

        def charging() -> dict[str, Any] | None:
            station = client.get(f"/v1/stations/{station_id}").json()
            connectors = {c["evse_id"]: c["status"] for c in station.get("connectors", [])}
            return station if connectors.get(1) == "Charging" and station["vendor"] == "ChargeWatchTest" else None

        station = wait_for(charging)
    assert station["tenant_id"] == "partner-a"
    assert station["last_heartbeat"] is not None

    def traced() -> tuple[SpanRecord, SpanRecord] | None:
        spans = live.traces.snapshot()
        handled = [
            s
            for s in spans
            if s.service == "ocpp-gateway"
            and s.name == "ocpp StatusNotification"
            and s.attributes.get("chargewatch.station.id") == station_id
        ]
        for gateway_span in handled:
            for span in spans:
                consumer = span.service == "telemetry" and span.name.endswith("process")
                if consumer and span.trace_id == gateway_span.trace_id and gateway_span in ancestors(span, spans):
                    return gateway_span, span
        return None

    gateway_span, consumer_span = wait_for(traced, timeout=20)
    assert consumer_span.kind == 5  # SPAN_KIND_CONSUMER
    chain = ancestors(consumer_span, live.traces.snapshot())
    assert gateway_span in chain


def test_partners_see_only_their_own_tenant(live: LivePlatform) -> None:
    with api(live, "partner-a") as client:
        page = client.get("/v1/stations", params={"limit": 100}).json()
        assert page["items"] and {s["tenant_id"] for s in page["items"]} == {"partner-a"}
        assert page["total"] == len(page["items"])
        other = next(s.station_id for s in live.platform.fleet if s.tenant_id == "partner-b")
        hidden = client.get(f"/v1/stations/{other}")
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == "application/problem+json"
        assert client.get("/v1/stations", params={"tenant_id": "partner-b"}).status_code == 403
    with api(live, "partner-b") as client:
        items = client.get("/v1/stations", params={"limit": 100}).json()["items"]
        assert items and {s["tenant_id"] for s in items} == {"partner-b"}


def test_the_simulated_drivers_cards_are_registered_for_their_tenants(live: LivePlatform) -> None:
    cards, dealt = load_token_pool(live.platform.tokens_file)
    assert set(dealt) == set(cards) and set(dealt.values()) == {"partner-a", "partner-b"}
    for tenant in ("partner-a", "partner-b"):
        with api(live, tenant) as client:
            page = client.get("/v1/tokens", params={"limit": 500}).json()
        registered = {t["id_token"]: t for t in page["items"]}
        own = {uid for uid, owner in dealt.items() if owner == tenant}
        assert own <= registered.keys() and not (set(dealt) - own) & registered.keys()
        assert {registered[uid]["status"] for uid in own} == {"active"}


def test_api_refuses_missing_bad_and_unprivileged_tokens(live: LivePlatform) -> None:
    url = live.platform.api_url
    missing = httpx.get(f"{url}/v1/stations")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["status"] == 401
    tampered = httpx.get(f"{url}/v1/stations", headers={"Authorization": "Bearer abc.def.ghi"})
    assert tampered.status_code == 401
    with api(live, "partner-a") as client:
        refused = client.post(
            "/v1/stations", json={"id": "X-1", "tenant_id": "partner-a", "site_id": "s", "security_profile": 1}
        )
        assert refused.status_code == 403
        assert "operator" in refused.json()["detail"]
    with api(live, "operator") as client:
        invalid = client.post(
            "/v1/stations", json={"id": "bad id!", "tenant_id": "partner-a", "site_id": "s", "security_profile": 7}
        )
        assert invalid.status_code == 422
        assert {tuple(e["location"]) for e in invalid.json()["errors"]} >= {
            ("body", "id"),
            ("body", "security_profile"),
        }
        assert client.get("/v1/stations", params={"limit": 100000}).status_code == 422


def test_registering_twice_is_a_conflict(live: LivePlatform) -> None:
    register(live, "E2E-DUP-1")
    with api(live, "operator") as client:
        again = client.post(
            "/v1/stations", json={"id": "E2E-DUP-1", "tenant_id": "partner-a", "site_id": "s", "security_profile": 1}
        )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


async def _not_json_then_heartbeat(url: str, station_id: str, password: str) -> tuple[list[Any], list[Any]]:
    async with websockets.connect(
        f"{url}/{station_id}",
        subprotocols=[OCPP16],
        additional_headers=basic(station_id, password),
    ) as socket:
        await socket.send("this is not json")
        error = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
        await socket.send(orjson.dumps([2, "hb-1", "Heartbeat", {}]).decode())
        result = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
        return error, result


def test_a_frame_that_is_not_json_gets_a_callerror_and_the_socket_stays_up(live: LivePlatform) -> None:
    station_id = "E2E-BAD-1"
    password = register(live, station_id)
    error, result = asyncio.run(_not_json_then_heartbeat(live.platform.ocpp_url, station_id, password))
    assert error[0] == 4
    assert error[2] in {"FormationViolation", "FormatViolation", "ProtocolError", "RpcFrameworkError"}
    assert result[0] == 3 and result[1] == "hb-1" and "currentTime" in result[2]
    # Everyone else kept being served: the fleet is still online.
    with api(live, "operator") as client:
        fleet = [
            s for s in client.get("/v1/stations", params={"limit": 100}).json()["items"] if s["id"].startswith("CW-")
        ]
    assert fleet and all(s["online"] for s in fleet)


async def _connect(url: str, headers: dict[str, str]) -> None:
    async with websockets.connect(url, subprotocols=[OCPP16], additional_headers=headers, open_timeout=5):
        pass


@pytest.mark.parametrize(
    ("path", "credentials", "expected"),
    [
        ("/ocpp/NOBODY-1", ("NOBODY-1", "x" * 20), {401, 403, 404}),
        ("/ocpp/E2E-TRACE-1", ("E2E-TRACE-1", "wrong-password-123"), {401}),
        ("/not-ocpp/E2E-TRACE-1", ("E2E-TRACE-1", "x" * 20), {404}),
    ],
)
def test_unknown_stations_and_paths_are_refused_at_the_handshake(
    live: LivePlatform, path: str, credentials: tuple[str, str], expected: set[int]
) -> None:
    url = f"ws://127.0.0.1:{live.platform.config.ports.ocpp}{path}"
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(_connect(url, basic(*credentials)))
    assert refused.value.response.status_code in expected


def test_the_platform_runs_every_process_it_will_stop(live: LivePlatform) -> None:
    """The platform is shared with other modules, so the `live` fixture stops it after the last of them and
    then checks that none of these pids is left."""
    pids = live.platform.pids()
    assert len(pids) >= 9  # redis, mongo store, identity provider, six services (and the simulator)
    for pid in pids:
        os.kill(pid, 0)  # each one is running now: ProcessLookupError otherwise
