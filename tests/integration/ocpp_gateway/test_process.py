"""`python -m chargewatch.ocpp_gateway` as a process: readiness, a station, the simulator CLI, and the drain."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import grpc
import httpx
import orjson
import pytest
import redis.asyncio as aioredis
import websockets
from grpc_health.v1 import health_pb2, health_pb2_grpc

from chargewatch.devstack.processes import free_port, start_process
from chargewatch.streams import StreamFamily, stream_name
from tests.integration.ocpp_gateway.conftest import FakeAuthz, Station, basic

pytestmark = pytest.mark.integration


async def eventually_ready(url: str, within: float = 20.0) -> None:
    async with httpx.AsyncClient(timeout=2) as http, asyncio.timeout(within):
        while True:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


async def test_the_gateway_process_serves_and_drains(
    authz: tuple[FakeAuthz, int], redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    servicer, authz_port = authz
    servicer.stations["CP-PROC-1"] = Station("process-password-123")
    for n in range(1, 4):
        servicer.stations[f"SIMP-{n:04d}"] = Station("simulated-password-123")
    ocpp_port, grpc_port, ops_port = free_port(), free_port(), free_port()
    env = {
        "CHARGEWATCH_MODE": "development",
        "REDIS_URL": redis_url,
        "CW_GATEWAY_OCPP_HOST": "127.0.0.1",
        "CW_GATEWAY_OCPP_PORT": str(ocpp_port),
        "CW_GATEWAY_GRPC_HOST": "127.0.0.1",
        "CW_GATEWAY_GRPC_PORT": str(grpc_port),
        "CW_GATEWAY_OPS_HOST": "127.0.0.1",
        "CW_GATEWAY_OPS_PORT": str(ops_port),
        "CW_GATEWAY_AUTHZ_TARGET": f"127.0.0.1:{authz_port}",
        "CW_GATEWAY_REQUIRE_CALLER_TOKEN": "false",  # no identity provider here
        "CW_GATEWAY_HEALTH_CHECK_INTERVAL_SECONDS": "0.2",
        "OTEL_TRACES_EXPORTER": "none",
    }
    process = await asyncio.to_thread(
        start_process,
        "ocpp-gateway",
        [sys.executable, "-m", "chargewatch.ocpp_gateway"],
        env=env,
        log_dir=tmp_path,
        port=ops_port,
    )
    try:
        await eventually_ready(f"http://127.0.0.1:{ops_port}/readyz")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="chargewatch.v1.GatewayCommands"), timeout=5
            )
        assert health.status == health_pb2.HealthCheckResponse.SERVING

        url = f"ws://127.0.0.1:{ocpp_port}/ocpp"
        socket = await websockets.connect(
            f"{url}/CP-PROC-1",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic("CP-PROC-1", "process-password-123"),
        )
        boot = [2, "b-1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]
        await socket.send(orjson.dumps(boot).decode())
        answer = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
        assert answer[:2] == [3, "b-1"] and answer[2]["status"] == "Accepted" and answer[2]["interval"] == 300
        assert await redis_client.xlen(stream_name(StreamFamily.BOOT, 0)) == 1

        simulator = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chargewatch.simulator",
            "--url",
            url,
            "--stations",
            "3",
            "--password",
            "simulated-password-123",
            "--prefix",
            "SIMP",
            "--ocpp-version",
            "mixed",
            "--duration",
            "2",
            "--status-change-every",
            "0.5",
            "--seed",
            "1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(simulator.communicate(), 30)
        text = output.decode()
        assert simulator.returncode == 0, text
        assert "stations connected: 3/3" in text and "errors: 0" in text, text
        assert "p99" in text

        # SIGTERM: the station's socket is closed with 1001 (going away) and the process exits cleanly.
        process.signal(signal.SIGTERM)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert await asyncio.to_thread(process.popen.wait, 15) == 0
        log = process.log_text()
        assert "process-password-123" not in log
        assert "simulated-password-123" not in log
    finally:
        await asyncio.to_thread(process.stop)
