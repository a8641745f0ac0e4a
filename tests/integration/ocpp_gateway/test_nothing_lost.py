"""Nothing lost: a transaction started and stopped while authz and a stream consumer are restarted
appears exactly once in the transaction stream, and each consumer applies each fact once.

Real processes: the gateway and authz (`python -m ...`) on Redis, the MongoDB-wire store and the
development identity provider. authz is killed (SIGKILL) in the middle of the transaction and
started again; an independent consumer group is killed between its effect and its ack and
replaced by another consumer. authz's own consumer of the transaction stream (the concurrent
session limit) must see the end of the transaction after its restart.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
import websockets
from websockets.asyncio.client import ClientConnection

from chargewatch.auth import ClientCredentialsToken
from chargewatch.devstack.processes import ManagedProcess, free_ports, start_process
from chargewatch.rpc import client_channel
from chargewatch.streams import ConsumerGroupWorker, Event, StreamFamily, stream_name
from chargewatch.v1 import authz_pb2, authz_pb2_grpc, common_pb2, events_pb2
from tests.integration.ocpp_gateway.conftest import basic

pytestmark = pytest.mark.integration

TX = events_pb2.TransactionEvent
GROUP = "nothing-lost"
SERVICES_SECRET = "dev-chargewatch-services-secret"
# Applies an event's effect once: the id joins a set, and only a new id appends to the effects.
APPLY_ONCE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[1])
end
return 0
"""


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def ready(url: str, process: ManagedProcess, within: float = 60.0) -> None:
    async with httpx.AsyncClient(timeout=2) as http, asyncio.timeout(within):
        while True:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.log_text()[-3000:]}")
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


async def exchange(socket: ClientConnection, frame: list[Any]) -> list[Any]:
    await socket.send(orjson.dumps(frame).decode())
    answer = orjson.loads(await asyncio.wait_for(socket.recv(), 10))
    assert isinstance(answer, list) and answer[1] == frame[1], answer
    return answer


async def connect(url: str, headers: dict[str, str], within: float = 15.0) -> ClientConnection:
    """Connect as a station does: a 503 (authz not reachable yet) is retried after a short pause."""
    async with asyncio.timeout(within):
        while True:
            try:
                return await websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=headers)  # type: ignore[list-item]
            except websockets.InvalidStatus as refused:
                if refused.response.status_code != 503:
                    raise
            await asyncio.sleep(0.2)


async def wait_for(check: Callable[[], Any], what: str, within: float = 20.0) -> None:
    """Poll `check` (state in another process: nothing to await) until it holds."""
    try:
        async with asyncio.timeout(within):
            while not await check():  # noqa: ASYNC110 - polling another process's state
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@dataclass
class Stack:
    redis_url: str
    mongo_url: str
    keycloak_url: str
    logs: Path
    ports: dict[str, int]
    database: str

    def authz_env(self) -> dict[str, str]:
        return {
            "CHARGEWATCH_MODE": "development",
            "REDIS_URL": self.redis_url,
            "MONGO_URL": self.mongo_url,
            "KEYCLOAK_URL": self.keycloak_url,
            "CW_AUTHZ_MONGO_DATABASE": self.database,
            "CW_AUTHZ_GRPC_HOST": "127.0.0.1",
            "CW_AUTHZ_GRPC_PORT": str(self.ports["authz_grpc"]),
            "CW_AUTHZ_OPS_HOST": "127.0.0.1",
            "CW_AUTHZ_OPS_PORT": str(self.ports["authz_ops"]),
            "CW_AUTHZ_GATEWAY_TARGET": f"127.0.0.1:{self.ports['gateway_grpc']}",
            "CW_AUTHZ_KEYCLOAK_CLIENT_SECRET": SERVICES_SECRET,
            "CW_AUTHZ_HEALTH_CHECK_INTERVAL_SECONDS": "0.2",
            "OTEL_TRACES_EXPORTER": "none",
        }

    def gateway_env(self) -> dict[str, str]:
        return {
            "CHARGEWATCH_MODE": "development",
            "REDIS_URL": self.redis_url,
            "CW_GATEWAY_OCPP_HOST": "127.0.0.1",
            "CW_GATEWAY_OCPP_PORT": str(self.ports["ocpp"]),
            "CW_GATEWAY_GRPC_HOST": "127.0.0.1",
            "CW_GATEWAY_GRPC_PORT": str(self.ports["gateway_grpc"]),
            "CW_GATEWAY_OPS_HOST": "127.0.0.1",
            "CW_GATEWAY_OPS_PORT": str(self.ports["gateway_ops"]),
            "CW_GATEWAY_AUTHZ_TARGET": f"127.0.0.1:{self.ports['authz_grpc']}",
            # Its calls to authz carry the service account's token (authz checks them); nothing here
            # calls the gateway's own gRPC server, so it checks no caller's.
            "KEYCLOAK_URL": self.keycloak_url,
            "CW_GATEWAY_CLIENT_SECRET": SERVICES_SECRET,
            "CW_GATEWAY_REQUIRE_CALLER_TOKEN": "false",
            "CW_GATEWAY_AUTHORIZE_DEADLINE_SECONDS": "1.0",
            "CW_GATEWAY_HEALTH_CHECK_INTERVAL_SECONDS": "0.2",
            "OTEL_TRACES_EXPORTER": "none",
        }

    async def start_authz(self) -> ManagedProcess:
        process = await asyncio.to_thread(
            start_process,
            "authz",
            [sys.executable, "-m", "chargewatch.authz"],
            env=self.authz_env(),
            log_dir=self.logs,
            port=self.ports["authz_ops"],
            timeout=60,
        )
        await ready(f"http://127.0.0.1:{self.ports['authz_ops']}/readyz", process)
        return process

    async def start_gateway(self) -> ManagedProcess:
        process = await asyncio.to_thread(
            start_process,
            "ocpp-gateway",
            [sys.executable, "-m", "chargewatch.ocpp_gateway"],
            env=self.gateway_env(),
            log_dir=self.logs,
            port=self.ports["gateway_ops"],
            timeout=60,
        )
        await ready(f"http://127.0.0.1:{self.ports['gateway_ops']}/readyz", process)
        return process


class ApplyOnce:
    """A consumer's handler whose effect (a Redis list of applied event ids) is idempotent by event id.

    `die_after_effect` makes it hang after its first effect, before the worker acknowledges: the
    consumer's process dies there.
    """

    def __init__(self, redis: aioredis.Redis, *, die_after_effect: bool = False) -> None:
        self.script = redis.register_script(APPLY_ONCE)
        self.die_after_effect = die_after_effect
        self.effect_done = asyncio.Event()
        self.delivered: list[str] = []

    async def __call__(self, events: Sequence[Event]) -> None:
        for event in events:
            self.delivered.append(event.envelope.event_id)
            await self.script(keys=[f"{GROUP}:seen", f"{GROUP}:effects"], args=[event.envelope.event_id])
        self.effect_done.set()
        if self.die_after_effect:
            await asyncio.Event().wait()


def consumer(redis: aioredis.Redis, name: str, handler: ApplyOnce) -> ConsumerGroupWorker:
    return ConsumerGroupWorker(
        redis,
        group=GROUP,
        consumer=name,
        families=[StreamFamily.TRANSACTION],
        handler=handler,
        block_ms=100,
        claim_idle_ms=300,
        claim_interval_s=0.1,
    )


@pytest.fixture
def stack(redis_url: str, mongo_url: str, keycloak_url: str, redis_client: aioredis.Redis, tmp_path: Path) -> Stack:
    names = ["authz_grpc", "authz_ops", "gateway_grpc", "gateway_ops", "ocpp"]
    return Stack(
        redis_url,
        mongo_url,
        keycloak_url,
        tmp_path,
        dict(zip(names, free_ports(len(names)), strict=True)),
        f"authz_lost_{uuid.uuid4().hex[:8]}",
    )


async def service_metadata(keycloak_url: str) -> tuple[tuple[str, str]]:
    """The platform's service account, as the gateway calls authz's hot paths."""
    async with httpx.AsyncClient(timeout=10) as http:
        token = await ClientCredentialsToken(
            f"{keycloak_url}/realms/chargewatch/protocol/openid-connect/token",
            "chargewatch-services",
            SERVICES_SECRET,
            http=http,
        ).get()
    return (("authorization", f"Bearer {token}"),)


async def operator_metadata(keycloak_url: str) -> tuple[tuple[str, str]]:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.post(
            f"{keycloak_url}/realms/chargewatch/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "chargewatch-cli",
                "username": "operator",
                "password": "operator",
            },
        )
        reply.raise_for_status()
    return (("authorization", f"Bearer {reply.json()['access_token']}"),)


async def test_a_transaction_through_authz_and_consumer_restarts_is_in_the_stream_once(
    stack: Stack, redis_client: aioredis.Redis
) -> None:
    authz = await stack.start_authz()
    gateway: ManagedProcess | None = None
    channel = client_channel(f"127.0.0.1:{stack.ports['authz_grpc']}")
    stub = authz_pb2_grpc.AuthzStub(channel)
    tasks: list[asyncio.Task[None]] = []
    try:
        operator = await operator_metadata(stack.keycloak_url)
        passwords = {}
        for station in ("CP-LOST-1", "CP-LOST-2"):
            registered = await stub.RegisterStation(
                authz_pb2.RegisterStationRequest(
                    station_id=station,
                    tenant_id="partner-a",
                    site_id="site-lost",
                    security_profile=common_pb2.SECURITY_PROFILE_1_BASIC,
                ),
                metadata=operator,
            )
            passwords[station] = registered.password
        card = uuid.uuid4().hex[:14].upper()
        await stub.CreateToken(
            authz_pb2.CreateTokenRequest(
                token=authz_pb2.DriverToken(id_token=card, id_token_type="ISO14443", tenant_id="partner-a")
            ),
            metadata=operator,
        )
        gateway = await stack.start_gateway()

        first = ApplyOnce(redis_client, die_after_effect=True)
        tasks.append(asyncio.create_task(consumer(redis_client, "pod-1", first).run()))

        url = f"ws://127.0.0.1:{stack.ports['ocpp']}/ocpp/CP-LOST-1"
        headers = basic("CP-LOST-1", passwords["CP-LOST-1"])
        socket = await connect(url, headers)
        boot = {"chargePointVendor": "ChargeWatch", "chargePointModel": "Test"}
        assert (await exchange(socket, [2, "boot-1", "BootNotification", boot]))[2]["status"] == "Accepted"
        start = {"connectorId": 1, "idTag": card, "meterStart": 1000, "timestamp": stamp()}
        started = await exchange(socket, [2, "start-1", "StartTransaction", start])
        assert started[2]["idTagInfo"]["status"] == "Accepted"
        transaction_id = started[2]["transactionId"]
        # The card is charging here: authz refuses it at a second station.
        elsewhere = await stub.Authorize(
            authz_pb2.AuthorizeRequest(station_id="CP-LOST-2", id_token=card),
            metadata=await service_metadata(stack.keycloak_url),
        )
        assert elsewhere.status == events_pb2.AUTHORIZATION_STATUS_CONCURRENT_TX

        # The consumer applies STARTED and dies before acknowledging it; authz crashes.
        await asyncio.wait_for(first.effect_done.wait(), 10)
        tasks[0].cancel()
        await asyncio.gather(tasks[0], return_exceptions=True)
        authz.kill()

        # The transaction goes on and ends while both are down (neither needs authz).
        meter = {
            "connectorId": 1,
            "transactionId": transaction_id,
            "meterValue": [{"timestamp": stamp(), "sampledValue": [{"value": "6000"}]}],
        }
        assert (await exchange(socket, [2, "meter-1", "MeterValues", meter]))[0] == 3
        stop = {"transactionId": transaction_id, "meterStop": 11000, "timestamp": stamp(), "reason": "Local"}
        assert (await exchange(socket, [2, "stop-1", "StopTransaction", stop]))[0] == 3
        await socket.close()

        authz = await stack.start_authz()
        second = ApplyOnce(redis_client)
        tasks.append(asyncio.create_task(consumer(redis_client, "pod-2", second).run()))

        # The station lost both answers: it reconnects and sends the same CALLs again.
        socket = await connect(url, headers)
        try:
            assert (await exchange(socket, [2, "start-1", "StartTransaction", start]))[2] == started[2]
            assert (await exchange(socket, [2, "stop-1", "StopTransaction", stop]))[0] == 3
        finally:
            await socket.close()

        entries = await redis_client.xrange(stream_name(StreamFamily.TRANSACTION, 0))
        facts = [events_pb2.EventEnvelope.FromString(fields[b"data"]) for _, fields in entries]
        mine = [f for f in facts if f.station_id == "CP-LOST-1"]
        assert [(f.transaction.kind, f.transaction.transaction_id) for f in mine] == [
            (TX.KIND_STARTED, str(transaction_id)),
            (TX.KIND_ENDED, str(transaction_id)),
        ]
        assert mine[1].transaction.meter_wh == 11000

        async def applied_both() -> bool:
            return int(await redis_client.llen(f"{GROUP}:effects")) == 2

        await wait_for(applied_both, "the second consumer to take over and apply both facts")
        effects = [e.decode() for e in await redis_client.lrange(f"{GROUP}:effects", 0, -1)]
        assert effects == [mine[0].event_id, mine[1].event_id]
        # The STARTED the first consumer never acknowledged was delivered again, and changed nothing.
        assert mine[0].event_id in second.delivered

        async def nothing_pending() -> bool:
            return int((await redis_client.xpending(stream_name(StreamFamily.TRANSACTION, 0), GROUP))["pending"]) == 0

        await wait_for(nothing_pending, "every entry acknowledged")

        # authz's own consumer, restarted with authz, saw the end: the card may charge elsewhere.
        async def card_free() -> bool:
            answer = await stub.Authorize(
                authz_pb2.AuthorizeRequest(station_id="CP-LOST-2", id_token=card),
                metadata=await service_metadata(stack.keycloak_url),
            )
            return bool(answer.status == events_pb2.AUTHORIZATION_STATUS_ACCEPTED)

        await wait_for(card_free, "authz to end the session after its restart")
        assert "Traceback" not in gateway.log_text()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await channel.close(None)
        if gateway is not None:
            gateway.stop()
        authz.stop()
